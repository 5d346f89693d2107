"""Projections fed by events: the live runner, replay and rebuild (the contract is in projection.py).

- The live runner is a Kafka consumer group; offsets are committed only after the read model is written.
- ``rebuild`` replays the event store into a fresh collection and swaps it in; live runners pause
  for the swap, and the replay catches up with anything they applied meanwhile, so rebuilt == live.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import UTC, timedelta

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from tqdm import tqdm

from . import bus
from .aio import sleep_or_stop
from .envelope import EventEnvelope, EventRegistry, utcnow
from .eventstore import EventStore
from .logging import correlation, get_logger
from .metrics import CONSUMER_LAG, PROJECTION_APPLIED
from .positions import Watermarks
from .projection import Projection, apply_event, on, strip_meta

__all__ = ["Projection", "ProjectionRunner", "StreamOrder", "apply_event", "on", "rebuild", "rebuild_from_topic",
           "replay", "replay_topic", "strip_meta"]

log = get_logger("projector")

CONTROL = "projection_control"
PAUSE_LEASE = 300  # seconds a rebuild may hold live runners paused
LEASE_MARGIN = 10  # seconds of the lease a rebuild must still hold to start its swap
RETIRED = "__retired"  # the live copy, for the moment a rebuild swaps its copy in
RUNNER_ALIVE = 60  # seconds since its last heartbeat that a runner counts as running
RUNNERS = "projection_runners"
POSITIONS = "projection_positions"  # per consumer group: the relay watermarks applied, per partition


class StreamOrder:
    """Skips an event that arrives after a gap in its stream.

    A relay whose send failed halfway may have put v(n+1) on the topic before republishing v(n):
    applying v(n+1) then would make v(n) look like a duplicate. The republished run brings v(n+1)
    again, in order, so an early one is skipped.
    """

    LIMIT = 200_000  # streams remembered; the oldest is forgotten first

    def __init__(self):
        self._last_seen: dict[str, int] = {}

    def accept(self, envelope: EventEnvelope) -> bool:
        stream, version = envelope.streamid, envelope.streamversion
        last = self._last_seen.get(stream)
        if last is not None and version > last + 1:
            log.warning("projector.gap", stream=stream, version=version, last_seen=last)
            return False
        if last is None or version > last:
            self._last_seen.pop(stream, None)
            self._last_seen[stream] = version
            if len(self._last_seen) > self.LIMIT:
                self._last_seen.pop(next(iter(self._last_seen)))
        return True

    def forget(self) -> None:
        self._last_seen.clear()


class _ForgetOnRebalance(ConsumerRebalanceListener):
    """What this runner saw of a stream says nothing once its partition may have been served elsewhere:
    another runner may have applied later versions meanwhile, so the gap check starts afresh."""

    def __init__(self, order: StreamOrder):
        self._order = order

    async def on_partitions_revoked(self, revoked) -> None:
        self._order.forget()

    async def on_partitions_assigned(self, assigned) -> None:
        self._order.forget()


class ProjectionRunner:
    """Consumer-group runner applying events from Kafka to one or more projections."""

    def __init__(
        self,
        *,
        db: AsyncDatabase,
        projections: Iterable[Projection],
        topics: list[str],
        bootstrap: str,
        group_id: str,
        registry: EventRegistry | None = None,
        batch_size: int = 500,
        source_service: str | None = None,
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
        # what this runner has applied of the source service's commits (read-your-writes waits on it)
        self.watermarks = Watermarks(source_service or "")

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
        if self.registry is not None and self.registry.knows(envelope.type):
            envelope = self.registry.upcast(envelope)
        with correlation(envelope.correlationid, event_id=envelope.id, event_type=envelope.event_name):
            for projection in self.projections:
                outcome = await apply_event(self.db[projection.name], projection, envelope)
                PROJECTION_APPLIED.labels(projection.name, outcome).inc()
                if outcome == "applied":
                    self.applied += 1
                    log.debug("projection.applied", projection=projection.name,
                              stream=envelope.streamid, version=envelope.streamversion)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while await self._pause_requested() and not stop.is_set():  # a rebuild is swapping: touch nothing yet
            await sleep_or_stop(stop, 0.2)
        await self.ensure_indexes()
        await self.load_watermarks()
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self.batch_size,
            )
            consumer.subscribe(self.topics, listener=_ForgetOnRebalance(self._order))
            try:
                await consumer.start()
                await self._heartbeat(paused=False, force=True)  # known to rebuilds before the first batch
                await self._consume(consumer, stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Restarting the consumer resumes from the last committed offsets: nothing skipped.
                log.exception("projector.error", group=self.group_id)
                await sleep_or_stop(stop, 1.0)
            finally:
                await consumer.stop()
                await self._heartbeat(paused=False, force=True, final=True)

    async def _consume(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        while not stop.is_set():
            paused, swapping = await self._control()
            if paused:
                await self._heartbeat(paused=True)
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
            for tp, messages in batch.items():
                for message in messages:
                    mark = bus.watermark_of(message)
                    if mark is not None:
                        marks[tp.partition] = mark  # everything before it in this partition is applied
                    else:
                        await self.handle(bus.decode(message.value))
            if marks:
                await self._save_watermarks(marks)
            if batch:
                await consumer.commit()  # only now: the read models hold everything fetched
            await self._record_lag(consumer)
            await self._heartbeat(paused=False)

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
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            position = await consumer.position(tp)
            CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(max(high - position, 0))


async def replay(store: EventStore, collection: AsyncCollection, projection: Projection, *,
                 registry: EventRegistry | None = None, from_position: int = 1, bar: tqdm | None = None) -> int:
    """Apply every stored event from ``from_position`` on; returns the last position read."""
    last = from_position - 1
    async for commit in store.read_all(from_position):
        for envelope in commit.events:
            if registry is not None and registry.knows(envelope.type):
                envelope = registry.upcast(envelope)
            await apply_event(collection, projection, envelope)
        last = commit.position
        if bar is not None:
            bar.update(1)
    return last


async def rebuild(db: AsyncDatabase, store: EventStore, projection: Projection, *,
                  registry: EventRegistry | None = None, progress: bool = True,
                  pause_timeout: float = 30.0) -> int:
    """Drop a projection and replay it from the event store. Returns the last position read."""
    name = projection.name
    scratch = db[f"{name}__rebuild"]
    await scratch.drop()
    bar = tqdm(total=await store.head_position(), desc=f"rebuild {name}", unit="commit", disable=not progress)
    try:
        last = await replay(store, scratch, projection, registry=registry, bar=bar)

        async def catch_up() -> None:
            nonlocal last
            bar.total = await store.head_position()
            last = await replay(store, scratch, projection, registry=registry, from_position=last + 1, bar=bar)

        await _swap_in(db, projection, scratch, catch_up, pause_timeout)
    finally:
        bar.close()
    log.info("projection.rebuilt", projection=name, last_position=last)
    return last


async def replay_topic(bootstrap: str, topic: str, collection: AsyncCollection, projection: Projection, *,
                       start: dict[TopicPartition, int] | None = None, bar: tqdm | None = None,
                       order: StreamOrder | None = None) -> dict[TopicPartition, int]:
    """Apply a topic's events from ``start`` (default: the beginning) up to its current end; returns the end.

    For projections of another service's events, which this service's event store does not hold; the
    platform's event topics keep everything (retention.ms = -1), so a replay sees the whole history."""
    order = order or StreamOrder()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        # a group-less consumer learns partitions from a metadata fetch (topics() does not keep what it fetched)
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
        if not partitions:
            return {}
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        # explicit offsets: seek_to_beginning on a fresh group-less consumer can lose to its initial reset
        first = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, (start or {}).get(tp, first[tp]))
        if bar is not None:
            begun = {tp: await consumer.position(tp) for tp in partitions}
            bar.total = (bar.n or 0) + sum(end[tp] - begun[tp] for tp in partitions)
        remaining = {tp for tp in partitions if await consumer.position(tp) < end[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=500)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset >= end[tp] or bus.is_control(message):
                        continue
                    envelope = bus.decode(message.value)
                    if order.accept(envelope):
                        await apply_event(collection, projection, envelope)
                    if bar is not None:
                        bar.update(1)
            remaining = {tp for tp in remaining if await consumer.position(tp) < end[tp]}
        return end
    finally:
        await consumer.stop()


async def rebuild_from_topic(db: AsyncDatabase, bootstrap: str, topic: str, projection: Projection, *,
                             progress: bool = True, pause_timeout: float = 30.0) -> int:
    """Drop a projection of another service's events and replay it from that service's topic."""
    scratch = db[f"{projection.name}__rebuild"]
    await scratch.drop()
    bar = tqdm(total=0, desc=f"rebuild {projection.name}", unit="event", disable=not progress)
    order = StreamOrder()
    try:
        end = await replay_topic(bootstrap, topic, scratch, projection, bar=bar, order=order)

        async def catch_up() -> None:
            nonlocal end
            end = await replay_topic(bootstrap, topic, scratch, projection, start=end, bar=bar, order=order)

        await _swap_in(db, projection, scratch, catch_up, pause_timeout)
    finally:
        bar.close()
    log.info("projection.rebuilt", projection=projection.name, topic=topic, events=bar.n)
    return bar.n


async def _swap_in(db: AsyncDatabase, projection: Projection, scratch: AsyncCollection, catch_up,
                   pause_timeout: float) -> None:
    """Pause the live runners, catch the scratch copy up with what they applied, and swap it in."""
    name = projection.name
    await restore_interrupted_swap(db, name)  # an earlier rebuild's unfinished swap first: its copy is the live one
    requested_at = utcnow()
    await db[CONTROL].update_one(
        {"_id": name},
        {"$set": {"paused": True, "requested_at": requested_at,
                  "until": requested_at + timedelta(seconds=PAUSE_LEASE)}},
        upsert=True,
    )
    retired = db[f"{name}{RETIRED}"]
    try:
        await _wait_for_pause(db, name, requested_at, pause_timeout)
        await catch_up()
        # the runners stay paused only while the lease holds: run out, they went on writing the live copy,
        # which this copy does not have. Held, it is renewed for the swap.
        now = utcnow()
        held = await db[CONTROL].update_one(
            {"_id": name, "paused": True, "requested_at": requested_at,
             "until": {"$gt": now + timedelta(seconds=LEASE_MARGIN)}},
            {"$set": {"until": now + timedelta(seconds=PAUSE_LEASE)}})
        if held.matched_count != 1:
            raise TimeoutError(f"the pause of {name} ran out (or another rebuild took it) before the swap: "
                               "rebuild again")
        # never a moment without one whole copy kept: live -> retired, scratch -> live, then retired dropped
        # (FerretDB has no renameCollection dropTarget). The "swapping" mark says a swap is under way: one that
        # died before the mark was cleared is undone by restore_interrupted_swap, which every runner calls
        # before it applies anything.
        await retired.drop()
        await db[CONTROL].update_one({"_id": name}, {"$set": {"swapping": uuid.uuid4().hex}})
        try:
            if await _exists(db, name):
                await db[name].rename(retired.name)
            if await scratch.estimated_document_count() > 0:
                await scratch.rename(name)
            await projection.ensure_indexes(db[name])
        except BaseException:
            await restore_interrupted_swap(db, name)
            raise
        await db[CONTROL].update_one({"_id": name}, {"$set": {"swapping": False}})
        await retired.drop()
    finally:
        await db[CONTROL].update_one({"_id": name}, {"$set": {"paused": False}}, upsert=True)


def _aware(moment):
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _exists(db: AsyncDatabase, name: str) -> bool:
    return bool(await db.list_collection_names(filter={"name": name}))


async def restore_interrupted_swap(db: AsyncDatabase, name: str) -> bool:
    """Undo a swap that did not finish: the live copy, renamed aside, goes back (and whatever an interrupted
    rename or a runner's index creation left under the live name meanwhile goes). Of the runners that find the
    swap unfinished, one restores: the one whose insert of the swap's restore token succeeds."""
    control = await db[CONTROL].find_one({"_id": name}, projection={"swapping": 1})
    token = (control or {}).get("swapping")
    if not token:
        return False
    try:
        await db[CONTROL].insert_one({"_id": f"{name}:restore:{token}", "at": utcnow()})
    except DuplicateKeyError:
        return False  # another runner (or the rebuild itself) is restoring it
    restored = False
    if await _exists(db, f"{name}{RETIRED}"):
        await db[name].drop()
        await db[f"{name}{RETIRED}"].rename(name)
        restored = True
        log.warning("projection.swap_restored", projection=name)
    await db[CONTROL].update_one({"_id": name}, {"$set": {"swapping": False}})
    return restored


async def _wait_for_pause(db: AsyncDatabase, name: str, requested_at, limit_seconds: float) -> None:
    """Wait until every live runner of this projection has acknowledged the pause."""
    deadline = asyncio.get_running_loop().time() + limit_seconds
    while True:
        alive_since = utcnow() - timedelta(seconds=RUNNER_ALIVE)
        running = await db[RUNNERS].count_documents(
            {"projections": name, "stopped": False, "seen_at": {"$gte": alive_since},
             "$or": [{"paused": False}, {"seen_at": {"$lt": requested_at}}]}
        )
        if running == 0:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"live runners of {name} did not pause within {limit_seconds}s")
        await asyncio.sleep(0.1)
