"""Read models of the inspection service: its own (checks, violations) and its copies of the registry's machines
and the sites' sites and stays, fed from their topics."""

from nrmm_kernel.projector import Projection

from .duties import SiteDutiesView
from .foreign import RegistryMachines, Sites, Stays
from .own import Checks, Violations
from .views_facts import ChangesFromSites, ChangesOwn, ViewRefusals, ViewSites, ViewStays


def projections() -> list[Projection]:
    # the views' change marks last: a mark is written once the documents it names hold its event
    return [Checks(), Violations(), SiteDutiesView(), ChangesOwn()]


def registry_projections() -> list[Projection]:
    return [RegistryMachines()]


def sites_projections() -> list[Projection]:
    return [Sites(), Stays(), ViewSites(), ViewStays(), ViewRefusals(), ChangesFromSites()]
