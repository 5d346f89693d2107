"""A batch of events as one bulk write per read model, on the real database: the same documents as applying the
events one by one, duplicates and replays changing nothing, another writer's change never lost."""

import random

import pytest

from nrmm_kernel.batch_apply import DocumentCache, apply_batch
from nrmm_kernel.projection import apply_event, strip_meta
from tests.sample import MachineMoved, MachineRegistered, MachineRetired, MachineView, SiteRoster, registry


def history(machines: int, moves: int, seed: int = 7) -> list:
    """Each machine's stream in order, the streams interleaved at random (as partitions interleave them)."""
    rng = random.Random(seed)
    streams = []
    for m in range(machines):
        events = [MachineRegistered(code=f"4-N01{m:05d}", category="crane")]
        events += [MachineMoved(site=f"S-{rng.randrange(4)}") for _ in range(moves)]
        if m % 3 == 0:
            events.append(MachineRetired(reason="scrapped"))
        streams.append([registry.wrap(e, stream_id=f"machine-{m}", stream_version=v)
                        for v, e in enumerate(events, start=1)])
    merged = []
    while streams:
        stream = rng.choice(streams)
        merged.append(stream.pop(0))
        if not stream:
            streams.remove(stream)
    return merged


async def snapshot(collection) -> dict:
    return {d["_id"]: strip_meta(d) async for d in collection.find({})}


@pytest.mark.parametrize("projection", [MachineView(), SiteRoster()], ids=["per-stream", "fed-by-many-streams"])
async def test_batches_with_duplicates_equal_one_event_at_a_time(db, projection):
    events = history(machines=12, moves=5)
    # a redelivery: the first 20 events come again after the first 40, in the middle of a batch
    delivered = events[:40] + events[:20] + events[40:]
    one_by_one, batched = db["one_by_one"], db["batched"]
    for envelope in delivered:
        await apply_event(one_by_one, projection, envelope)
    totals = {"applied": 0, "duplicate": 0}
    for start in range(0, len(delivered), 17):
        outcomes = await apply_batch(batched, projection, delivered[start:start + 17])
        totals["applied"] += outcomes["applied"]
        totals["duplicate"] += outcomes["duplicate"]

    assert await snapshot(batched) == await snapshot(one_by_one)
    handled = [e for e in events if projection.handles(e)]
    assert totals["applied"] == len(handled)
    assert totals["duplicate"] == len([e for e in delivered[40:60] if projection.handles(e)])


async def test_a_batch_seen_again_writes_nothing(db):
    view = MachineView()
    events = history(machines=5, moves=3)
    await apply_batch(db[view.name], view, events)
    before = {d["_id"]: d async for d in db[view.name].find({})}

    outcomes = await apply_batch(db[view.name], view, events)

    assert outcomes["applied"] == 0 and outcomes["duplicate"] == len(events)
    assert {d["_id"]: d async for d in db[view.name].find({})} == before  # not even a _rev moved


async def test_a_document_another_writer_changed_meanwhile_keeps_both_changes(db):
    view = MachineView()
    first = history(machines=1, moves=4)
    cache = DocumentCache()
    await apply_batch(db[view.name], view, first[:2], cache=cache)  # registered, one move
    # another writer (a second runner after a rebalance) applies the next move; this cache does not know it
    await apply_event(db[view.name], view, first[2])

    outcomes = await apply_batch(db[view.name], view, first[2:], cache=cache)

    doc = await db[view.name].find_one({"_id": "machine-0"})
    assert doc["moves"] == 4 - 1 + 1 and doc["_v"]["machine-0"] == len(first)  # every move counted once
    assert outcomes["applied"] == len(first) - 3 and outcomes["duplicate"] == 1


async def test_an_event_that_cannot_be_folded_writes_nothing_of_its_batch(db):
    view = MachineView()
    good = registry.wrap(MachineRegistered(code="4-N0100001", category="crane"), stream_id="machine-1",
                         stream_version=1)
    bad = registry.wrap(MachineMoved(site="S-1"), stream_id="machine-2", stream_version=1)
    bad = bad.model_copy(update={"data": {"site": None}})  # does not fit the contract

    with pytest.raises(ValueError):
        await apply_batch(db[view.name], view, [good, bad])

    assert await db[view.name].count_documents({}) == 0  # the caller goes event by event and parks the bad one
