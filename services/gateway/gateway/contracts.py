"""What other services may rely on of the gateway: its published account events, and the projection that keeps a
service's list of revoked accounts (``nrmm_kernel.revocation``). Consumers import this module only."""

from .domain.events import (
    AccountDisabled,
    AccountEnabled,
    AccountRegistered,
    BoundToSite,
    PasswordChanged,
    RoleGranted,
    SessionsRevoked,
)
from .domain.events import registry as events
from .projections.revocations import AccountRevocations, revocation_projections

__all__ = ["AccountDisabled", "AccountEnabled", "AccountRegistered", "AccountRevocations", "BoundToSite",
           "PasswordChanged", "RoleGranted", "SessionsRevoked", "events", "revocation_projections"]
