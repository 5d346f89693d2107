"""From the inspection service's topic: each violation's state (context for the reminders) and the notices its events
call for."""

from __future__ import annotations

from nrmm_kernel.projector import Projection

from .violations import ViolationContext, ViolationNotices


def inspection_projections() -> list[Projection]:
    return [ViolationContext(), ViolationNotices()]
