"""Projections fed by events: the live runner (the contract: projection.py; replays: rebuild.py; swaps: swap.py).

- The live runner is a Kafka consumer group; offsets are committed only after the read model is written.
- ``rebuild`` replays the event store into a fresh collection and swaps it in; live runners pause
  for the swap, and the replay catches up with anything they applied meanwhile, so rebuilt == live.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from . import bus
from .aio import sleep_or_stop
from .batch_apply import apply_batch
from .envelope import EventEnvelope, EventRegistry, UnknownEventType, utcnow
from .logging import correlation, get_logger
from .metrics import CONSUMER_LAG, PROJECTION_APPLIED
from .positions import Watermarks
from .projection import Projection, apply_event, on, strip_meta
from .stream_order import ForgetOnRebalance, StreamOrder
from .supervisor import Backoff, Health
from .swap import CONTROL, RUNNERS, _aware, restore_interrupted_swap

__all__ = ["Projection", "ProjectionRunner", "StreamOrder", "apply_event", "on", "strip_meta"]

log = get_logger("projector")

POSITIONS = "projection_positions"  # per consumer group: the relay watermarks applied, per partition
PARKED_EVENTS = "projection_parked"  # events a projection could never apply, for an operator
# an event whose data does not fit the contract: applying it again would fail again
POISON = (ValidationError, UnknownEventType, LookupError, TypeError, ValueError)


class ProjectionRunner:
    """Consumer-group runner applying events from Kafka to one or more projections."""

    def __init__(
        self,
        *,
        db: AsyncDatabase[Any],
        projections: Iterable[Projection],
        topics: list[str],
        bootstrap: str,
        group_id: str,
        registry: EventRegistry | None = None,
        batch_size: int = 500,
        source_service: str | None = None,
        health: Health | None = None,
    ):
        self.db = db
        self.projections = list(projections)
        self.topics = topics
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.registry = registry
        self.batch_size = batch_size
        self.runner_id = f"{group_id}:{uuid.uuid4().hex[:8]}"
        self.applied = 0
        self._names = [p.name for p in self.projections]
        self._last_heartbeat = 0.0
        self._paused = False
        self._order = StreamOrder()
        self._lag = 0
        self.parked = 0
        # what this runner has applied of the source service's commits (read-your-writes waits on it)
        self.watermarks = Watermarks(source_service or "")
        self.health = health or Health(f"projector:{group_id}")

    async def load_watermarks(self) -> None:
        doc = await self.db[POSITIONS].find_one({"_id": self.group_id})
        if doc:
            self.watermarks.load(doc.get("partitions", 0), {int(p): m for p, m in doc.get("marks", {}).items()})

    async def _save_watermarks(self, marks: dict[int, tuple[int, int]]) -> None:
        self.watermarks.advance(marks)
        await self.db[POSITIONS].update_one(
            {"_id": self.group_id},
            {"$set": {"partitions": self.watermarks.partitions,
                      **{f"marks.{p}": m for p, m in self.watermarks.by_partition.items()}}},
            upsert=True)

    async def ensure_indexes(self) -> None:
        """Indexes of the read models, after undoing a swap a rebuild left unfinished. Nothing while a rebuild
        holds them paused (it may be between its renames): run() calls this again when the pause is over."""
        if await self._pause_requested():
            return
        for projection in self.projections:
            await restore_interrupted_swap(self.db, projection.name)
            await projection.ensure_indexes(self.db[projection.name])

    def _in_order(self, envelope: EventEnvelope) -> bool:
        return self._order.accept(envelope)

    async def handle(self, envelope: EventEnvelope) -> None:
        if not self._in_order(envelope):
            return
        for projection in self.projections:
            await self._apply_one(projection, envelope)

    async def _apply_one(self, projection: Projection, envelope: EventEnvelope) -> None:
        with correlation(envelope.correlationid, event_id=envelope.id, event_type=envelope.event_name):
            try:
                outcome = await apply_event(self.db[projection.name], projection, envelope)
            except POISON as exc:
                # this event can never be applied (its data does not fit the contract): parked, and the
                # flow goes on; /readyz shows it until an operator has looked
                outcome = "parked"
                await self._park(projection, envelope, exc)
            PROJECTION_APPLIED.labels(projection.name, outcome).inc()
            if outcome == "applied":
                self.applied += 1
                log.debug("projection.applied", projection=projection.name,
                          stream=envelope.streamid, version=envelope.streamversion)

    async def handle_batch(self, envelopes: list[EventEnvelope]) -> None:
        """A fetched batch: one bulk write per projection (batch_apply.py); a batch holding an event that cannot
        be applied goes event by event, so that only that event is parked."""
        accepted = [e for e in envelopes if self._in_order(e)]
        if not accepted:
            return
        for projection in self.projections:
            applied: list[EventEnvelope] = []
            try:
                outcomes = await apply_batch(self.db[projection.name], projection, accepted, applied=applied)
            except POISON:
                for envelope in accepted:
                    await self._apply_one(projection, envelope)
                continue
            for outcome, count in outcomes.items():
                PROJECTION_APPLIED.labels(projection.name, outcome).inc(count)
            self.applied += outcomes["applied"]
            for envelope in applied:  # each event's own correlation, as a request's log lines have it
                with correlation(envelope.correlationid, event_id=envelope.id, event_type=envelope.event_name):
                    log.debug("projection.applied", projection=projection.name, stream=envelope.streamid,
                              version=envelope.streamversion)

    async def _park(self, projection: Projection, envelope: EventEnvelope, exc: Exception) -> None:
        log.error("projection.parked", projection=projection.name, stream=envelope.streamid,
                  version=envelope.streamversion, error=f"{type(exc).__name__}: {exc}"[:300])
        await self.db[PARKED_EVENTS].replace_one(
            {"_id": f"{projection.name}:{envelope.id}"},
            {"projection": projection.name, "stream_id": envelope.streamid, "version": envelope.streamversion,
             "type": envelope.type, "error": f"{type(exc).__name__}: {exc}"[:1000], "event": envelope.to_json_dict(),
             "parked_at": utcnow()}, upsert=True)
        self.parked += 1

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Apply events until ``stop``; a database or broker error is retried with backoff, forever."""
        stop = stop or asyncio.Event()
        backoff = Backoff()
        while not stop.is_set():
            consumer = None
            try:
                while await self._pause_requested() and not stop.is_set():  # a rebuild is swapping: touch nothing
                    self.health.ok()
                    await sleep_or_stop(stop, 0.2)
                await self.ensure_indexes()
                await self.load_watermarks()
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self.bootstrap,
                    group_id=self.group_id,
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    max_poll_records=self.batch_size,
                    isolation_level="read_committed",  # the relay publishes in transactions (relay.py)
                )
                consumer.subscribe(self.topics, listener=ForgetOnRebalance(self._order))
                await consumer.start()
                await self._heartbeat(paused=False, force=True)  # known to rebuilds before the first batch
                await self._consume(consumer, stop, backoff)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                # Restarting the consumer resumes from the last committed offsets: nothing skipped.
                self.health.failed(exc)
                log.warning("projector.error", group=self.group_id, error=f"{type(exc).__name__}: {exc}"[:300])
                await backoff.wait(stop)
            finally:
                await self._close(consumer)

    async def _close(self, consumer: AIOKafkaConsumer | None) -> None:
        """Cleanup never ends the runner: a database or broker that is down now is simply not told."""
        try:
            if consumer is not None:
                await consumer.stop()
            await self._heartbeat(paused=False, force=True, final=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.warning("projector.cleanup_failed", group=self.group_id, error=type(exc).__name__)

    async def _consume(self, consumer: AIOKafkaConsumer, stop: asyncio.Event, backoff: Backoff) -> None:
        while not stop.is_set():
            paused, swapping = await self._control()
            if paused:
                await self._heartbeat(paused=True)
                self.health.ok()
                await sleep_or_stop(stop, 0.1)
                continue
            if swapping or self._paused:
                # a pause is over (its lease may have run out on a rebuild that died), or a swap was left
                # unfinished: nothing is applied until the read model is whole again (an error: tried again;
                # another runner restoring it: waited for)
                await self.ensure_indexes()
                if (await self._control())[1]:
                    await sleep_or_stop(stop, 0.2)
                    continue
            batch = await consumer.getmany(timeout_ms=200, max_records=self.batch_size)
            marks: dict[int, tuple[int, int]] = {}
            envelopes: list[EventEnvelope] = []
            for tp, messages in batch.items():
                for message in messages:
                    mark = bus.watermark_of(message)
                    if mark is not None:
                        marks[tp.partition] = mark  # everything before it in this partition is applied
                    else:
                        envelopes.append(bus.decode(message.value))
            await self.handle_batch(envelopes)  # before the marks: they promise everything before them
            if marks:
                await self._save_watermarks(marks)
            if batch:
                await consumer.commit()  # only now: the read models hold everything fetched
            await self._record_lag(consumer)
            await self._heartbeat(paused=False)
            self.health.ok(lag=self._lag)
            backoff.reset()

    async def _control(self) -> tuple[bool, bool]:
        """(a rebuild holds these projections paused, a swap is marked under way). A pause is a lease: a
        rebuild that died cannot stop the projection for good."""
        now, paused, swapping = utcnow(), False, False
        async for doc in self.db[CONTROL].find({"_id": {"$in": self._names}}):
            paused |= bool(doc.get("paused")) and doc.get("until") is not None and _aware(doc["until"]) > now
            swapping |= bool(doc.get("swapping"))
        return paused, swapping

    async def _pause_requested(self) -> bool:
        return (await self._control())[0]

    async def _heartbeat(self, *, paused: bool, force: bool = False, final: bool = False) -> None:
        now = asyncio.get_running_loop().time()
        if not force and paused == self._paused and now - self._last_heartbeat < 1.0:
            return
        self._paused, self._last_heartbeat = paused, now
        await self.db[RUNNERS].replace_one(
            {"_id": self.runner_id},
            {"projections": self._names, "paused": paused, "seen_at": utcnow(), "stopped": final},
            upsert=True,
        )

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        total = 0
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            position = await consumer.position(tp)
            total += max(high - position, 0)
            CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(max(high - position, 0))
        self._lag = total



