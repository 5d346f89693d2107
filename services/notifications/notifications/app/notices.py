"""Notices: the requests the projections made from events become one stored notice per recipient (the in-app inbox)
and one delivery per outside channel. Every write is a unique insert keyed by (event or reminder, template,
recipient), so a request handled twice (a restart, two instances) makes each notice and each message once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aio import sleep_or_stop
from nrmm_kernel.claims import claim
from nrmm_kernel.codes import parse_code
from nrmm_kernel.logging import get_logger
from nrmm_kernel.personal import is_sealed, subject_of
from nrmm_kernel.reference import DISTRICTS
from nrmm_kernel.supervisor import Backoff, Health

from ..domain.messages import ChannelKind, Message
from ..domain.templates import MissingParameter, UnknownTemplate, template
from .deliveries import Deliveries
from .personal import RegistryOpener

NOTICES = "notices"
MAX_PARAM = 500  # a message parameter's bound (Message.params: Sentence)
MACHINES, SITES = "notice_machines", "notice_sites"  # context read models (projections/)
REQUESTS = ("notice_requests_registry", "notice_requests_sites", "notice_requests_inspection")
log = get_logger("notifications.notices")


def district_of(code: str | None) -> str:
    try:
        return DISTRICTS.get(parse_code(code).district, "") if code else ""
    except ValueError:
        return ""


class Notices:
    def __init__(self, db: AsyncDatabase, deliveries: Deliveries, clock: Callable[[], datetime],
                 outside_max_age: timedelta = timedelta(hours=72), opener: RegistryOpener | None = None):
        self.db, self.coll, self.deliveries, self.now = db, db[NOTICES], deliveries, clock
        self.opener = opener  # opens an owner's mobile the registry sealed (#14)
        self.outside_max_age = outside_max_age

    def _recent(self, at: datetime | None) -> bool:
        """An event older than this (a first start on a platform with history, a replay) is no news to send by SMS."""
        return at is None or self.now() - at <= self.outside_max_age

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("account_id", 1), ("created_at", -1)])
        for name in REQUESTS:
            await self.db[name].create_index("done")

    # recipients ------------------------------------------------------------------------------------------------
    async def resolve(self, to: dict) -> list[dict]:
        """[{"account": id|None, "mobile": m|None}] for a recipient named in a request."""
        if "account" in to:
            return [{"account": to["account"], "mobile": to.get("mobile")}]
        if "machine_owner" in to:
            machine = await self.db[MACHINES].find_one({"_id": to["machine_owner"]})
            owners = [o for o in (machine or {}).get("owners", []) if o["from"] <= to.get("as_of", 1 << 62)]
            return [{"account": owners[-1]["account"], "mobile": owners[-1]["mobile"]}] if owners else []
        if "owner_of_code" in to:
            machine = await self.db[MACHINES].find_one({"code": to["owner_of_code"]})
            owners = (machine or {}).get("owners", [])
            return [{"account": owners[-1]["account"], "mobile": owners[-1]["mobile"]}] if owners else []
        if "site_admin" in to:
            site = await self.db[SITES].find_one({"_id": f"site-{to['site_admin']}"})
            return [{"account": site.get("admin"), "mobile": site.get("mobile")}] if site and site.get("admin") else []
        if "violation_site" in to:
            violation = await self.db["notice_violations"].find_one({"_id": to["violation_site"]})
            return await self.resolve({"site_admin": violation["site_code"]}) if violation else []
        if "mobile" in to:
            return [{"account": None, "mobile": to["mobile"]}]
        return []

    async def machine_params(self, machine_id: str | None) -> dict:
        if not machine_id:
            return {}
        machine = await self.db[MACHINES].find_one({"_id": machine_id}) or {}
        code = machine.get("code") or ""
        return {"code": code, "brand": machine.get("brand", ""), "model": machine.get("model", ""),
                "district": district_of(code)}

    async def violation_params(self, violation_id: str | None) -> dict:
        if not violation_id:
            return {}
        violation = await self.db["notice_violations"].find_one({"_id": violation_id}) or {}
        return {k: violation.get(k, "") for k in ("site_code", "machine", "detail", "due_on")}

    # one notice per recipient, one message per outside channel ----------------------------------------------------
    async def emit(self, spec: dict, key: str, context: dict | None = None, source: str | None = None, *,
                   outside: bool = True) -> int:
        """Store ``spec`` (template, to, params) for each of its recipients; returns how many were new.
        ``outside``: an SMS too where a mobile is known (not for old events: the inbox only)."""
        try:
            tpl = template(spec["template"])
        except UnknownTemplate:
            log.error("notice.unknown_template", template=spec["template"], key=key)
            return 0
        params = {**(context or {}), **spec["params"]}
        try:
            text = tpl.render(params)
        except MissingParameter as exc:
            log.error("notice.missing_parameter", template=tpl.name, key=key, error=str(exc))
            return 0
        recipients = await self.resolve(spec["to"])
        if not recipients:
            log.warning("notice.no_recipient", template=tpl.name, key=key, to=spec["to"])
        new = 0
        for recipient in recipients:
            who = recipient["account"] or f"m{recipient['mobile']}"
            notice_id = f"{key}:{tpl.name}:{who}"
            doc = {"_id": notice_id, "account_id": recipient["account"], "mobile": recipient["mobile"],
                   "template": tpl.name, "title": tpl.title, "text": text, "params": params, "source": source or key,
                   "created_at": self.now(), "read": False, "read_at": None}
            if await claim(self.coll, doc):
                new += 1
            # (made before: the message below is made once too)
            if recipient["mobile"] and outside:
                to, subject = await self._number(recipient["mobile"])
                if to is None:
                    continue  # the person was erased: no SMS
                message = Message(channel=ChannelKind.SMS, to=to, template=tpl.name,
                                  params={k: v if isinstance(v, int) else str(v)[:MAX_PARAM]
                                          for k, v in params.items()
                                          if k in tpl.parameters or k in tpl.wechat_fields.values()})
                await self.deliveries.enqueue(message, f"{notice_id}:sms", notice_id=notice_id, subject_id=subject)
        return new

    async def _number(self, mobile: str) -> tuple[str | None, str | None]:
        """The number an SMS goes to, and its person where it was sealed (#14): the registry opens it (None once the
        person was erased); the delivery keeps it sealed again under notifications' own key."""
        if not is_sealed(mobile):
            return mobile, None
        if self.opener is None:
            return None, None
        return await self.opener.open(mobile), subject_of(mobile)

    # the fan-out of the projections' requests ---------------------------------------------------------------------
    async def fan_out_once(self, reminders) -> int:
        handled = 0
        for name in REQUESTS:
            for request in await self.db[name].find({"done": False}).limit(200).to_list(200):
                context = {**await self.machine_params(request.get("machine")),
                           **await self.violation_params(request.get("violation"))}
                for spec in request.get("notices", []):
                    await self.emit(spec, request["event_id"], context, source=request["event_type"],
                                    outside=self._recent(request.get("at")))
                for spec in request.get("reminders", []):
                    await reminders.schedule({**spec, "machine": request.get("machine")}, request["event_id"])
                # handled: gone (the collection stays small). A redelivered event makes it again, and handling it
                # again makes nothing twice: every write above is keyed
                await self.db[name].delete_one({"_id": request["_id"]})
                handled += 1
        return handled

    async def run_fan_out(self, stop: asyncio.Event, health: Health, reminders, poll_seconds: float) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                handled = await self.fan_out_once(reminders)
                health.ok()
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: tried again
                health.failed(exc)
                log.warning("fanout.error", error=f"{type(exc).__name__}: {exc}"[:300])
                await backoff.wait(stop)
                continue
            if not handled:
                await sleep_or_stop(stop, poll_seconds)
