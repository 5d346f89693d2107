"""Leases: one holder of a job at a time among a service's instances (the outbox relay, the schedulers).

Built on a unique insert (claims.py), the one race FerretDB decides atomically: a lease is a series of numbered
terms, ``<name>#<term>`` in the service database's ``leases`` collection. The holder of the latest term renews its
expiry; anyone who finds the latest term expired inserts the next one, and of racing takers exactly one insert
succeeds. A holder that finds a later term than its own has lost the lease.

A lease alone cannot fence a holder that is paused past its expiry (a stop-the-world pause, a stalled write): it
believes itself the holder until its next look. What it guards must be safe anyway: the relay is fenced by its
Kafka transactional producer (relay.py: a new holder's producer fences the old one's), the schedulers' writes are
unique inserts or expected-version appends. The lease makes the overlap rare and short; the fence makes it harmless.
A holder trusts its term only until the last expiry it read back as latest, less a margin.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from .aio import sleep_or_stop, wait_any
from .claims import claim
from .envelope import utcnow
from .logging import get_logger
from .supervisor import Health

LEASES = "leases"
log = get_logger("lease")
Clock = Callable[[], datetime]


def instance_id() -> str:
    """This process among the service's instances: host, pid and a random part (a restarted pid is new)."""
    import os

    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Lease:
    """One named lease in one database, as seen by one would-be holder."""

    def __init__(self, db: AsyncDatabase[Any], name: str, holder: str | None = None, *, ttl: float = 10.0,
                 clock: Clock = utcnow):
        self.collection = db[LEASES]
        self.name = name
        self.holder = holder or instance_id()
        self.ttl = timedelta(seconds=ttl)
        self.margin = self.ttl / 5
        self.clock = clock
        self.term: int | None = None  # the term held, if any
        self._trusted_until: datetime | None = None

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("name", 1), ("term", DESCENDING)])

    @property
    def held(self) -> bool:
        """Held now, by this holder's last look (never past the expiry it read back, less a margin)."""
        return self.term is not None and self._trusted_until is not None and self.clock() < self._trusted_until

    async def latest(self) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.collection.find_one({"name": self.name},
                                                                    sort=[("term", DESCENDING)])
        return doc

    async def acquire(self) -> bool:
        """Renew the lease if this holder has it, take it if it is free or expired; True when held now."""
        started = self.clock()
        latest = await self.latest()
        if latest is not None and self.term is not None and latest["term"] == self.term:
            if latest["holder"] != self.holder:  # cannot happen with unique terms; stay on the safe side
                return self._lose(latest)
            expires = self._aware(latest["expires"])
            if started >= expires - self.margin:  # too late to renew safely: someone may be taking it
                return self._lose(latest)
            await self.collection.update_one({"_id": latest["_id"]}, {"$set": {"expires": started + self.ttl,
                                                                             "renewed_at": started}})
            self._trusted_until = expires - self.margin  # what was read back; the new expiry at the next look
            check = await self.latest()
            if check is None or check["term"] != self.term:
                return self._lose(check)
            self._trusted_until = min(self._aware(check["expires"]), started + self.ttl) - self.margin
            return self.held
        if latest is not None and self._aware(latest["expires"]) > started:
            if self.term is not None:
                return self._lose(latest)
            return False  # someone else holds it
        term = (latest["term"] if latest else 0) + 1
        doc = {"_id": f"{self.name}#{term:012d}", "name": self.name, "term": term, "holder": self.holder,
               "taken_at": started, "renewed_at": started, "expires": started + self.ttl}
        if not await claim(self.collection, doc):
            self.term = None
            return False
        self.term, self._trusted_until = term, started + self.ttl - self.margin
        log.info("lease.taken", lease=self.name, term=term, holder=self.holder,
                 previous=latest["holder"] if latest else None)
        # earlier terms are history: kept small (the latest is looked up by a sort over this lease's terms)
        await self.collection.delete_many({"name": self.name, "term": {"$lt": term - 1}})
        return True

    async def release(self) -> None:
        """Give the lease up (a clean stop): another instance takes it at once instead of after the expiry."""
        if self.term is None:
            return
        term, self.term, self._trusted_until = self.term, None, None
        await self.collection.update_one({"_id": f"{self.name}#{term:012d}", "holder": self.holder},
                                         {"$set": {"expires": self.clock() - self.ttl}})

    def _lose(self, latest: dict[str, Any] | None) -> bool:
        if self.term is not None:
            log.warning("lease.lost", lease=self.name, term=self.term, holder=self.holder,
                        now_held_by=(latest or {}).get("holder"))
        self.term, self._trusted_until = None, None
        return False

    @staticmethod
    def _aware(value: datetime) -> datetime:
        from datetime import UTC

        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @property
    def renew_every(self) -> float:
        return self.ttl.total_seconds() / 3


async def run_leased(lease: Lease, body: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event,
                     health: Health | None = None) -> None:
    """Run ``body(inner_stop)`` only while ``lease`` is held: waits for it, renews it, and stops the body (its
    ``inner_stop`` set, then cancelled after a grace period) as soon as it is lost. A standby reports healthy."""
    await lease.ensure_indexes()
    try:
        while not stop.is_set():
            if not await lease.acquire():
                if health is not None:
                    health.lease = "standby"
                    health.ok()  # a standby is well: it waits for the holder to go
                await sleep_or_stop(stop, lease.renew_every)
                continue
            if health is not None:
                health.lease = "held"
            inner = asyncio.Event()
            task: asyncio.Task[None] = asyncio.ensure_future(body(inner))
            finished = _done_event(task)
            try:
                while not stop.is_set() and not task.done():
                    await wait_any(stop, finished, seconds=lease.renew_every)
                    if task.done() or stop.is_set():
                        break
                    try:
                        kept = await lease.acquire()
                    except Exception as exc:  # noqa: BLE001 - the database: the body runs on while trusted
                        log.warning("lease.renew_failed", lease=lease.name, error=type(exc).__name__)
                        kept = lease.held
                    if not kept:
                        break
            finally:
                inner.set()
                if not task.done():
                    done, _ = await asyncio.wait([task], timeout=lease.margin.total_seconds())
                    if not done:
                        task.cancel()
                        await asyncio.gather(task, return_exceptions=True)
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        try:
            await lease.release()
        except Exception as exc:  # noqa: BLE001 - it expires on its own
            log.warning("lease.release_failed", lease=lease.name, error=type(exc).__name__)


def _done_event(task: asyncio.Task[Any]) -> asyncio.Event:
    event = asyncio.Event()
    task.add_done_callback(lambda _: event.set())
    return event
