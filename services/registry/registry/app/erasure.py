"""Erasing a person's data (#14): the ecology bureau's city administrator forgets an owner account's key, after the
checks of domain/erasure.py, with what had already left the platform (notifications' record of SMS sent) listed
in the ``PersonErased`` event. Every other service forgets its own key on that event (nrmm_kernel/forgetting.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

from nrmm_kernel.auth import Principal, TokenVerifier
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import AppError, ConcurrencyError, Conflict, Forbidden, NotFound
from nrmm_kernel.internal import ServiceCaller
from nrmm_kernel.personal import SubjectKeys
from nrmm_kernel.reference import Department, Role
from nrmm_kernel.sealing import SealingStore

from ..domain.erasure import check_erasable, tie_of
from ..domain.events import PersonErased, registry
from .owners import SERVICE_ACCOUNT

DISCLOSURES_PATH = "/api/notifications/internal/personal/disclosures"


class DisclosuresUnavailable(AppError):
    """Notifications did not say what left the platform: the erasure waits (its record would be incomplete)."""

    status = 503
    code = "disclosures_unavailable"


class Disclosures:
    """Notifications' record of what left the platform with a person's data (SMS sent to them)."""

    def __init__(self, base_url: str, verifier: TokenVerifier):
        self.caller = ServiceCaller(base_url, verifier, SERVICE_ACCOUNT)

    async def of(self, subject_id: str) -> list[dict[str, Any]]:
        try:
            response = await self.caller.get(DISCLOSURES_PATH, {"subject_id": subject_id})
        except httpx.HTTPError as exc:
            raise DisclosuresUnavailable(f"通知服务不可用，请稍后再试 ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise DisclosuresUnavailable(f"通知服务不可用 (status {response.status_code})")
        return list(response.json()["disclosures"])


def require_city_administrator(who: Principal) -> None:
    if who.role is not Role.ADMIN or who.department is not Department.ECOLOGY or not who.city_level:
        raise Forbidden("仅生态环境局市级管理员可以删除个人信息 (the ecology bureau's city administrator only)",
                        code="role_not_allowed")


class PersonalData:
    def __init__(self, store: SealingStore, keys: SubjectKeys, disclosures: Disclosures, retention_days: int,
                 today: Callable[[], date] = today_in_chongqing):
        self.store, self.keys, self.disclosures = store, keys, disclosures
        self.retention_days = retention_days
        self.today = today

    async def erase(self, who: Principal, subject_id: str, reason: str) -> dict[str, Any]:
        require_city_administrator(who)
        stream = f"person-{subject_id}"
        if await self.store.stream_version(stream):
            raise Conflict("该人员的个人信息已删除 (already erased)", code="already_erased", field="subject_id")
        streams = await self.store.streams_of(subject_id)
        if not streams:
            raise NotFound("没有该账户的个人信息 (no personal data of this account)", code="unknown_subject",
                           field="subject_id")
        ties = []
        for machine_stream in streams:
            history = await self.store.inner.read_stream(machine_stream)  # ciphertext: only dates and owners count
            ties.append(tie_of(subject_id, machine_stream,
                               ((registry.decode(e), today_in_chongqing(e.time)) for e in history)))
        ended = check_erasable(ties, self.today(), self.retention_days)  # rule: nothing erased while in use
        event = PersonErased(subject_id=subject_id, reason=reason, erased_by_account_id=who.account_id,
                             erased_at=utcnow(), last_code_ended_on=ended,
                             disclosures=await self.disclosures.of(subject_id))
        try:
            await self.store.append(stream, 0, [registry.wrap(event, stream_id=stream, stream_version=1,
                                                              actor=who.as_actor())])
        except ConcurrencyError:
            raise Conflict("该人员的个人信息已删除 (already erased)", code="already_erased",
                           field="subject_id") from None
        await self.keys.forget(subject_id)  # at once here; the registry's shredder does it again if this failed
        return {"subject_id": subject_id, "erased_at": event.erased_at.isoformat(), "stream": stream,
                "last_code_ended_on": ended.isoformat() if ended else None, "disclosures": event.disclosures,
                "machines": [s.removeprefix("machine-") for s in streams]}

    async def open(self, values: list[str]) -> list[str | None]:
        """Plain values of the registry's sealed ones, for another service's authorised use (an SMS to send)."""
        return [await self.keys.open(v) for v in values]
