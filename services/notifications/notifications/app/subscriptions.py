"""Department event feeds: subscriptions. Made by a department's administrator for their department and district (the
ecology bureau's: for any department); read by that department's staff of that jurisdiction. A webhook's signing
secret is shown once, at creation or rotation, and never logged; a rotation keeps the previous secret signing for
``NRMM_FEED_SECRET_OVERLAP_HOURS`` (two active secrets, two signatures)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

import ulid
from pydantic import BaseModel, ConfigDict, Field

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import Forbidden, ValidationFailed
from nrmm_kernel.fields import DistrictCode, Sentence
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Department, Role

from ..domain.feeds import UNMASKED_ROLES, event_types
from ..domain.webhooks import TargetRefused, address_problem, check_url, new_secret
from .feed_store import FeedStore

log = get_logger("notifications.subscriptions")
SubscriberRole = Literal["department_viewer", "inspector", "reviewer", "auditor"]
READERS = frozenset({Role.ADMIN, Role.DEPARTMENT_VIEWER, Role.INSPECTOR, Role.REVIEWER, Role.AUDITOR})


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    department: Department
    district: DistrictCode | None = Field(None, description="01-41; none: city level (every district)")
    event_types: list[Sentence] = Field(min_length=1, max_length=100, description="CloudEvents types, e.g. "
                                   "cn.cq.nrmm.sites.MachineEntered (see /api/notifications/asyncapi.json)")
    subscriber_role: SubscriberRole = Field("department_viewer", description="whose eyes the events are for: "
                                            "personal data is masked unless that role may see it (auditor)")
    webhook_url: str | None = Field(None, max_length=2000, description="https URL signed deliveries are posted to")


def can_manage(who: Principal, department: str, district: str | None) -> bool:
    """A department's administrator, for their department; the ecology bureau's, for any; in their jurisdiction."""
    if who.role is not Role.ADMIN or who.department is None:
        return False
    if who.department is not Department.ECOLOGY and who.department != department:
        return False
    return who.city_level or (district is not None and district == who.district)


def can_read(who: Principal, sub: dict) -> bool:
    """The subscription's department's staff (the ecology bureau's too) of its jurisdiction; an unmasked
    subscription: its auditors only."""
    if who.role not in READERS or who.department is None and who.role is not Role.AUDITOR:
        return False
    own = who.department is Department.ECOLOGY or who.department == sub["department"]
    if who.role is not Role.AUDITOR and not own:
        return False
    if not sub.get("masked", True) and who.role is not Role.AUDITOR:
        return False
    return who.city_level or (sub.get("district") is not None and sub["district"] == who.district)


def view(sub: dict) -> dict:
    """A subscription as shown: never its secrets."""
    webhook = sub.get("webhook")
    return {"subscription_id": sub["_id"], "name": sub["name"], "department": sub["department"],
            "district": sub.get("district"), "event_types": sub["event_types"],
            "subscriber_role": sub["subscriber_role"], "masked": sub["masked"], "status": sub["status"],
            "webhook_url": webhook["url"] if webhook else None,
            "secrets": [{"created_at": s["created_at"], "expires_at": s.get("expires_at")}
                        for s in sub.get("secrets", [])],
            "created_by": sub["created_by"], "created_at": sub["created_at"]}


class Subscriptions:
    def __init__(self, store: FeedStore, settings, clock: Callable[[], datetime],
                 on_change: Callable[[], object]):
        self.store, self.settings, self.now, self.on_change = store, settings, clock, on_change

    async def create(self, request: SubscriptionRequest, who: Principal) -> tuple[dict, str | None]:
        if not can_manage(who, request.department, request.district):
            raise Forbidden("只能为本部门、本辖区创建订阅 (your department and jurisdiction only)",
                            code="outside_jurisdiction")
        known = event_types()
        for i, name in enumerate(request.event_types):
            if name not in known:
                raise ValidationFailed(f"未知的事件类型 {name[:80]} (unknown event type)", code="unknown_event_type",
                                       field=f"event_types[{i}]")
        if request.subscriber_role in UNMASKED_ROLES and who.department is not Department.ECOLOGY:
            raise Forbidden("仅生态环境部门可创建不脱敏订阅 (unmasked feeds: the ecology bureau only)",
                            code="unmasked_not_allowed")
        webhook, secret = None, None
        if request.webhook_url is not None:
            await self.check_target(request.webhook_url)
            webhook, secret = {"url": request.webhook_url}, new_secret()
        now = self.now()
        doc = {"_id": str(ulid.ULID()), "name": request.name, "department": request.department.value,
               "district": request.district, "event_types": sorted(set(request.event_types)),
               "subscriber_role": request.subscriber_role,
               "masked": request.subscriber_role not in UNMASKED_ROLES, "webhook": webhook,
               "secrets": [{"secret": secret, "created_at": now, "expires_at": None}] if secret else [],
               "status": "active", "seq": 0, "created_by": who.account_id, "created_at": now}
        await self.store.subs.insert_one(doc)
        await self.on_change()
        log.info("feeds.subscription_created", subscription=doc["_id"], department=doc["department"],
                 district=doc["district"], webhook=bool(webhook), by=who.account_id)
        return doc, secret

    async def check_target(self, url: str) -> None:
        s = self.settings
        try:
            _, host = check_url(url, allow_loopback_http=s.feed_allow_loopback_http)
        except TargetRefused as refused:
            raise ValidationFailed(str(refused), code=refused.code, field="webhook_url") from None
        try:
            addresses = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            try:
                infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, None), 5)
            except (OSError, TimeoutError):
                raise ValidationFailed("回调地址的主机名无法解析 (host not found)", code="unresolvable_host",
                                       field="webhook_url") from None
            addresses = sorted({info[4][0] for info in infos})
        for address in addresses:
            if address_problem(address, allow_private=s.feed_allow_private_targets,
                               allow_loopback=s.feed_allow_loopback_http):
                raise ValidationFailed("回调地址指向内部网络 (private network target refused)", code="private_target",
                                       field="webhook_url")

    async def rotate(self, sub: dict) -> tuple[dict, str]:
        """A new secret; the newest previous one keeps signing for the overlap, older ones stop now."""
        if not sub.get("webhook"):
            raise ValidationFailed("该订阅没有回调地址 (no webhook)", code="no_webhook", field="subscription_id")
        now, secret = self.now(), new_secret()
        overlap = now + timedelta(hours=self.settings.feed_secret_overlap_hours)
        kept = [s for s in sub.get("secrets", []) if s.get("expires_at") is None or s["expires_at"] > now][-1:]
        kept = [{**s, "expires_at": min(s["expires_at"] or overlap, overlap)} for s in kept]
        secrets = [*kept, {"secret": secret, "created_at": now, "expires_at": None}]
        await self.store.subs.update_one({"_id": sub["_id"]}, {"$set": {"secrets": secrets}})
        log.info("feeds.secret_rotated", subscription=sub["_id"])
        return {**sub, "secrets": secrets}, secret

    async def retire_previous(self, sub: dict) -> dict:
        secrets = [s for s in sub.get("secrets", []) if s.get("expires_at") is None][-1:]
        await self.store.subs.update_one({"_id": sub["_id"]}, {"$set": {"secrets": secrets}})
        return {**sub, "secrets": secrets}

    async def end(self, sub: dict, who: Principal) -> dict:
        await self.store.subs.update_one({"_id": sub["_id"]}, {"$set": {"status": "ended", "ended_at": self.now(),
                                                                        "ended_by": who.account_id}})
        await self.on_change()
        return {**sub, "status": "ended"}
