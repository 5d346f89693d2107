"""The event store's contract: expected-version appends, commit order, the hash chain, commit size.

Every test runs against the real store on the database (marked ``integration``) and against the in-memory store
that command handlers are unit-tested with, so the double cannot drift from the real thing."""

import asyncio
import uuid

import pytest

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.errors import ConcurrencyError
from nrmm_kernel.eventstore import GENESIS_HASH, CommitTooLarge, EventStore, commit_hash
from nrmm_kernel.memory_store import InMemoryEventStore
from nrmm_kernel.runtime import mongo_client
from tests.sample import MachineMoved, MachineRegistered, SampleMachine, registry


def wrap(stream: str, version: int, event):
    return registry.wrap(event, stream_id=stream, stream_version=version)


@pytest.fixture(params=[pytest.param("database", marks=pytest.mark.integration), "memory"])
async def store(request):
    if request.param == "memory":  # asks for no infrastructure
        yield InMemoryEventStore(max_commit_bytes=4096)
        return
    client = mongo_client(request.getfixturevalue("infra").mongodb_url)
    name = f"t_{uuid.uuid4().hex[:12]}"
    store = EventStore(client[name], max_commit_bytes=4096)
    await store.ensure_indexes()
    yield store
    await client.drop_database(name)
    await client.close()


async def test_append_and_read_back_a_stream(store):
    await store.append("machine-1", 0, [wrap("machine-1", 1, MachineRegistered(code="4-N01AAAAA", category="crane"))])
    await store.append("machine-1", 1, [wrap("machine-1", 2, MachineMoved(site="S-1")),
                                        wrap("machine-1", 3, MachineMoved(site="S-2"))])
    events = await store.read_stream("machine-1")
    assert [e.streamversion for e in events] == [1, 2, 3]
    assert [e.data.get("site") for e in events] == [None, "S-1", "S-2"]
    assert await store.stream_version("machine-1") == 3
    assert [e.streamversion for e in await store.read_stream("machine-1", from_version=3)] == [3]
    assert await store.read_stream("machine-unknown") == []


async def test_a_stale_expected_version_is_refused_and_writes_nothing(store):
    await store.append("m", 0, [wrap("m", 1, MachineMoved(site="a")), wrap("m", 2, MachineMoved(site="b"))])
    for stale in (0, 1, 3):
        with pytest.raises(ConcurrencyError) as refused:
            await store.append("m", stale, [wrap("m", stale + 1, MachineMoved(site="x"))])
        assert refused.value.actual == 2
        assert refused.value.status == 409
    assert [e.data["site"] for e in await store.read_stream("m")] == ["a", "b"]


async def test_concurrent_appends_with_the_same_expected_version_exactly_one_wins(store):
    await store.append("m", 0, [wrap("m", 1, MachineMoved(site="start"))])

    async def attempt(i: int):
        try:
            await store.append("m", 1, [wrap("m", 2, MachineMoved(site=f"site-{i}"))])
            return f"site-{i}"
        except ConcurrencyError:
            return None

    results = await asyncio.gather(*(attempt(i) for i in range(16)))
    winners = [r for r in results if r]
    assert len(winners) == 1
    events = await store.read_stream("m")
    assert [e.data["site"] for e in events] == ["start", winners[0]]


async def test_concurrent_writers_on_many_streams_get_gapless_positions_in_commit_order(store):
    async def writer(stream: str):
        for version in range(1, 6):
            await store.append(stream, version - 1, [wrap(stream, version, MachineMoved(site=f"s{version}"))])

    await asyncio.gather(*(writer(f"m-{i}") for i in range(8)))
    commits = [c async for c in store.read_all()]
    assert [c.position for c in commits] == list(range(1, 41))
    # per stream, commit order is version order
    for i in range(8):
        versions = [c.version for c in commits if c.stream_id == f"m-{i}"]
        assert versions == [1, 2, 3, 4, 5]
    assert [c.position for c in [c async for c in store.read_all(from_position=38)]] == [38, 39, 40]


async def test_each_commit_hashes_its_content_and_links_to_the_previous_commit(store):
    await store.append("m", 0, [wrap("m", 1, MachineMoved(site="a"))])
    await store.append("m", 1, [wrap("m", 2, MachineMoved(site="b")), wrap("m", 3, MachineMoved(site="c"))])
    first, second = await store.read_commits("m")
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    for commit in (first, second):
        stored = [e.to_json_dict() for e in commit.events]
        assert commit.hash == commit_hash(commit.stream_id, commit.version, stored, commit.prev_hash)


async def test_repository_round_trip_with_expected_version(store):
    repo = AggregateRepository(store, registry, SampleMachine, "machine")
    machine = SampleMachine.register("42", "4-N11ABCDE", "excavator")
    machine.move("S-1")
    commit, envelopes = await repo.save(machine)
    assert commit.stream_id == "machine-42" and [e.streamversion for e in envelopes] == [1, 2]

    first, second = await repo.load("42"), await repo.load("42")
    first.move("S-2")
    second.move("S-3")
    await repo.save(first)
    with pytest.raises(ConcurrencyError):
        await repo.save(second)
    reloaded = await repo.load("42")
    assert reloaded.site == "S-2" and reloaded.version == 3
    assert await repo.load("nobody") is None


async def test_a_commit_too_large_for_the_broker_is_refused_before_it_is_written(store):
    with pytest.raises(CommitTooLarge) as refused:
        await store.append("m", 0, [wrap("m", 1, MachineMoved(site="x" * 5000))])
    assert refused.value.status == 413 and refused.value.code == "commit_too_large"
    assert await store.stream_version("m") == 0 and await store.head_position() == 0


async def test_events_out_of_sequence_are_a_programming_error_not_a_conflict(store):
    with pytest.raises(ValueError):
        await store.append("m", 0, [wrap("m", 2, MachineMoved(site="a"))])
    with pytest.raises(ValueError):
        await store.append("m", 0, [wrap("other", 1, MachineMoved(site="a"))])
    with pytest.raises(ValueError):
        await store.append("m", 0, [])
    assert await store.read_stream("m") == []


async def test_the_head_position_is_the_last_commit_and_the_appended_signal_is_set(store):
    assert await store.head_position() == 0
    store.appended.clear()
    commit = await store.append("m", 0, [wrap("m", 1, MachineMoved(site="a"))])
    assert commit.position == 1 and await store.head_position() == 1 and store.appended.is_set()


@pytest.mark.integration
async def test_the_head_is_found_from_a_saved_hint_by_probing_forward_and_without_one(db):
    from nrmm_kernel.eventstore import HEAD_HINT, EventStore

    writer = EventStore(db)
    await writer.ensure_indexes()
    assert await writer.head_position() == 0
    for version in range(1, 151):
        await writer.append("m-hint", version - 1, [wrap("m-hint", version, MachineMoved(site=f"s{version}"))])
    hint = await db[HEAD_HINT].find_one({})
    assert hint["position"] == 128  # saved every 64 commits
    restarted = EventStore(db)  # a new process: finds the head, then appends after it
    assert await restarted.head_position() == 150
    await db[HEAD_HINT].delete_many({})
    assert await restarted.head_position() == 150
    commit = await restarted.append("m-other", 0, [wrap("m-other", 1, MachineMoved(site="x"))])
    assert commit.position == 151


async def test_every_commit_links_to_the_store_commit_before_it(store):
    """The store chain (nrmm_kernel/chain.py): over every commit by position, whatever its stream."""
    from nrmm_kernel.chain import GENESIS, store_hash

    for n in range(3):
        await store.append(f"m-{n}", 0, [wrap(f"m-{n}", 1, MachineMoved(site="a"))])
    await store.append("m-0", 1, [wrap("m-0", 2, MachineMoved(site="b"))])
    commits = [c async for c in store.read_all()]
    previous = GENESIS
    for commit in commits:
        assert commit.store_prev_hash == previous
        assert commit.store_hash == store_hash(commit.position, commit.hash, previous)
        previous = commit.store_hash
