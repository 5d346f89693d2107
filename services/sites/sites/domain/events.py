"""Events of the sites service (documented in docs/events.md)."""

from nrmm_kernel.envelope import EventRegistry

registry = EventRegistry(namespace="cn.cq.nrmm.sites", source="/nrmm/sites")
