"""The follow-up closer (rule D5): a code application for a machine closes the follow-up task of its
special-equipment record.

The registry's applications arrive through its topic into ``sharing_applications``, each marked ``closer: new``
when the machine becomes known (applied for, or its serial corrected). Each pass takes the marked ones, closes every
open task with the same brand + factory serial (decided on the record's stream, once), and clears the mark. A mark
is kept for ``GRACE`` after the application arrived, so a task an import opened while the application was on its
way (the import read the copy a moment before) is still found and closed on a later pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aio import sleep_or_stop
from nrmm_kernel.envelope import Actor, utcnow
from nrmm_kernel.logging import get_logger
from nrmm_kernel.supervisor import Health

from ..projections.sharing import APPLICATIONS
from .sharing import SharingImports

log = get_logger("sharing_closer")
CLOSER = Actor(account_id="inspection-sharing", role="service")
GRACE = timedelta(minutes=2)
PAGE = 500


class FollowUpCloser:
    def __init__(self, db: AsyncDatabase, imports: SharingImports, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.imports = imports
        self.clock = clock
        self.health = Health("sharing-closer", needs_broker=False)

    async def run_once(self) -> int:
        closed = 0
        now = self.clock()
        async for doc in self.db[APPLICATIONS].find({"closer": "new"}).limit(PAGE):
            if doc.get("serial_key"):
                closed += await self.imports.close_follow_ups(doc["serial_key"], doc["registry_machine_id"], CLOSER)
            known_at = datetime.fromisoformat(doc["known_at"]) if doc.get("known_at") else now
            if now - known_at >= GRACE:
                # only if the projection has not marked it again meanwhile (its _rev moves with every write)
                await self.db[APPLICATIONS].update_one({"_id": doc["_id"], "_rev": doc["_rev"]},
                                                       {"$set": {"closer": "done"}})
        if closed:
            log.info("follow_ups.closed", count=closed)
        return closed

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            await self.run_once()
            self.health.ok()
            await sleep_or_stop(stop, poll_seconds)
