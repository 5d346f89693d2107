"""Read models of the notifications service: context and notice requests from other services' events."""

from nrmm_kernel.projector import Projection


def foreign_projections() -> dict[str, list[Projection]]:
    from .inspection import inspection_projections
    from .registry import MachineContext, RegistryNotices
    from .sites import SiteContext, SitesNotices

    # context first: when a request is made, the context it is resolved against already holds its event
    found = {"registry": [MachineContext(), RegistryNotices()], "sites": [SiteContext(), SitesNotices()]}
    if inspection := inspection_projections():
        found["inspection"] = inspection
    return found


def projections() -> list[Projection]:
    return []
