"""Who governs a site (rule D3), pure: the category's department confirms it, a change of category lapses the
confirmation, state ownership is declared and confirmed; the aggregate's rule and the read models' agree."""

import pytest
from pydantic import ValidationError

from inspection.projections.views_facts import governed_by
from nrmm_kernel.errors import Conflict, ValidationFailed
from sites.domain.model import SiteDetails, SiteStatus, StateOwnership
from sites.domain.site import Site
from tests.unit.test_sites_domain import details


def registered(**overrides) -> Site:
    site = Site("S-GOV")
    site.register(details=SiteDetails(**details(**overrides)), status=SiteStatus.IN_CONSTRUCTION,
                  admin_account_id="a1")
    return site


def test_the_categorys_department_confirms_and_a_new_category_lapses_it():
    site = registered(category="building", department="water")  # a registrant's own pick does not decide
    assert site.competent_department == "housing"
    site.confirm_department(accepted=True, reason=None)
    assert site.confirmed_department == "housing"
    with pytest.raises(Conflict, match="already"):
        site.confirm_department(accepted=True, reason=None)
    site.update(SiteDetails(**details(category="water_works")), by_site_admin=False)
    assert site.competent_department == "water" and site.confirmed_department is None
    with pytest.raises(ValidationFailed) as declined:
        site.confirm_department(accepted=False, reason=None)
    assert declined.value.field == "reason"
    site.confirm_department(accepted=False, reason="不属于水利工程")
    assert site.confirmed_department is None
    assert [type(e).__name__ for e in site.pending][-2:] == ["SiteUpdated", "SiteDepartmentDeclined"]


def test_state_ownership_is_declared_then_confirmed():
    site = registered()
    with pytest.raises(Conflict):
        site.confirm_state_ownership(accepted=True, reason=None)  # nothing declared
    site.declare_state_ownership(StateOwnership(construction_company_state_owned=False))
    with pytest.raises(Conflict, match="nothing"):
        site.confirm_state_ownership(accepted=True, reason=None)  # nothing state-owned
    site.declare_state_ownership(StateOwnership(construction_company_state_owned=True))
    site.confirm_state_ownership(accepted=True, reason=None)
    assert site.state_ownership_confirmed
    with pytest.raises(ValidationFailed):
        site.declare_state_ownership(StateOwnership(construction_company_state_owned=True))  # nothing changed
    with pytest.raises(ValidationError):
        StateOwnership(construction_company_state_owned=False, project_owner_state_owned=True)  # owner unnamed
    assert governed_by({"confirmed_department": "transport", "state_ownership_confirmed": True}) == [
        "all", "transport", "state_assets"]
