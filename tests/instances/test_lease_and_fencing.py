"""The relay's single publisher: the lease (one holder, taken over when it expires, by exactly one of racing
takers) and the fence (a new holder's transactional producer stops an old holder that still believes it holds)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiokafka.errors import KafkaError

from nrmm_kernel.bus import ensure_topics, make_producer
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.lease import Lease
from nrmm_kernel.relay import OutboxRelay
from tests.instances.checks import order_faults
from tests.instances.ledger import envelopes
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


async def test_one_holder_at_a_time_and_a_dead_holder_is_replaced(db):
    clock = Clock()
    a, b = (Lease(db, "relay", holder, ttl=10, clock=clock) for holder in ("a", "b"))
    assert await a.acquire() and a.held
    assert not await b.acquire()  # held by a
    clock.now += timedelta(seconds=5)
    assert await a.acquire()  # renewed
    clock.now += timedelta(seconds=9)
    assert not await b.acquire()  # the renewal counts
    clock.now += timedelta(seconds=11)  # a is gone: no renewal for longer than the lease
    assert not a.held
    assert await b.acquire() and b.term == 2
    assert not await a.acquire() and not a.held  # a comes back: it has lost the lease
    await b.release()
    assert await a.acquire() and a.term == 3  # released: taken at once


async def test_of_racing_takers_exactly_one_gets_the_lease(db):
    clock = Clock()
    takers = [Lease(db, "scheduler", f"i{n}", ttl=10, clock=clock) for n in range(8)]
    won = await asyncio.gather(*(t.acquire() for t in takers))
    assert sum(won) == 1


async def test_a_new_holder_fences_the_old_one_and_the_topic_keeps_stream_order(db, infra, topic_name):
    await ensure_topics(infra.kafka_bootstrap, [topic_name])
    store = EventStore(db)
    await store.ensure_indexes()
    for s in range(3):
        await store.append(f"machine-{s}", 0, envelopes(f"machine-{s}", range(1, 3)))
    old = make_producer(infra.kafka_bootstrap, transactional_id=f"{topic_name}.relay")
    await old.start()
    new = None
    try:
        paused = OutboxRelay(store, old, topic_name, transactional=True)
        assert await paused.publish_batch() == 6
        for s in range(3):
            await store.append(f"machine-{s}", 2, envelopes(f"machine-{s}", range(3, 5)))
        # the old holder is paused past its lease; another instance takes over with the same transactional id
        new = make_producer(infra.kafka_bootstrap, transactional_id=f"{topic_name}.relay")
        await new.start()
        holder = OutboxRelay(store, new, topic_name, transactional=True)
        assert await holder.publish_batch() == 6
        for s in range(3):
            await store.append(f"machine-{s}", 4, envelopes(f"machine-{s}", range(5, 6)))
        with pytest.raises(KafkaError):  # the old holder wakes up: fenced, it publishes nothing
            await paused.publish_batch()
        assert await holder.publish_batch() == 3
        stored = [e async for c in store.read_all(1) for e in c.events]
        on_topic = await read_topic(infra.kafka_bootstrap, topic_name, at_least=len(stored))
        assert order_faults(on_topic, stored) == []
        assert len(on_topic) == len(stored)  # nothing of the fenced attempt is read (read_committed)
    finally:
        await old.stop()
        if new is not None:
            await new.stop()
