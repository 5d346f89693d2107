"""Read models of the notifications service."""

from nrmm_kernel.projector import Projection


def projections() -> list[Projection]:
    return []
