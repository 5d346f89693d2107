"""Administrators manage accounts (issue #22): disable, enable, revoke sessions, grant or change a role.

Each command loads the account's stream (decide from the write side, never from its view), checks who may (rules
``may_manage``, ``may_grant``), records the event with the acting administrator in its envelope and appends it
with the expected version. A disabling or revocation also writes a new credential stamp first, so that refresh
tokens are refused at once; other services refuse the access tokens within seconds (``nrmm_kernel.revocation``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import NotFound
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Department, Role

from ..domain import rules
from ..domain.account_stream import AccountStream
from .account_store import AccountStore
from .accounts import change

log = get_logger("account_admin")


def standing(stream: AccountStream) -> dict[str, Any]:
    return {"account_id": stream.id, "role": stream.role, "department": stream.department,
            "district": stream.district, "site_id": stream.site_id, "disabled": stream.disabled,
            "token_version": stream.token_version, "version": stream.version}


class AccountAdmin:
    def __init__(self, store: AccountStore):
        self.store = store

    async def _managed(self, who: Principal, account_id: str) -> AccountStream:
        rules.may_manage_accounts(who)
        stream = await self.store.stream(account_id)
        if stream is None:
            raise NotFound("账户不存在 (no such account)", code="account_not_found", field="account_id")
        rules.may_manage(who, account_id, stream.district)
        return stream

    async def disable(self, who: Principal, account_id: str, reason: str) -> dict[str, Any]:
        # refresh tokens: refused from now on, even once enabled again
        return await self._standing(who, account_id, lambda s: s.disable(reason), "account.disabled", new_stamp=True)

    async def enable(self, who: Principal, account_id: str, reason: str | None) -> dict[str, Any]:
        return await self._standing(who, account_id, lambda s: s.enable(reason), "account.enabled", new_stamp=False)

    async def revoke_sessions(self, who: Principal, account_id: str, reason: str) -> dict[str, Any]:
        return await self._standing(who, account_id, lambda s: s.revoke_sessions(reason), "account.sessions_revoked",
                                    new_stamp=True)

    async def _standing(self, who: Principal, account_id: str, act: Callable[[AccountStream], None], logged: str, *,
                        new_stamp: bool) -> dict[str, Any]:
        """Disable, enable or revoke: checked before anything is written, and again on the stream as it is now."""
        await self._managed(who, account_id)
        if new_stamp:
            await self.store.new_stamp(account_id)

        def decide(stream: AccountStream) -> None:
            rules.may_manage(who, account_id, stream.district)
            act(stream)

        stream = await change(self.store, account_id, who.as_actor(), decide)
        log.info(logged, account_id=account_id, by=who.account_id)
        return standing(stream)

    async def grant_role(self, who: Principal, account_id: str, role: Role, department: Department | None,
                         district: str | None) -> dict[str, Any]:
        rules.may_manage_accounts(who)

        def decide(stream: AccountStream) -> None:
            current = Department(stream.department) if stream.department else None
            rules.may_grant(who, account_id, Role(stream.role), role, department, district)
            # the administrator must also be allowed to make the account as it stands (its department, district)
            rules.may_create_staff(who, Role(stream.role), current, stream.district)
            stream.grant_role(role.value, department.value if department else None, district)

        stream = await change(self.store, account_id, who.as_actor(), decide)
        log.info("account.role_granted", account_id=account_id, role=role.value, by=who.account_id)
        return standing(stream)
