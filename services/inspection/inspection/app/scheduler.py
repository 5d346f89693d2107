"""The inspection service's durable scheduler.

- Overdue (rule D1, deadlines per kind): every violation's deadline is a write-side document keyed by
  (violation, deadline) and filed under its due day (Asia/Shanghai). Each pass looks up, by equality on the due
  day, every day from where the last pass stopped up to today, so deadlines that passed while the service was
  down are caught up at its next start. What fires is decided by the check's stream: the aggregate records
  ``ViolationOverdue`` once per deadline and the append is a unique insert at the expected stream version, so two
  schedulers (or a retry after a crash) cannot record it twice.
- Linking: a machine found uncoded and later coded (brand + factory serial in the registry's issued records) gets
  its violation linked to the new owner and closed.

``now`` comes from an injectable clock: tests drive ``run_once`` in-process against the real database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.aio import sleep_or_stop
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.envelope import Actor, utcnow
from nrmm_kernel.errors import ConcurrencyError
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.logging import get_logger
from nrmm_kernel.supervisor import Health

from ..domain.check import Check, check_id_of
from ..domain.events import registry
from .checks import DEADLINES, UNCODED
from .machines import Facts

log = get_logger("scheduler")
STATE = "scheduler_state"
SCHEDULER = Actor(account_id="inspection-scheduler", role="service")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Scheduler:
    def __init__(self, db: AsyncDatabase, store: EventStore, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.clock = clock
        self.facts = Facts(db)
        self.checks = AggregateRepository(store, registry, Check, "check")
        self.health = Health("scheduler", needs_broker=False)

    async def ensure_indexes(self) -> None:
        await self.db[DEADLINES].create_index([("due_day", ASCENDING), ("state", ASCENDING)])
        await self.db[UNCODED].create_index([("state", ASCENDING)])

    async def run_once(self, now: datetime | None = None) -> dict:
        now = now or self.clock()
        result = {"overdue": await self._overdue(now), "linked": await self._link()}
        return result

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        """One pass, then another every ``poll_seconds``; an error ends the run and the runtime's supervisor starts
        it again with backoff (and /readyz shows it)."""
        while not stop.is_set():
            await self.run_once()
            self.health.ok()
            await sleep_or_stop(stop, poll_seconds)

    # overdue -------------------------------------------------------------------------------------
    async def _first_day(self, today: date) -> date:
        state = await self.db[STATE].find_one({"_id": "overdue"})
        if state is not None:
            return date.fromisoformat(state["day"])
        earliest = await self.db[DEADLINES].find_one({"state": "pending"}, sort=[("due_day", ASCENDING)])
        return min(date.fromisoformat(earliest["due_day"]), today) if earliest else today

    async def _overdue(self, now: datetime) -> int:
        today = today_in_chongqing(now)
        day, fired, complete = await self._first_day(today), 0, True
        while day <= today:
            async for doc in self.db[DEADLINES].find({"due_day": day.isoformat(), "state": "pending"}):
                if _aware(doc["due_at"]) > now:
                    continue  # later today
                try:
                    state = await self._fire(doc["violation_id"], now)
                except ConcurrencyError:
                    complete = False  # another writer moved the stream: the next pass decides again
                    continue
                fired += state == "recorded"
                state = "fired" if state == "recorded" else state
                await self.db[DEADLINES].update_one({"_id": doc["_id"]}, {"$set": {"state": state, "at": now}})
            if complete:  # every deadline of the days before today is settled: the next pass starts from here
                await self.db[STATE].update_one({"_id": "overdue"}, {"$set": {"day": day.isoformat()}}, upsert=True)
            day += timedelta(days=1)
        return fired

    async def _fire(self, violation_id: str, now: datetime) -> str:
        check = await self.checks.load(check_id_of(violation_id))
        if check is None or violation_id not in check.violations:
            return "void"  # its commit failed after the index was written
        if not check.mark_overdue(violation_id, now):
            # recorded already (by another scheduler, or before a crash) or closed in time
            return "fired" if check.violations[violation_id].overdue else "settled"
        await self.checks.save(check, actor=SCHEDULER)
        log.info("violation.overdue", violation_id=violation_id)
        return "recorded"

    # linking uncoded machines to their new code -----------------------------------------------------
    async def _link(self) -> int:
        linked = 0
        async for doc in self.db[UNCODED].find({"state": "open"}):
            record = await self.facts.coded_as(doc["serial_key"])
            if record is None:
                continue
            check = await self.checks.load(doc["check_id"])
            if check is None:
                await self.db[UNCODED].update_one({"_id": doc["_id"]}, {"$set": {"state": "void"}})
                continue
            if check.link(doc["_id"], code=record["code"], registry_machine_id=record["registry_machine_id"],
                          owner_account_id=record["owner_account_id"]):
                try:
                    await self.checks.save(check, actor=SCHEDULER)
                except ConcurrencyError:
                    continue
                linked += 1
            await self.db[UNCODED].update_one({"_id": doc["_id"]},
                                              {"$set": {"state": "linked", "code": record["code"]}})
        return linked
