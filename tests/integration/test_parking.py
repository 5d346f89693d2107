"""Nothing stops the flow: a commit the broker refuses for good is parked, its stream's later commits wait behind
it, every other stream flows; re-driven, the stream goes out in order. An event a projection can never apply is
parked and the projection goes on. Real broker and database."""

from __future__ import annotations

import asyncio

import pytest

from nrmm_kernel.bus import ensure_topics, make_producer
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.eventstore import CommitTooLarge, EventStore
from nrmm_kernel.outbox import Outbox
from nrmm_kernel.projector import ProjectionRunner
from nrmm_kernel.relay import OutboxRelay
from tests.kafka_helpers import first_seen_versions, read_topic
from tests.sample import MachineMoved, MachineView, registry
from tests.waiting import async_wait_until

pytestmark = pytest.mark.integration


def moved(stream: str, version: int, site: str) -> EventEnvelope:
    return registry.wrap(MachineMoved(site=site), stream_id=stream, stream_version=version)


async def drain(relay: OutboxRelay) -> int:
    sent = 0
    while (n := await relay.publish_batch()) > 0:
        sent += n
    return sent


async def test_an_oversized_commit_is_refused_before_it_is_written(db):
    store = EventStore(db, max_commit_bytes=4096)
    with pytest.raises(CommitTooLarge) as refused:
        await store.append("machine-big", 0, [moved("machine-big", 1, "x" * 5000)])
    assert refused.value.status == 413 and refused.value.code == "commit_too_large"
    assert await store.stream_version("machine-big") == 0


async def test_a_commit_the_broker_refuses_is_parked_and_only_its_stream_waits(db, infra, topic_name):
    store = EventStore(db, max_commit_bytes=None)  # forced past the store's own limit, as an older version could
    await store.ensure_indexes()
    await store.append("machine-a", 0, [moved("machine-a", 1, "A1")])
    await store.append("machine-poison", 0, [moved("machine-poison", 1, "P1")])
    await store.append("machine-poison", 1, [moved("machine-poison", 2, "x" * 30_000)])  # too large for 20 KB
    await store.append("machine-poison", 2, [moved("machine-poison", 3, "P3")])
    await store.append("machine-b", 0, [moved("machine-b", 1, "B1")])
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=3)
    small = make_producer(infra.kafka_bootstrap, max_request_size=20_000)  # a broker that takes 20 KB at most
    await small.start()
    try:
        relay = OutboxRelay(store, small, topic_name)
        assert await drain(relay) == 3  # A1, P1, B1
        await store.append("machine-b", 1, [moved("machine-b", 2, "B2")])
        await store.append("machine-poison", 3, [moved("machine-poison", 4, "P4")])  # behind the parked one
        assert await drain(relay) == 1  # B2 flows; P4 waits
        assert relay.parked_count == 1
    finally:
        await small.stop()
    outbox = Outbox(store)
    [letter] = await outbox.parked()
    assert letter["stream_id"] == "machine-poison" and letter["version"] == 2
    assert "MessageSizeTooLarge" in letter["reason"] and letter["bytes"] > 30_000
    assert await Outbox(store).backlog() == 0  # nothing pending: parked and held, not retried forever

    big = make_producer(infra.kafka_bootstrap, max_request_size=1_000_000)  # the operator raised the limit
    await big.start()
    try:
        assert await outbox.redrive(letter["_id"]) == 3
        relay = OutboxRelay(store, big, topic_name)
        assert await drain(relay) == 3
        assert relay.parked_count == 0 and await outbox.parked() == []
    finally:
        await big.stop()
    envelopes = await read_topic(infra.kafka_bootstrap, topic_name, at_least=8)
    versions = first_seen_versions(envelopes)
    assert versions == {"machine-a": [1], "machine-b": [1, 2], "machine-poison": [1, 2, 3, 4]}


async def test_an_event_a_projection_cannot_apply_is_parked_and_the_rest_applied(db, infra, topic_name):
    store = EventStore(db)
    await store.ensure_indexes()
    await store.append("machine-1", 0, [moved("machine-1", 1, "S1")])
    broken = moved("machine-2", 1, "S2").model_copy(update={"data": {"site": 42, "unexpected": True}})
    await store.append("machine-2", 0, [broken])
    await store.append("machine-3", 0, [moved("machine-3", 1, "S3")])
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=3)
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        await drain(OutboxRelay(store, producer, topic_name))
    finally:
        await producer.stop()
    view = MachineView()
    runner = ProjectionRunner(db=db, projections=[view], topics=[topic_name], bootstrap=infra.kafka_bootstrap,
                              group_id=f"g-{topic_name}")
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        async def applied_and_parked() -> bool:
            return await db[view.name].count_documents({}) == 2 and runner.parked == 1

        await async_wait_until(applied_and_parked, timeout=15, what="two events applied and one parked")
    finally:
        stop.set()
        await task
    assert sorted(d["_id"] for d in await db[view.name].find().to_list(10)) == ["machine-1", "machine-3"]
    [parked] = await db["projection_parked"].find().to_list(10)
    assert parked["stream_id"] == "machine-2" and "ValidationError" in parked["error"]
    assert runner.health.last_error is None  # parked, not failing
