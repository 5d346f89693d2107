"""A person erased by the ecology bureau (issue #14) stops existing at the gateway too: the registry's
``PersonErased`` (stream ``person-<owner account id>``, ``subject_id`` = the account id) makes the gateway forget
the account's key (its sealed mobile, name and username read as erased everywhere), disable the account (an
``AccountDisabled`` event, the bureau's administrator as its actor) and drop its login keys.

Reliable in two steps: the projection ``person_erasures`` records each erasure (idempotent, offsets committed
after the write); a supervised worker carries out those not yet done and marks them done. Each step is idempotent,
so a worker killed halfway does it again."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aio import sleep_or_stop
from nrmm_kernel.envelope import Actor, EventEnvelope
from nrmm_kernel.logging import get_logger
from nrmm_kernel.projection import Projection, on
from nrmm_kernel.supervisor import Health
from registry.contracts import PersonErased
from registry.contracts import events as registry_events

from .account_store import AccountStore
from .accounts import change

log = get_logger("erasure")
ERASURES = "person_erasures"
ERASED_REASON = "personal_data_erased"
POLL_SECONDS = 1.0

class PersonErasures(Projection):
    name = ERASURES
    contract = registry_events  # the registry's own contract (registry.contracts)

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.streamid

    @on(PersonErased)
    def erased(self, doc: dict[str, Any] | None, event: PersonErased, envelope: EventEnvelope) -> dict[str, Any]:
        return {**(doc or {}), "subject_id": event.subject_id, "done": False, "erased_at": envelope.time,
                "actorid": envelope.actorid, "actorrole": envelope.actorrole}

    async def ensure_indexes(self, collection: Any) -> None:
        await collection.create_index([("done", ASCENDING)])


class ErasureWorker:
    def __init__(self, db: AsyncDatabase[Any], store: AccountStore):
        self.coll = db[ERASURES]
        self.store = store
        # /readyz: each round that finishes is a success (a failing one is retried by the supervisor)
        self.health = Health("erasures", needs_broker=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until ``stop`` (one round at least)."""
        while True:
            await self.run_once()
            self.health.ok(lag=0)
            if stop.is_set():
                return
            await sleep_or_stop(stop, POLL_SECONDS)

    async def run_once(self) -> int:
        done = 0
        async for erasure in self.coll.find({"done": False}).limit(100):
            await self.erase(erasure["subject_id"], Actor(account_id=erasure.get("actorid") or "registry",
                                                          role=erasure.get("actorrole") or "service"))
            await self.coll.update_one({"_id": erasure["_id"], "_rev": erasure["_rev"]}, {"$set": {"done": True}})
            done += 1
        return done

    async def erase(self, account_id: str, actor: Actor) -> None:
        await self.store.keys.forget(account_id)
        if await self.store.stream(account_id) is not None:
            await self.store.new_stamp(account_id)
            await change(self.store, account_id, actor, lambda stream: _disable(stream))
        dropped = await self.store.drop_logins(account_id)
        log.info("account.erased", account_id=account_id, logins_dropped=dropped)


def _disable(stream: Any) -> None:
    stream.disable(ERASED_REASON)
