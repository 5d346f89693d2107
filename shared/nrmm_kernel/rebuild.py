"""Replays: a projection rebuilt from the service's event store, or (another service's events) from that
service's topic, into a scratch copy that is swapped in (swap.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from tqdm import tqdm

from . import bus
from .batch_apply import DocumentCache, apply_batch
from .envelope import EventEnvelope, EventRegistry
from .eventstore import EventStore
from .logging import get_logger
from .projection import Projection
from .stream_order import StreamOrder
from .swap import swap_in

log = get_logger("projector")

REPLAY_BATCH = 2000  # events per bulk write


async def replay(store: EventStore, collection: AsyncCollection[Any], projection: Projection, *,
                 registry: EventRegistry | None = None, from_position: int = 1, bar: tqdm | None = None,
                 cache: DocumentCache | None = None, batch: int = REPLAY_BATCH) -> int:
    """Apply every stored event from ``from_position`` on, a bulk write per ``batch`` events; returns the last
    position read."""
    last = from_position - 1
    pending: list[EventEnvelope] = []
    commits = 0
    writing: asyncio.Task[Any] | None = None  # the previous batch's write, while the next one is read

    async def write(envelopes: list[EventEnvelope], count: int) -> None:
        await apply_batch(collection, projection, envelopes, cache=cache, exclusive=cache is not None)
        if bar is not None:
            bar.update(count)

    try:
        async for commit in store.read_all(from_position):
            for envelope in commit.events:
                if registry is not None and registry.knows(envelope.type):
                    envelope = registry.upcast(envelope)
                pending.append(envelope)
            last, commits = commit.position, commits + 1
            if len(pending) >= batch:
                if writing is not None:
                    await writing  # one write in flight, in order: a batch folds onto what the one before wrote
                writing = asyncio.create_task(write(pending, commits))
                pending, commits = [], 0
        if writing is not None:
            await writing
        await write(pending, commits)
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
    return last


async def rebuild(db: AsyncDatabase[Any], store: EventStore, projection: Projection, *,
                  registry: EventRegistry | None = None, progress: bool = True,
                  pause_timeout: float = 30.0) -> int:
    """Drop a projection and replay it from the event store. Returns the last position read."""
    name = projection.name
    scratch = db[f"{name}__rebuild"]
    await scratch.drop()
    bar = tqdm(total=await store.head_position(), desc=f"rebuild {name}", unit="commit", disable=not progress)
    try:
        cache = DocumentCache()  # the scratch collection is this rebuild's alone: what it wrote is what is there
        last = await replay(store, scratch, projection, registry=registry, bar=bar, cache=cache)

        async def catch_up() -> None:
            nonlocal last
            bar.total = await store.head_position()
            last = await replay(store, scratch, projection, registry=registry, from_position=last + 1, bar=bar,
                                cache=cache)

        await swap_in(db, projection, scratch, catch_up, pause_timeout)
    finally:
        bar.close()
    log.info("projection.rebuilt", projection=name, last_position=last)
    return last


async def replay_topic(bootstrap: str, topic: str, collection: AsyncCollection[Any], projection: Projection, *,
                       start: dict[TopicPartition, int] | None = None, bar: tqdm | None = None,
                       order: StreamOrder | None = None, cache: DocumentCache | None = None
                       ) -> dict[TopicPartition, int]:
    """Apply a topic's events from ``start`` (default: the beginning) up to its current end; returns the end.

    For projections of another service's events, which this service's event store does not hold; the
    platform's event topics keep everything (retention.ms = -1), so a replay sees the whole history."""
    order = order or StreamOrder()
    partitions = [TopicPartition(topic, p) for p in await bus.topic_partitions(bootstrap, topic)]
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", isolation_level="read_committed")
    await consumer.start()
    try:
        consumer.assign(partitions)
        end: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        # explicit offsets: seek_to_beginning on a fresh group-less consumer can lose to its initial reset
        first = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, (start or {}).get(tp, first[tp]))
        if bar is not None:
            begun = {tp: await consumer.position(tp) for tp in partitions}
            bar.total = (bar.n or 0) + sum(end[tp] - begun[tp] for tp in partitions)
        remaining = {tp for tp in partitions if await consumer.position(tp) < end[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=REPLAY_BATCH)
            accepted: list[EventEnvelope] = []
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset >= end[tp] or bus.is_control(message):
                        continue
                    envelope = bus.decode(message.value)
                    if order.accept(envelope):
                        accepted.append(envelope)
            # per stream the order holds: a stream lives in one partition, read in offset order
            await apply_batch(collection, projection, accepted, cache=cache, exclusive=cache is not None)
            if bar is not None:
                bar.update(len(accepted))
            remaining = {tp for tp in remaining if await consumer.position(tp) < end[tp]}
        return dict(end)
    finally:
        await consumer.stop()


async def rebuild_from_topic(db: AsyncDatabase[Any], bootstrap: str, topic: str, projection: Projection, *,
                             progress: bool = True, pause_timeout: float = 30.0) -> int:
    """Drop a projection of another service's events and replay it from that service's topic."""
    scratch = db[f"{projection.name}__rebuild"]
    await scratch.drop()
    bar = tqdm(total=0, desc=f"rebuild {projection.name}", unit="event", disable=not progress)
    order = StreamOrder()
    cache = DocumentCache()
    try:
        end = await replay_topic(bootstrap, topic, scratch, projection, bar=bar, order=order, cache=cache)

        async def catch_up() -> None:
            nonlocal end
            end = await replay_topic(bootstrap, topic, scratch, projection, start=end, bar=bar, order=order,
                                     cache=cache)

        await swap_in(db, projection, scratch, catch_up, pause_timeout)
    finally:
        bar.close()
    log.info("projection.rebuilt", projection=projection.name, topic=topic, events=bar.n)
    return int(bar.n)


