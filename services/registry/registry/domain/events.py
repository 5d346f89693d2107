"""Events of the registry service (documented in docs/events.md)."""

from nrmm_kernel.envelope import EventRegistry

registry = EventRegistry(namespace="cn.cq.nrmm.registry", source="/nrmm/registry")
