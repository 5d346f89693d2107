"""Projector instances sharing a consumer group while partitions keep moving: runners join and leave (each a
rebalance) while a transactional relay publishes a stream of commits. Every event is applied exactly once and in
stream order (the Ledger lists each apply), and the read model equals a replay of the store."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from nrmm_kernel.batch_apply import DocumentCache
from nrmm_kernel.bus import ensure_topics, make_producer
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.projector import ProjectionRunner
from nrmm_kernel.rebuild import replay
from nrmm_kernel.relay import OutboxRelay
from tests.instances.ledger import Ledger, envelopes, faults
from tests.waiting import async_wait_until

pytestmark = pytest.mark.integration
STREAMS, VERSIONS, CHURN = 30, 12, 6


async def _docs(collection) -> dict:
    return {d["_id"]: {k: v for k, v in d.items() if k != "_rev"} async for d in collection.find({})}


async def test_rebalances_under_load_apply_each_event_once_and_in_order(db, infra, topic_name):
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=6)
    store = EventStore(db)
    await store.ensure_indexes()
    producer = make_producer(infra.kafka_bootstrap, transactional_id=f"{topic_name}.relay")
    await producer.start()
    relay = OutboxRelay(store, producer, topic_name, batch_size=20, poll_seconds=0.05, transactional=True)
    group = f"g-{uuid.uuid4().hex[:8]}"

    def runner() -> ProjectionRunner:
        return ProjectionRunner(db=db, projections=[Ledger()], topics=[topic_name], bootstrap=infra.kafka_bootstrap,
                                group_id=group, batch_size=10)

    stop = asyncio.Event()
    steady = [runner(), runner()]
    tasks = [asyncio.create_task(relay.run(stop))] + [asyncio.create_task(r.run(stop)) for r in steady]

    async def write() -> None:  # the load: every stream's versions, one commit at a time, round after round
        for v in range(1, VERSIONS + 1):
            for s in range(STREAMS):
                await store.append(f"machine-{s}", v - 1, envelopes(f"machine-{s}", range(v, v + 1)))

    writer = asyncio.create_task(write())
    try:
        # churn: a third instance joins, applies something, leaves; each join and leave moves partitions
        for _ in range(CHURN):
            extra, extra_stop = runner(), asyncio.Event()
            task = asyncio.create_task(extra.run(extra_stop))
            before = sum(r.applied for r in steady)
            await async_wait_until(lambda e=extra, b=before: e.applied > 0 or sum(r.applied for r in steady) > b
                                   or writer.done(), timeout=120, what="progress with a third instance in the group")
            extra_stop.set()
            await asyncio.wait_for(task, 60)
        await asyncio.wait_for(writer, 300)
        collection = db[Ledger.name]

        last: list = [None]

        async def done() -> bool:
            last[0] = faults(await _docs(collection), {f"machine-{s}": VERSIONS for s in range(STREAMS)})
            return last[0] == []

        await async_wait_until(done, timeout=180, what="every event applied once, in order",
                               describe=lambda _: str(last[0][:5]))
        scratch = db["ledger__replay"]
        await replay(store, scratch, Ledger(), cache=DocumentCache())
        assert await _docs(scratch) == await _docs(collection)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not writer.done():
            writer.cancel()
        await producer.stop()
