"""The accounts read model (``account_views``): one document per account, folded from its events. Sign-in,
refresh and GET /api/auth/me read it by ``_id`` (the account id, found by a login key: app/account_store.py).

Personal values stay as the events carry them, sealed; the application opens them when it shows them."""

from __future__ import annotations

from typing import Any

from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projection import Projection, on

from ..domain.events import (
    AccountDisabled,
    AccountEnabled,
    AccountRegistered,
    BoundToSite,
    PasswordChanged,
    RoleGranted,
    SessionsRevoked,
    registry,
)

VIEWS = "account_views"


def account_id_of(envelope: EventEnvelope) -> str:
    return envelope.streamid.split("-", 1)[1]


class AccountViews(Projection):
    name = VIEWS
    contract = registry

    def doc_id(self, envelope: EventEnvelope) -> str:
        return account_id_of(envelope)

    @on(AccountRegistered)
    def registered(self, doc: dict[str, Any] | None, event: AccountRegistered,
                   envelope: EventEnvelope) -> dict[str, Any]:
        return {"username": event.username, "role": event.role, "department": event.department,
                "district": event.district, "site_id": None, "mobile": event.mobile, "name": event.name,
                "created_at": event.registered_at or envelope.time, "created_by": event.created_by,
                "disabled": False, "token_version": 0}

    @on(RoleGranted)
    def role(self, doc: dict[str, Any] | None, event: RoleGranted, envelope: EventEnvelope) -> dict[str, Any]:
        return {**(doc or {}), "role": event.role, "department": event.department, "district": event.district,
                "token_version": event.token_version}

    @on(BoundToSite)
    def bound(self, doc: dict[str, Any] | None, event: BoundToSite, envelope: EventEnvelope) -> dict[str, Any]:
        return {**(doc or {}), "site_id": event.site_id, "district": event.district}

    @on(PasswordChanged)
    def password(self, doc: dict[str, Any] | None, event: PasswordChanged, envelope: EventEnvelope) -> dict[str, Any]:
        return {**(doc or {}), "password_changed_at": envelope.time}

    @on(AccountDisabled)
    def disabled(self, doc: dict[str, Any] | None, event: AccountDisabled, envelope: EventEnvelope) -> dict[str, Any]:
        return {**(doc or {}), "disabled": True, "token_version": event.token_version}

    @on(AccountEnabled)
    def enabled(self, doc: dict[str, Any] | None, event: AccountEnabled, envelope: EventEnvelope) -> dict[str, Any]:
        return {**(doc or {}), "disabled": False}

    @on(SessionsRevoked)
    def revoked(self, doc: dict[str, Any] | None, event: SessionsRevoked, envelope: EventEnvelope) -> dict[str, Any]:
        return {**(doc or {}), "token_version": event.token_version}
