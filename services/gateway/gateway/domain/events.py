"""Events of the gateway: none yet. Accounts are credentials kept as documents (see app/identity.py)."""

from nrmm_kernel.envelope import EventRegistry

registry = EventRegistry(namespace="cn.cq.nrmm.gateway", source="/nrmm/gateway")
