"""Read models of the registry service."""

from nrmm_kernel.forgetting import erased_subjects_projection
from nrmm_kernel.projector import Projection

from ..domain.events import PersonErased, registry
from .machines import ExternalMachines, MachineRecords


def projections() -> list[Projection]:
    return [MachineRecords(), ExternalMachines(), erased_subjects_projection(registry, PersonErased)]
