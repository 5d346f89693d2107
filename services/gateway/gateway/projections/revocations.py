"""Revoked accounts, as every service keeps them from the gateway's events (``nrmm_kernel.revocation``).

One document per account that was ever disabled, revoked or given another role; idempotent by stream version like
every projection. Each service runs it on the gateway's topic (``foreign={"gateway": revocation_projections()}``),
the gateway on its own."""

from __future__ import annotations

from typing import Any

from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projection import Projection, on
from nrmm_kernel.revocation import COLLECTION, revoked_document

from ..domain.events import AccountDisabled, AccountEnabled, RoleGranted, SessionsRevoked, registry


class AccountRevocations(Projection):
    name = COLLECTION
    contract = registry

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.streamid.split("-", 1)[1]  # the account id

    @on(AccountDisabled)
    def disabled(self, doc: dict[str, Any] | None, event: AccountDisabled, envelope: EventEnvelope) -> dict[str, Any]:
        return revoked_document(doc, disabled=True, valid_from=event.token_version)

    @on(AccountEnabled)
    def enabled(self, doc: dict[str, Any] | None, event: AccountEnabled, envelope: EventEnvelope) -> dict[str, Any]:
        return revoked_document(doc, disabled=False, valid_from=None)

    @on(SessionsRevoked)
    def revoked(self, doc: dict[str, Any] | None, event: SessionsRevoked, envelope: EventEnvelope) -> dict[str, Any]:
        return revoked_document(doc, disabled=None, valid_from=event.token_version)

    @on(RoleGranted)
    def role(self, doc: dict[str, Any] | None, event: RoleGranted, envelope: EventEnvelope) -> dict[str, Any]:
        return revoked_document(doc, disabled=None, valid_from=event.token_version)


def revocation_projections() -> list[Projection]:
    return [AccountRevocations()]
