"""Read models of the registry service."""

from nrmm_kernel.projector import Projection

from .machines import ExternalMachines, MachineRecords


def projections() -> list[Projection]:
    return [MachineRecords(), ExternalMachines()]
