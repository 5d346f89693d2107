"""Projector on the real broker and database: idempotent, restartable, rebuildable."""

import asyncio

import pytest

from nrmm_kernel import bus, swap
from nrmm_kernel.bus import ensure_topics, make_producer
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.outbox import Outbox
from nrmm_kernel.projector import ProjectionRunner, apply_event, strip_meta
from nrmm_kernel.rebuild import rebuild, rebuild_from_topic
from nrmm_kernel.relay import OutboxRelay
from tests.sample import MachineMoved, MachineRegistered, MachineRetired, MachineView, SiteRoster, registry
from tests.waiting import async_wait_until


async def write_history(store: EventStore, machines: int = 10, start: int = 0) -> None:
    for m in range(start, start + machines):
        stream = f"machine-{m}"
        version = await store.stream_version(stream)
        events = []
        if version == 0:
            events.append(MachineRegistered(code=f"4-N01{m:05d}", category="crane"))
        events += [MachineMoved(site=f"S-{(m + i) % 3}") for i in range(3)]
        if m % 4 == 0:
            events.append(MachineRetired(reason="scrapped"))
        envelopes = [registry.wrap(e, stream_id=stream, stream_version=version + i)
                     for i, e in enumerate(events, start=1)]
        await store.append(stream, version, envelopes)


async def expected_state(store: EventStore, projection) -> dict:
    """The oracle: fold every stored event in memory with the projection's own evolve."""
    docs: dict = {}
    async for commit in store.read_all():
        for envelope in commit.events:
            if projection.handles(envelope):
                key = projection.doc_id(envelope)
                docs[key] = projection.evolve(docs.get(key), envelope)
    return docs


async def snapshot(collection) -> dict:
    return {d["_id"]: strip_meta(d) async for d in collection.find({})}


async def publish_all(store, infra, topic):
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(store, producer, topic)
        while await relay.publish_batch():
            pass
    finally:
        await producer.stop()


async def run_until(runner: ProjectionRunner, condition, timeout: float = 30.0):
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        await async_wait_until(condition, timeout=timeout, what="the runner reaching the expected state")
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def runner_for(db, infra, topic, group):
    return ProjectionRunner(db=db, projections=[MachineView(), SiteRoster()], topics=[topic],
                            bootstrap=infra.kafka_bootstrap, group_id=group, registry=registry)


async def test_applying_an_event_twice_changes_nothing(db):
    view = MachineView()
    envelope = registry.wrap(MachineMoved(site="S-1"), stream_id="machine-1", stream_version=1)
    assert await apply_event(db[view.name], view, envelope) == "applied"
    before = await db[view.name].find_one({"_id": "machine-1"})
    assert await apply_event(db[view.name], view, envelope) == "duplicate"
    assert await db[view.name].find_one({"_id": "machine-1"}) == before
    assert before["moves"] == 1


async def test_projector_fed_duplicates_and_restarted_equals_a_fresh_rebuild(db, infra, topic_name):
    store = EventStore(db)
    await store.ensure_indexes()
    await ensure_topics(infra.kafka_bootstrap, [topic_name])
    await write_history(store)
    await publish_all(store, infra, topic_name)

    # duplicates on the topic: every event published a second time
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    async for commit in store.read_all():
        for envelope in commit.events:
            key, value, headers = bus.encode(envelope)
            await producer.send_and_wait(topic_name, value=value, key=key, headers=headers)
    await producer.stop()

    view, roster = MachineView(), SiteRoster()
    want_view, want_roster = await expected_state(store, view), await expected_state(store, roster)
    first = runner_for(db, infra, topic_name, "g1")
    await run_until(first, lambda: _equals(db, view, want_view))
    assert await snapshot(db[view.name]) == want_view

    # more history, and a restarted runner in the same group picks up where the first committed
    await write_history(store, machines=5, start=8)
    await publish_all(store, infra, topic_name)
    want_view, want_roster = await expected_state(store, view), await expected_state(store, roster)
    second = runner_for(db, infra, topic_name, "g1")
    await run_until(second, lambda: _equals(db, roster, want_roster))
    live_view, live_roster = await snapshot(db[view.name]), await snapshot(db[roster.name])
    assert live_view == want_view
    assert live_roster == want_roster
    # resumed from the committed offsets: only the new events were applied (20 to the view, 15 to the roster)
    assert second.applied == 35

    # rebuild == live
    await rebuild(db, store, view, registry=registry, progress=False)
    await rebuild(db, store, roster, registry=registry, progress=False)
    assert await snapshot(db[view.name]) == live_view
    assert await snapshot(db[roster.name]) == live_roster


async def test_rebuild_while_the_live_projector_runs_equals_the_event_history(db, infra, topic_name):
    store = EventStore(db)
    await store.ensure_indexes()
    await ensure_topics(infra.kafka_bootstrap, [topic_name])
    await write_history(store, machines=20)
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    relay = OutboxRelay(store, producer, topic_name, poll_seconds=0.05)
    stop = asyncio.Event()
    runner = runner_for(db, infra, topic_name, "live")
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(runner.run(stop))]
    try:
        view = MachineView()

        batches = [0]

        async def published() -> bool:
            return await Outbox(store).backlog() == 0

        async def keep_writing():  # a batch, then the next once the relay has published it: writes go on meanwhile
            for batch in range(6):
                await write_history(store, machines=4, start=20 + batch * 4)
                batches[0] += 1
                await async_wait_until(published, timeout=30, what=f"batch {batch} published")

        writer = asyncio.create_task(keep_writing())
        # the rebuild starts once writing has (the rest is written while it replays and swaps)
        await async_wait_until(lambda: batches[0] >= 1, timeout=30, what="the first batch written")
        await rebuild(db, store, view, registry=registry, progress=False)
        await writer
        want = await expected_state(store, view)
        await async_wait_until(lambda: _equals(db, view, want), timeout=30, what="the live view equal to history")
        assert await snapshot(db[view.name]) == want
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)
        await producer.stop()


async def _equals(db, projection, want) -> bool:
    return await snapshot(db[projection.name]) == want


async def test_a_projection_of_another_services_topic_is_rebuilt_from_that_topic(db, mongo, infra, topic_name):
    # the other service's event store lives in its own database; this one only sees its topic
    other_db = mongo[f"{db.name}_other"]
    try:
        store = EventStore(other_db)
        await store.ensure_indexes()
        await ensure_topics(infra.kafka_bootstrap, [topic_name])
        await write_history(store, machines=12)
        await publish_all(store, infra, topic_name)
        await publish_all(store, infra, topic_name)  # every event twice on the topic, as after a relay crash
        view = MachineView()
        want = await expected_state(store, view)
        live = ProjectionRunner(db=db, projections=[view], topics=[topic_name], bootstrap=infra.kafka_bootstrap,
                                group_id="foreign")
        await run_until(live, lambda: _equals(db, view, want))
        live_state = await snapshot(db[view.name])
        assert live_state == want

        await rebuild_from_topic(db, infra.kafka_bootstrap, topic_name, view, progress=False)
        assert await snapshot(db[view.name]) == live_state
    finally:
        await mongo.drop_database(other_db.name)


async def built_view(db, machines: int) -> tuple[MachineView, dict]:
    """A machine view built from a fresh history of ``machines``, and its state."""
    store = EventStore(db)
    await store.ensure_indexes()
    await write_history(store, machines=machines)
    view = MachineView()
    await rebuild(db, store, view, registry=registry, progress=False)
    return view, await snapshot(db[view.name])


async def test_a_rebuild_that_died_between_its_renames_leaves_the_live_copy_which_runners_put_back(db, infra):
    view, live_state = await built_view(db, machines=5)
    assert len(live_state) == 5
    assert not await db.list_collection_names(filter={"name": {"$regex": "__(retired|rebuild)$"}})
    runner = ProjectionRunner(db=db, projections=[view], topics=["unused"], bootstrap=infra.kafka_bootstrap,
                              group_id="restore")
    # a finished swap leaves nothing to undo, even for a read model that happens to be empty now
    await db[view.name].rename(f"{view.name}__retired")
    await runner.ensure_indexes()
    assert await snapshot(db[view.name]) == {}
    await db[view.name].drop()
    await db[f"{view.name}__retired"].rename(view.name)
    # the process died after marking the swap and renaming the live copy away; meanwhile something (a runner's
    # index creation) made an empty live collection
    await db["projection_control"].update_one({"_id": view.name}, {"$set": {"swapping": True}}, upsert=True)
    await db[view.name].rename(f"{view.name}__retired")
    await db[view.name].create_index("site")
    # every runner of the group finds the swap unfinished at once: one restores, none destroys the copy
    others = [ProjectionRunner(db=db, projections=[view], topics=["unused"], bootstrap=infra.kafka_bootstrap,
                               group_id="restore") for _ in range(3)]
    await asyncio.gather(runner.ensure_indexes(), *(other.ensure_indexes() for other in others))
    assert await snapshot(db[view.name]) == live_state
    assert not await db.list_collection_names(filter={"name": f"{view.name}__retired"})
    assert not (await db["projection_control"].find_one({"_id": view.name}))["swapping"]


async def test_a_rebuild_whose_pause_ran_out_does_not_swap_in_a_copy_that_misses_what_runners_wrote(
        db, monkeypatch):
    view, live_state = await built_view(db, machines=3)
    scratch = db[f"{view.name}__rebuild"]
    await scratch.insert_one({"_id": "a copy that lacks what runners wrote after the pause ran out"})
    monkeypatch.setattr(swap, "PAUSE_LEASE", 1)

    async def lease_ran_out() -> bool:
        control = await db["projection_control"].find_one({"_id": view.name})
        return control is not None and swap._aware(control["until"]) < utcnow()

    async def slow_catch_up() -> None:  # slower than the pause's lease: waits until the lease has run out
        await async_wait_until(lease_ran_out, timeout=10, what="the pause's lease running out")

    with pytest.raises(TimeoutError, match="ran out"):
        await swap.swap_in(db, view, scratch, slow_catch_up, pause_timeout=5)
    assert await snapshot(db[view.name]) == live_state
    control = await db["projection_control"].find_one({"_id": view.name})
    assert not control["paused"] and not control.get("swapping")
