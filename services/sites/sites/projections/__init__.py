"""Read models of the sites service: its own (sites, zones, stays, refusals, anomalies) and its copy of the
registry's codes, fed from the registry's topic (the gate never calls the registry)."""

from nrmm_kernel.projector import Projection

from .codes import ExternalCodes, RegistryCodes
from .sites import Anomalies, GateRefusals, Sites, Stays, Zones


def projections() -> list[Projection]:
    return [Sites(), Zones(), Stays(), GateRefusals(), Anomalies()]


def registry_projections() -> list[Projection]:
    return [RegistryCodes(), ExternalCodes()]
