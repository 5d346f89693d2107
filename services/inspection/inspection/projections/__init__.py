"""Read models of the inspection service."""

from nrmm_kernel.projector import Projection


def projections() -> list[Projection]:
    return []
