"""Events of the gateway: accounts (issue #22). Documented in docs/events.md.

Stream ``account-<account id>``. Each event's envelope names the acting administrator (``actorid``, ``actorrole``):
who made whom a reviewer, who bound a site admin to a site, who disabled an account. Personal values (a mobile, a
name, an owner's username, which is the mobile) are born sealed under the account's own key
(``nrmm_kernel.personal``): forgetting the key erases them from every copy. No password hash ever enters an event:
credentials stay in the gateway's ``credentials`` collection.

``token_version``: the account's token version after the event. Access tokens carry the version they were minted
at; every service refuses tokens older than the last revocation's (``nrmm_kernel.revocation``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from nrmm_kernel.envelope import DomainEvent, EventRegistry

registry = EventRegistry(namespace="cn.cq.nrmm.gateway", source="/nrmm/gateway")
STREAM = "account"


def account_stream(account_id: str) -> str:
    return f"{STREAM}-{account_id}"


@registry.register
class AccountRegistered(DomainEvent):
    """An account was made: an owner by SMS code, a site admin by site registration (rule E1), staff by an
    administrator, the first administrator at start-up; ``migrated``: written for an account made before accounts
    were events. ``username``, ``mobile`` and ``name`` of a person are sealed (``pd1:...``)."""

    username: str
    role: str
    department: str | None = None
    district: str | None = None  # None: city level
    mobile: str | None = None
    name: str | None = None
    created_by: str | None = None
    migrated: bool = False
    registered_at: datetime | None = None  # a migrated account's original creation time (else: the event's)


@registry.register
class RoleGranted(DomainEvent):
    """An administrator granted a role (or changed it, with its department and district); tokens minted before
    carry the old role and are refused from now on."""

    role: str
    department: str | None = None
    district: str | None = None
    previous_role: str
    previous_department: str | None = None
    previous_district: str | None = None
    token_version: int


@registry.register
class BoundToSite(DomainEvent):
    """The account was bound to a site: a site's administrator (rule E1) or a supervision engineer (rule E6)."""

    site_id: str
    district: str


@registry.register
class PasswordChanged(DomainEvent):
    """A new password (never its hash): every session opened before ends at its next refresh."""

    reason: Literal["changed", "reset", "site_registration"]


@registry.register
class AccountDisabled(DomainEvent):
    """Nobody signs in as the account any more; its tokens are refused everywhere within seconds."""

    reason: str
    token_version: int


@registry.register
class AccountEnabled(DomainEvent):
    """Signing in works again; tokens minted before the disabling stay refused."""

    reason: str | None = None


@registry.register
class SessionsRevoked(DomainEvent):
    """Every session and access token of the account ends; signing in again works."""

    reason: str
    token_version: int
