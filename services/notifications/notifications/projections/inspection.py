"""From the inspection service's topic, once it publishes violations: each violation's state (context for the
reminders) and the notices its events call for. Nothing while the inspection contract has no violation events."""

from __future__ import annotations

from nrmm_kernel.projector import Projection


def inspection_projections() -> list[Projection]:
    try:
        from inspection.domain import events
    except ImportError:
        return []
    if not hasattr(events, "ViolationOpened"):
        return []
    from .violations import ViolationContext, ViolationNotices

    return [ViolationContext(), ViolationNotices()]
