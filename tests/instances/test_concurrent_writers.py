"""The read-model guard on the real database: writers racing on the same documents (two projector instances
while a partition moves between them: one holds an older batch, the other a newer one) never apply an event twice
or out of order. On FerretDB a conditional replace is not atomic; the write claims (revisions.py) make it so."""

from __future__ import annotations

import asyncio

import pytest

from nrmm_kernel.batch_apply import apply_batch
from nrmm_kernel.projection import apply_event
from tests.instances.ledger import Ledger, envelopes, faults

pytestmark = pytest.mark.integration
STREAMS, ROUNDS = 8, 12


async def _docs(db) -> dict:
    return {d["_id"]: d async for d in db[Ledger.name].find({})}


async def test_batches_racing_on_the_same_documents_apply_each_event_once_in_order(db):
    projection, collection = Ledger(), db[Ledger.name]
    streams = [f"machine-{i}" for i in range(STREAMS)]
    # round r: every stream gets versions up to 3r; the racing writers see overlapping, different runs of them
    for r in range(1, ROUNDS + 1):
        old = [e for s in streams for e in envelopes(s, range(1, 3 * r - 1))]  # the old owner's shorter batch
        new = [e for s in streams for e in envelopes(s, range(1, 3 * r + 1))]  # the new owner's longer one
        await asyncio.gather(apply_batch(collection, projection, old), apply_batch(collection, projection, new),
                             apply_batch(collection, projection, old))
    assert faults(await _docs(db), {s: 3 * ROUNDS for s in streams}) == []


async def test_single_events_racing_with_batches_apply_each_event_once_in_order(db):
    projection, collection = Ledger(), db[Ledger.name]
    streams = [f"machine-{i}" for i in range(STREAMS)]
    for r in range(1, ROUNDS + 1):
        batch = [e for s in streams for e in envelopes(s, range(1, 2 * r + 1))]
        singles = [e for s in streams for e in envelopes(s, range(2 * r - 1, 2 * r + 1))]

        async def one_by_one(events=singles) -> None:
            for envelope in events:
                await apply_event(collection, projection, envelope)

        await asyncio.gather(apply_batch(collection, projection, batch), one_by_one())
    assert faults(await _docs(db), {s: 2 * ROUNDS for s in streams}) == []


async def test_a_claim_left_by_a_dead_writer_is_finished_by_the_next(db, monkeypatch):
    """A writer that died between claiming revision r+1 and writing it: the next writer finishes its write (the
    claimed document) once the claim is old, then folds its own events on top."""
    from nrmm_kernel import revisions

    projection, collection = Ledger(), db[Ledger.name]
    await apply_batch(collection, projection, envelopes("machine-x", range(1, 3)))
    current = await collection.find_one({"_id": "machine-x"})
    claimed = {**current, "versions": [1, 2, 3], "_rev": current["_rev"] + 1,
               "_v": {"machine-x": 3}}
    assert await revisions.claim_revision(collection, claimed)  # ... and the writer died here
    monkeypatch.setattr(revisions, "HELP_AFTER", revisions.HELP_AFTER * 0)  # the claim counts as old at once
    await apply_batch(collection, projection, envelopes("machine-x", range(1, 5)))
    assert faults(await _docs(db), {"machine-x": 4}) == []
    assert await db[revisions.REVISIONS].count_documents({}) == 0
