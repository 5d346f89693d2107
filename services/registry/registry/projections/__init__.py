"""Read models of the registry service."""

from nrmm_kernel.projector import Projection


def projections() -> list[Projection]:
    return []
