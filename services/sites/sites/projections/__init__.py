"""Read models of the sites service."""

from nrmm_kernel.projector import Projection


def projections() -> list[Projection]:
    return []
