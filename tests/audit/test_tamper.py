"""Tamper tests on the real database (and the real broker for the checkpoint topic): whatever a database
administrator edits, deletes, reorders or recomputes, verify names the first broken link."""

import pytest

from nrmm_kernel.audit_verify import verify
from nrmm_kernel.bus import ensure_topics
from nrmm_kernel.chain import GENESIS, backfill, raw_commits, store_hash
from nrmm_kernel.checkpoints import CheckpointPublisher, read_checkpoints
from nrmm_kernel.eventstore import EventStore, commit_hash
from nrmm_kernel.memory_store import InMemoryEventStore
from tests.sample import MachineMoved, MachineRegistered, registry

pytestmark = pytest.mark.integration


def wrap(stream: str, version: int, event):
    return registry.wrap(event, stream_id=stream, stream_version=version)


async def fill(store) -> None:
    """Three machines, interleaved: positions 1..9."""
    for n in (1, 2, 3):
        await store.append(f"machine-{n}", 0, [wrap(f"machine-{n}", 1, MachineRegistered(code=f"4-N0{n}AAAAA",
                                                                                       category="crane"))])
    for version in (2, 3):
        for n in (1, 2, 3):
            await store.append(f"machine-{n}", version - 1, [wrap(f"machine-{n}", version,
                                                                  MachineMoved(site=f"S-{n}-{version}"))])


@pytest.fixture
async def store(db):
    store = EventStore(db)
    await store.ensure_indexes()
    await fill(store)
    return store


async def edit(store, position: int, site: str) -> dict:
    doc = await store.collection.find_one({"_id": position})
    doc["events"][0]["data"]["site"] = site
    await store.collection.replace_one({"_id": position}, doc)
    return doc


async def recompute_stream(store, stream_id: str) -> None:
    """What a careful editor does next: every later hash of the stream recomputed."""
    previous = GENESIS
    for doc in [d async for d in raw_commits(store.collection) if d["stream_id"] == stream_id]:
        new_hash = commit_hash(stream_id, doc["version"], doc["events"], previous)
        await store.collection.update_one({"_id": doc["_id"]}, {"$set": {"prev_hash": previous, "hash": new_hash}})
        previous = new_hash


async def recompute_store(store) -> None:
    previous = GENESIS
    async for doc in raw_commits(store.collection):
        new = store_hash(doc["_id"], doc["hash"], previous)
        await store.collection.update_one({"_id": doc["_id"]}, {"$set": {"store_prev_hash": previous,
                                                                          "store_hash": new}})
        previous = new


async def test_an_untouched_store_verifies(store):
    report = await verify(store)
    assert report.ok and report.commits == 9 and report.first_break is None


async def test_the_memory_store_keeps_the_same_chain():
    memory = InMemoryEventStore()
    await fill(memory)
    assert (await verify(memory)).ok


async def test_an_edited_commit_is_named(store):
    await edit(store, 5, "forged")  # machine-2's second commit
    first = (await verify(store)).first_break
    assert (first.position, first.kind, first.stream_id, first.version) == (5, "edited", "machine-2", 2)


async def test_an_edit_with_its_stream_chain_recomputed_breaks_the_store_chain(store):
    await edit(store, 5, "forged")
    await recompute_stream(store, "machine-2")
    report = await verify(store)
    assert (report.first_break.position, report.first_break.kind) == (5, "store_link")


async def test_a_deleted_last_commit_of_a_stream_is_named(store):
    await store.collection.delete_one({"_id": 7})  # machine-1's last commit; machine-2 and -3 wrote after it
    first = (await verify(store)).first_break
    assert (first.position, first.kind) == (7, "missing")


async def test_swapped_commits_break_both_chains(store):
    four, five = [await store.collection.find_one({"_id": p}) for p in (4, 5)]
    await store.collection.delete_many({"_id": {"$in": [4, 5]}})
    await store.collection.insert_many([{**four, "_id": 5}, {**five, "_id": 4}])
    first = (await verify(store)).first_break
    assert first.position == 4 and first.kind in ("store_link", "stream_link")


@pytest.fixture
async def checkpoints(infra, store, topic_name):
    topic = f"{topic_name}.checkpoints"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=1)
    return CheckpointPublisher(store, infra.kafka_bootstrap, service="sample", topic=topic, every_seconds=60)


async def test_a_checkpoint_is_published_and_recorded_once_per_change(infra, store, checkpoints):
    mark = await checkpoints.checkpoint()
    assert mark["position"] == 9
    assert await checkpoints.checkpoint() is None  # nothing new: its own commit is not checkpointed again
    assert await store.stream_version("checkpoint-sample") == 1
    assert await read_checkpoints(infra.kafka_bootstrap, checkpoints.topic, "sample") == {9: mark["store_hash"]}
    report = await verify(store)
    assert report.ok and report.checkpoints_checked == 1


async def test_an_edit_with_every_later_hash_recomputed_is_caught_by_the_checkpoint(infra, store, checkpoints):
    await store.append("machine-1", 3, [wrap("machine-1", 4, MachineMoved(site="before"))])  # 10
    first_mark = await checkpoints.checkpoint()  # checkpoint of 10, recorded at 11
    await store.append("machine-3", 3, [wrap("machine-3", 4, MachineMoved(site="between"))])  # 12
    second_mark = await checkpoints.checkpoint()  # checkpoint of 12, recorded at 13
    assert (first_mark["position"], second_mark["position"]) == (10, 12)
    await edit(store, 12, "forged")
    await recompute_stream(store, "machine-3")
    await recompute_store(store)
    report = await verify(store)
    first = report.first_break
    assert (first.position, first.kind, first.after_checkpoint) == (12, "checkpoint", 10)

    # the editor rewrites the recorded checkpoint too: the topic's copy, out of their reach, still disagrees
    recorded = await store.collection.find_one({"_id": 13})
    recorded["events"][0]["data"]["store_hash"] = (await store.collection.find_one({"_id": 12}))["store_hash"]
    await store.collection.replace_one({"_id": 13}, recorded)
    await recompute_stream(store, "checkpoint-sample")
    await recompute_store(store)
    assert (await verify(store)).ok is True  # the store alone now agrees with itself...
    topic = await read_checkpoints(infra.kafka_bootstrap, checkpoints.topic, "sample")
    first = (await verify(store, external_checkpoints=topic)).first_break
    assert (first.position, first.kind, first.after_checkpoint) == (12, "checkpoint", 10)  # ...not with the topic


async def test_deleting_the_newest_commits_is_caught_by_a_checkpoint(infra, store, checkpoints):
    await checkpoints.checkpoint()  # checkpoint of 9, recorded at 10
    await store.collection.delete_many({"_id": {"$in": [9, 10]}})
    topic = await read_checkpoints(infra.kafka_bootstrap, checkpoints.topic, "sample")  # names position 9
    first = (await verify(store, external_checkpoints=topic)).first_break
    assert (first.position, first.kind) == (9, "missing")


async def test_a_store_written_before_the_chain_gets_it_from_the_one_off_command(store):
    await store.collection.update_many({}, {"$unset": {"store_prev_hash": "", "store_hash": ""}})
    first = (await verify(store)).first_break
    assert (first.position, first.kind) == (1, "unchained")
    fresh = EventStore(store.collection.database)  # a new process: writes after an unchained commit stay unchained
    await fresh.append("machine-9", 0, [wrap("machine-9", 1, MachineRegistered(code="4-N09AAAAA", category="crane"))])
    assert await backfill(store.collection) == 10
    assert (await verify(store)).ok
    assert await backfill(store.collection) == 0  # once is enough
    await fresh.append("machine-9", 1, [wrap("machine-9", 2, MachineMoved(site="chained"))])
    assert (await verify(store)).ok and (await store.collection.find_one({"_id": 11}))["store_hash"]

