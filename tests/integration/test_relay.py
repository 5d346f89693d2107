"""Outbox relay on the real broker: nothing lost, stream order kept, even when killed halfway."""

import asyncio
import os
import signal
import subprocess
import sys

from nrmm_kernel.bus import ensure_topics, make_producer
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.outbox import Outbox
from nrmm_kernel.relay import OutboxRelay
from tests.conftest import ROOT
from tests.kafka_helpers import first_seen_versions, read_topic
from tests.sample import MachineMoved, registry
from tests.waiting import async_wait_until

STREAMS, VERSIONS = 12, 10


async def fill(store: EventStore) -> int:
    """STREAMS streams of VERSIONS events, written interleaved, some commits holding two events."""
    for version in range(1, VERSIONS + 1, 2):
        for s in range(STREAMS):
            stream = f"machine-{s}"
            events = [registry.wrap(MachineMoved(site=f"site-{v}"), stream_id=stream, stream_version=v)
                      for v in (version, version + 1)]
            await store.append(stream, version - 1, events)
    return STREAMS * VERSIONS


def assert_complete_and_ordered(envelopes):
    per_stream = first_seen_versions(envelopes)
    assert sorted(per_stream) == sorted(f"machine-{s}" for s in range(STREAMS))
    for stream, versions in per_stream.items():
        assert versions == list(range(1, VERSIONS + 1)), stream


class StallingProducer:
    """The real producer, but the process 'dies' (hangs until killed) after ``stall_after`` sends."""

    def __init__(self, inner, stall_after: int):
        self.inner, self.stall_after, self.sent = inner, stall_after, 0
        self.stalled = asyncio.Event()  # set when it hangs: the moment to kill it

    async def send(self, *args, **kwargs):
        if self.sent >= self.stall_after:
            self.stalled.set()
            await asyncio.Event().wait()
        self.sent += 1
        return await self.inner.send(*args, **kwargs)


async def test_relay_publishes_every_event_keyed_by_stream_in_order(db, infra, topic_name):
    store = EventStore(db)
    await store.ensure_indexes()
    total = await fill(store)
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=3)
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(store, producer, topic_name, batch_size=25)
        sent = 0
        while (n := await relay.publish_batch()) > 0:
            sent += n
    finally:
        await producer.stop()
    assert sent == total
    assert await Outbox(store).backlog() == 0
    envelopes = await read_topic(infra.kafka_bootstrap, topic_name, at_least=total)
    assert len(envelopes) == total  # no duplicates without a crash
    assert_complete_and_ordered(envelopes)


async def test_relay_killed_mid_batch_republishes_and_never_skips(db, infra, topic_name):
    store = EventStore(db)
    await store.ensure_indexes()
    total = await fill(store)
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=3)

    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    stalling = StallingProducer(producer, stall_after=37)
    dying = OutboxRelay(store, stalling, topic_name, batch_size=50)
    task = asyncio.create_task(dying.run())
    await asyncio.wait_for(stalling.stalled.wait(), 30)
    task.cancel()  # killed halfway through its first batch
    await asyncio.gather(task, return_exceptions=True)
    await producer.stop()
    assert await Outbox(store).backlog() == len(await Outbox(store).unpublished(1000))  # the batch was not marked
    assert await Outbox(store).backlog() == STREAMS * VERSIONS // 2

    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(store, producer, topic_name, batch_size=50)
        while await relay.publish_batch():
            pass
    finally:
        await producer.stop()
    assert await Outbox(store).backlog() == 0
    envelopes = await read_topic(infra.kafka_bootstrap, topic_name, at_least=total + 37)
    assert len(envelopes) == total + 37  # the 37 sent before the crash come again: duplicates, not gaps
    assert_complete_and_ordered(envelopes)


async def test_relay_process_killed_with_sigkill_and_restarted_loses_nothing(db, infra, topic_name):
    store = EventStore(db)
    await store.ensure_indexes()
    total = await fill(store)
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=3)
    command = [sys.executable, "-m", "tests.integration.relay_process",
               infra.mongodb_url, db.name, infra.kafka_bootstrap, topic_name]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    first = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        # wait until it has published part of the backlog, then kill it without warning
        async def partly_published() -> bool:
            return await Outbox(store).backlog() < total // 2 - 5

        await async_wait_until(partly_published, timeout=12, what="the first relay publishing part of the backlog")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert 0 < await Outbox(store).backlog() < total // 2

    second = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        async def all_published() -> bool:
            return await Outbox(store).backlog() == 0

        await async_wait_until(all_published, timeout=30, what="the restarted relay publishing the backlog")
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()
    assert await Outbox(store).backlog() == 0
    envelopes = await read_topic(infra.kafka_bootstrap, topic_name, at_least=total)
    assert len(envelopes) >= total
    assert_complete_and_ordered(envelopes)


async def test_a_store_from_before_the_watermark_is_published_from_its_first_pending_commit(db, infra, topic_name):
    """A store written when every commit was marked ``pending`` until published (and had no pages): the relay starts
    where the marks start, publishes what they mark, once, and removes the marks."""
    store = EventStore(db)
    await store.ensure_indexes()
    total = await fill(store)
    published_before = 40  # commits 1..40 were published by the older relay: their marks were removed
    await store.collection.update_many({}, {"$unset": {"page": ""}})
    await store.collection.update_many({"_id": {"$gt": published_before}}, {"$set": {"outbox": "pending"}})
    assert await Outbox(store).backlog() == total // 2 - published_before
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=3)
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(store, producer, topic_name, batch_size=7)
        while await relay.publish_batch():
            pass
    finally:
        await producer.stop()
    assert await Outbox(store).backlog() == 0
    assert await store.collection.count_documents({"outbox": "pending"}) == 0
    unpublished_events = (total // 2 - published_before) * 2
    envelopes = await read_topic(infra.kafka_bootstrap, topic_name, at_least=unpublished_events)
    assert len(envelopes) == unpublished_events  # the older relay's commits are not sent again
    # positions 1..36 are versions 1-6 of every stream, 37..40 versions 7-8 of streams 0-3
    expected = {f"machine-{s}": [9, 10] if s < 4 else [7, 8, 9, 10] for s in range(STREAMS)}
    assert first_seen_versions(envelopes) == expected


async def test_new_commits_carry_no_mark_and_the_watermark_follows_the_batches(db, infra, topic_name):
    store = EventStore(db)
    await store.ensure_indexes()
    total = await fill(store)
    assert await store.collection.count_documents({"outbox": {"$exists": True}}) == 0
    assert await Outbox(store).through() == 0
    await ensure_topics(infra.kafka_bootstrap, [topic_name], partitions=3)
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(store, producer, topic_name, batch_size=25)
        assert await relay.publish_batch() == 50  # 25 commits of two events
        assert await Outbox(store).through() == 25
        assert await Outbox(store).backlog() == total // 2 - 25
    finally:
        await producer.stop()
