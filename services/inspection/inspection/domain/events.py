"""Events of the inspection service (documented in docs/events.md)."""

from nrmm_kernel.envelope import EventRegistry

registry = EventRegistry(namespace="cn.cq.nrmm.inspection", source="/nrmm/inspection")
