"""Read models of the notifications service: context and notice requests from other services' events."""

from nrmm_kernel.forgetting import erased_subjects_projection
from nrmm_kernel.projector import Projection


def foreign_projections() -> dict[str, list[Projection]]:
    from registry.contracts import PersonErased
    from registry.contracts import events as registry_events

    from .inspection import inspection_projections
    from .registry import MachineContext, RegistryNotices
    from .sites import SiteContext, SitesNotices

    # context first: when a request is made, the context it is resolved against already holds its event
    # PersonErased: notifications forgets its own key of the person (#14)
    erased = erased_subjects_projection(registry_events, PersonErased)
    found = {"registry": [MachineContext(), RegistryNotices(), erased], "sites": [SiteContext(), SitesNotices()]}
    if inspection := inspection_projections():
        found["inspection"] = inspection
    return found


def projections() -> list[Projection]:
    return []
