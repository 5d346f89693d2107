"""Reminders on a durable schedule: a reminder is a document (``reminders``, ``_id`` its key) made once from the
event that set it, sent when due by the scheduler. A reminder due while the service was down is found due when it
starts. Sending is decided by the notices' unique inserts (keyed by the reminder): two schedulers that both find it
due make one notice and one message."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aio import sleep_or_stop
from nrmm_kernel.claims import claim
from nrmm_kernel.logging import get_logger
from nrmm_kernel.supervisor import Backoff, Health

from .notices import MACHINES, SITES, Notices

REMINDERS = "reminders"
VIOLATIONS = "notice_violations"
log = get_logger("notifications.reminders")


class Reminders:
    def __init__(self, db: AsyncDatabase, notices: Notices, clock: Callable[[], datetime],
                 max_lateness: timedelta = timedelta(days=30)):
        self.db, self.coll, self.notices, self.now = db, db[REMINDERS], notices, clock
        self.max_lateness = max_lateness

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("status", 1), ("due_at", 1)])

    async def schedule(self, spec: dict, source: str) -> None:
        doc = {"_id": spec["key"], "due_at": spec["due_at"], "template": spec["template"], "to": spec["to"],
               "params": spec["params"], "condition": spec.get("condition"), "machine": spec.get("machine"),
               "source": source, "status": "scheduled", "sent_at": None}
        await claim(self.coll, doc)  # set before: kept once

    async def still_due(self, condition: dict | None) -> dict | None:
        """The parameters the condition adds, or None when it no longer holds (the reminder is skipped)."""
        if not condition:
            return {}
        if "machine_in_force" in condition:
            machine = await self.db[MACHINES].find_one({"_id": condition["machine_in_force"]})
            return {} if machine and machine.get("status") == "in_force" else None
        if "site_has_machines" in condition:
            site = await self.db[SITES].find_one({"_id": f"site-{condition['site_has_machines']}"})
            inside = len((site or {}).get("inside", []))
            if not site or site.get("ends_on") != condition.get("ends_on") or not inside:
                return None
            return {"inside": inside}
        if "violation_open" in condition:
            violation = await self.db[VIOLATIONS].find_one({"_id": condition["violation_open"]})
            return {} if violation and violation.get("open") else None
        if "check_uncoded" in condition:
            violation = await self.db[VIOLATIONS].find_one({"check_id": condition["check_uncoded"], "coded": True})
            return None if violation else {}
        log.error("reminder.unknown_condition", condition=condition)
        return None

    async def fire_due(self) -> int:
        fired = 0
        for reminder in await self.coll.find({"status": "scheduled", "due_at": {"$lte": self.now()}}).limit(
                200).to_list(200):
            extra = await self.still_due(reminder.get("condition"))
            if self.now() - reminder["due_at"] > self.max_lateness:
                extra = None  # due long before the service ran (first start on old records): no news any more
            if extra is not None:
                context = await self.notices.machine_params(reminder.get("machine"))
                spec = {"template": reminder["template"], "to": reminder["to"],
                        "params": {**reminder["params"], **extra}}
                key = f"reminder:{reminder['_id']}"
                await self.notices.emit(spec, key, context, source=key)
                fired += 1
            await self.coll.update_one({"_id": reminder["_id"]}, {"$set": {
                "status": "sent" if extra is not None else "skipped", "sent_at": self.now()}})
        return fired

    async def run(self, stop: asyncio.Event, health: Health, poll_seconds: float) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                await self.fire_due()
                health.ok()
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: tried again
                health.failed(exc)
                log.warning("reminders.error", error=f"{type(exc).__name__}: {exc}"[:300])
                await backoff.wait(stop)
                continue
            await sleep_or_stop(stop, poll_seconds)
