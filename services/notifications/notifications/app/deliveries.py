"""Delivery of messages to outside channels: at-least-once, each with a status, retried with backoff, then a dead
letter an administrator can send again.

A delivery is one document (``deliveries``), its ``_id`` the deduplication key the provider is given. Each attempt is
taken by a unique insert (``delivery_attempts``, ``<id>:<n>``) so two processes never send the same attempt; an
attempt taken by a process that died is given up after the lease and the next one made. A provider that hangs is cut
off by a timeout and recorded on its message; other messages keep flowing (each is sent on its own task).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aio import sleep_or_stop
from nrmm_kernel.claims import claim, claim_or_existing
from nrmm_kernel.logging import get_logger
from nrmm_kernel.personal import ERASED, SubjectKeys
from nrmm_kernel.supervisor import Backoff, Health

from ..domain.messages import ChannelKind, Message
from .channels import Channels, DeliveryFailed
from .personal import Disclosures

DELIVERIES, ATTEMPTS = "deliveries", "delivery_attempts"
MAX_RETRY_DELAY = 3600.0
log = get_logger("notifications.deliveries")
ATTEMPTED = Counter("nrmm_notifications_delivery_attempts_total", "Attempts to send a message to an outside channel",
                    ["channel", "outcome"])  # outcome: sent, retry, dead


class Deliveries:
    def __init__(self, db: AsyncDatabase, channels: Channels, settings, clock: Callable[[], datetime], *,
                 keys: SubjectKeys | None = None, disclosures: Disclosures | None = None):
        self.coll, self.attempts = db[DELIVERIES], db[ATTEMPTS]
        self.keys = keys or SubjectKeys(db)
        self.disclosures = disclosures or Disclosures(db)
        self.channels, self.settings, self.now = channels, settings, clock
        self.runner_id = f"{os.getpid()}"
        self._inflight: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("status", 1), ("next_attempt_at", 1)])
        await self.coll.create_index("notice_id")
        await self.coll.create_index([("created_at", -1)])  # the administrators' list, newest first
        if self.channels.outbox is not None:
            await self.channels.outbox.ensure_indexes()

    async def enqueue(self, message: Message, delivery_id: str, *, notice_id: str | None = None,
                      subject_id: str | None = None) -> dict:
        """Record a delivery once per id (a second enqueue of the same id finds the first). ``subject_id``: the
        person whose number it goes to (#14): it is kept sealed under their key, and its sending recorded."""
        doc = self._new(message, delivery_id, notice_id)
        if subject_id:
            doc.update(to=await self.keys.seal(subject_id, message.to), subject_id=subject_id)
        return await claim_or_existing(self.coll, doc)

    def _new(self, message: Message, delivery_id: str, notice_id: str | None) -> dict:
        return {"_id": delivery_id, **message.model_dump(mode="json"), "notice_id": notice_id, "status": "pending",
                "attempts": 0, "max_attempts": self.settings.delivery_max_attempts, "next_attempt_at": self.now(),
                "created_at": self.now(), "sent_at": None, "provider_id": None, "error_code": None,
                "last_error": None, "history": []}

    async def attempt(self, delivery_id: str) -> dict | None:
        """One attempt, if the delivery is due and nobody else holds it; the delivery as it then stands."""
        doc = await self.coll.find_one({"_id": delivery_id})
        if doc is None or doc["status"] != "pending" or doc["next_attempt_at"] > self.now():
            return doc
        n = doc["attempts"] + 1
        if not await claim(self.attempts, {"_id": f"{delivery_id}:{n}", "at": self.now(), "runner": self.runner_id}):
            holder = await self.attempts.find_one({"_id": f"{delivery_id}:{n}"})
            held_since = holder["at"] if holder else self.now()
            if (self.now() - held_since).total_seconds() < self.settings.delivery_lease_seconds:
                return doc  # another sender is on it
            # its sender died while sending: the message may have left; the next attempt (same key) is made
            return await self._record(doc, n, "abandoned", "the sender stopped during the attempt", permanent=False)
        return await self._try(doc, n)

    async def send_now(self, message: Message, delivery_id: str) -> dict:
        """A message a caller waits for (an SMS code): recorded and tried at once, in two writes (the record, the
        outbox's or none), its outcome written after the answer. The runner leaves it alone for the lease: a
        process that dies before the outcome is written leaves it to be sent again then, with the same key."""
        doc = self._new(message, delivery_id, None)
        doc["next_attempt_at"] = self.now() + timedelta(seconds=self.settings.delivery_lease_seconds)
        await self.coll.insert_one(doc)
        return await self._try(doc, 1, background=True)

    async def _try(self, doc: dict, n: int, *, background: bool = False) -> dict:
        delivery_id = doc["_id"]
        to = await self.keys.open(doc["to"])
        if to == ERASED:  # the person was erased before it left: it never will
            return await self._record(doc, n, "person_erased", "the recipient's data was erased", permanent=True,
                                      background=background)
        message = Message(channel=doc["channel"], to=to, template=doc["template"], params=doc["params"])
        try:
            channel = self.channels.for_kind(ChannelKind(doc["channel"]))
            provider_id = await asyncio.wait_for(channel.send(message, delivery_id),
                                                 self.settings.provider_timeout_seconds + 1)
        except DeliveryFailed as exc:
            return await self._record(doc, n, exc.code, str(exc), permanent=exc.permanent, background=background)
        except TimeoutError:
            return await self._record(doc, n, "provider_timeout", "the provider did not answer in time",
                                      permanent=False, background=background)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the provider's SDK raised: recorded, retried
            code = getattr(exc, "code", None) or type(exc).__name__
            if "timeout" in f"{type(exc).__name__} {exc}".lower():  # the SDK's own read timeout
                code = "provider_timeout"
            return await self._record(doc, n, str(code), f"{type(exc).__name__}: {exc}"[:300], permanent=False,
                                      background=background)
        ATTEMPTED.labels(doc["channel"], "sent").inc()
        if doc.get("subject_id"):  # the person's number left the platform: an erasure lists it
            await self.disclosures.record(delivery_id, doc["subject_id"], doc["channel"], doc["template"], self.now())
        return await self._update(doc, n, {"status": "sent", "sent_at": self.now(), "provider_id": provider_id,
                                           "error_code": None, "last_error": None}, "sent", None, background)

    async def _record(self, doc: dict, n: int, code: str, error: str, *, permanent: bool,
                      background: bool = False) -> dict:
        dead = permanent or n >= doc["max_attempts"]
        ATTEMPTED.labels(doc["channel"], "dead" if dead else "retry").inc()
        delay = min(self.settings.delivery_retry_seconds * 2 ** (n - 1), MAX_RETRY_DELAY)
        log.warning("delivery.failed", delivery=doc["_id"], attempt=n, code=code, dead=dead)
        return await self._update(doc, n, {"status": "dead" if dead else "pending", "error_code": code,
                                           "last_error": error[:500],
                                           "next_attempt_at": self.now() + timedelta(seconds=delay)}, code, error,
                                 background)

    async def _update(self, doc: dict, n: int, fields: dict, outcome: str, error: str | None,
                      background: bool = False) -> dict:
        entry = {"attempt": n, "at": self.now(), "outcome": outcome, "error": (error or None) and error[:200]}
        history = [*doc.get("history", []), entry][-20:]
        # only the holder of attempt n writes its outcome: an update that finds the attempts moved on does nothing
        write = self.coll.update_one({"_id": doc["_id"], "attempts": n - 1},
                                     {"$set": {**fields, "attempts": n, "history": history}})
        if background:
            self._keep(asyncio.create_task(write))
        else:
            await write
        return {**doc, **fields, "attempts": n, "history": history}

    def _keep(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def redeliver(self, delivery_id: str) -> dict | None:
        """An administrator sends a dead letter again: as many attempts again as a new message gets."""
        doc = await self.coll.find_one({"_id": delivery_id})
        if doc is None or doc["status"] == "sent":
            return doc
        await self.coll.update_one({"_id": delivery_id, "attempts": doc["attempts"]}, {"$set": {
            "status": "pending", "next_attempt_at": self.now(),
            "max_attempts": doc["attempts"] + self.settings.delivery_max_attempts}})
        return await self.coll.find_one({"_id": delivery_id})

    async def run(self, stop: asyncio.Event, health: Health) -> None:
        """Send what is due, each delivery on its own task (a hanging provider holds up only its own messages)."""
        backoff = Backoff()
        while not stop.is_set():
            try:
                room = self.settings.delivery_concurrency - len(self._inflight)
                due = []
                if room > 0:
                    due = await self.coll.find(
                        {"status": "pending", "next_attempt_at": {"$lte": self.now()},
                         "_id": {"$nin": sorted(self._inflight)}}, {"_id": 1}).limit(room).to_list(room)
                for doc in due:
                    self._start(doc["_id"])
                health.ok(lag=len(self._inflight))
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: tried again
                health.failed(exc)
                await backoff.wait(stop)
                continue
            await sleep_or_stop(stop, self.settings.delivery_poll_seconds)

    def _start(self, delivery_id: str) -> None:
        self._inflight.add(delivery_id)

        async def one():
            try:
                await self.attempt(delivery_id)
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning("delivery.attempt_error", delivery=delivery_id, error=type(exc).__name__)
            finally:
                self._inflight.discard(delivery_id)

        self._keep(asyncio.create_task(one()))
