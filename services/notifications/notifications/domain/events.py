"""Events of the notifications service (documented in docs/events.md)."""

from nrmm_kernel.envelope import EventRegistry

registry = EventRegistry(namespace="cn.cq.nrmm.notifications", source="/nrmm/notifications")
