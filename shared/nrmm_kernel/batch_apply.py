"""Applying a batch of events to a projection as one bulk write (city scale: one round trip per event does not).

Same result as ``apply_event`` on each envelope in turn (projection.py): each document is read once, every
event of the batch that concerns it is folded in memory in the batch's order (per stream, the topic's or the
store's order), and the changed documents are written in one unordered bulk write, each guarded by the
``_rev`` it was read at (an insert for a new document). Events at or below a document's ``_v`` for their stream
change nothing, so a batch seen twice (a redelivery, a replay) writes nothing the second time.

Several writers (projector instances sharing a consumer group while partitions move): each revision's write is
claimed first by a unique insert (revisions.py), since FerretDB's conditional replace is not atomic; a document
whose claim another writer won is left to the fallback below. A rebuild's scratch collection has one writer
(``exclusive``) and claims nothing.

If another writer changed or created one of the documents meanwhile, its guarded write misses: those documents
are applied again one event at a time by ``apply_event`` (idempotent, so the events that did land count as
duplicates). Nothing is written before every event of the batch has been folded, so an event that cannot be
folded (poison) raises before any write and the caller can apply the batch event by event and park it.

A ``DocumentCache`` spares the reads of documents this writer wrote itself: a rebuild into its private scratch
collection (no other writer) keeps one, bounded, across batches.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any

from pymongo import ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from .envelope import EventEnvelope
from .projection import Projection, apply_event, strip_meta, version_key
from .revisions import claim_revisions, release

Doc = dict[str, Any]
# Writes per bulk request. FerretDB 1.24 holds a PostgreSQL connection for every update of a bulk request until it
# is done (measured: a bulk of 100 updates took 100 connections), and deadlocks once its pool is full of them;
# small requests keep a few writers far below its pool (deploy/native.sh: pool_max_conns).
WRITE_CHUNK = 16
# Inserts are not held that way: an insert of many documents is one statement per document in one transaction,
# and new documents in pages of this size write about 4x faster than in requests of 16 (a rebuild is mostly these).
INSERT_CHUNK = 500


class DocumentCache:
    """The documents this writer last wrote, most recent last; the oldest are dropped beyond ``limit``."""

    def __init__(self, limit: int = 50_000):
        self.limit = limit
        self._docs: OrderedDict[str, Doc] = OrderedDict()

    def get(self, doc_id: str) -> Doc | None:
        doc = self._docs.get(doc_id)
        if doc is not None:
            self._docs.move_to_end(doc_id)
        return doc

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._docs

    def put(self, doc_id: str, doc: Doc) -> None:
        self._docs[doc_id] = doc
        self._docs.move_to_end(doc_id)
        while len(self._docs) > self.limit:
            self._docs.popitem(last=False)

    def drop(self, doc_id: str) -> None:
        self._docs.pop(doc_id, None)


async def _read(collection: AsyncCollection[Doc], ids: list[str], concurrency: int) -> dict[str, Doc | None]:
    # equality lookups, concurrently: FerretDB serves each from an index, but not an $in over many ids
    gate = asyncio.Semaphore(concurrency)

    async def one(doc_id: str) -> Doc | None:
        async with gate:
            found: Doc | None = await collection.find_one({"_id": doc_id})
            return found

    docs = await asyncio.gather(*(one(i) for i in ids))
    return dict(zip(ids, docs, strict=True))


async def apply_batch(collection: AsyncCollection[Doc], projection: Projection, envelopes: Sequence[EventEnvelope], *,
                      cache: DocumentCache | None = None, concurrency: int = 16,
                      applied: list[EventEnvelope] | None = None, exclusive: bool = False) -> Counter[str]:
    """Apply ``envelopes`` in order; returns how many were 'applied', 'duplicate' or 'ignored', and adds the
    applied ones to ``applied`` if given. ``exclusive``: this writer is the collection's only one."""
    done: list[EventEnvelope] = []
    outcomes: Counter[str] = Counter()
    handled: list[tuple[str, EventEnvelope]] = []
    for envelope in envelopes:
        if projection.handles(envelope):
            handled.append((projection.doc_id(envelope), envelope))
        else:
            outcomes["ignored"] += 1
    if not handled:
        return outcomes
    ids = list(dict.fromkeys(doc_id for doc_id, _ in handled))
    known = {i: cache.get(i) for i in ids if cache is not None and i in cache}
    read = await _read(collection, [i for i in ids if i not in known], concurrency)
    original: dict[str, Doc | None] = {**read, **known}
    current = dict(original)
    for doc_id, envelope in handled:  # fold in memory, in order; nothing is written yet
        doc = current[doc_id]
        key = version_key(envelope.streamid)
        if (doc or {}).get("_v", {}).get(key, 0) >= envelope.streamversion:
            outcomes["duplicate"] += 1
            continue
        new = dict(projection.evolve(strip_meta(doc), envelope))
        new["_id"] = doc_id
        new["_v"] = {**(doc or {}).get("_v", {}), key: envelope.streamversion}
        current[doc_id] = new
        outcomes["applied"] += 1
        done.append(envelope)
    changed = [i for i in ids if current[i] is not original[i]]
    ops: list[ReplaceOne[Any]] = []
    replaced: list[Doc] = []
    for doc_id in changed:
        before, after = original[doc_id], current[doc_id]
        assert after is not None
        after["_rev"] = 1 if before is None else before["_rev"] + 1
        if before is not None:
            replaced.append(after)
    # an insert is its own claim (unique _id); a replace claims its revision first
    won = {d["_id"] for d in replaced} if exclusive else await claim_revisions(collection, replaced)
    missed = len(replaced) - len(won)
    inserts: list[Doc] = []
    for doc_id in changed:
        before, after = original[doc_id], current[doc_id]
        assert after is not None
        if before is None:
            inserts.append(after)
        elif doc_id in won:
            ops.append(ReplaceOne({"_id": doc_id, "_rev": before["_rev"]}, after))
    if not ops and not inserts and not missed:
        return outcomes
    for start in range(0, len(inserts), INSERT_CHUNK):
        chunk_of_new = inserts[start:start + INSERT_CHUNK]
        try:
            await collection.insert_many(chunk_of_new, ordered=False)
        except BulkWriteError as exc:  # an insert lost to a document created meanwhile
            missed += len(exc.details.get("writeErrors", [])) or len(chunk_of_new)
    for start in range(0, len(ops), WRITE_CHUNK):
        chunk = ops[start:start + WRITE_CHUNK]
        try:
            result = await collection.bulk_write(chunk, ordered=False)
            missed += len(chunk) - result.matched_count
        except BulkWriteError as exc:  # an insert lost to a document created meanwhile
            missed += len(exc.details.get("writeErrors", [])) or len(chunk)
    if not exclusive:
        await release(collection, [d for d in replaced if d["_id"] in won])
    if missed:
        # someone else wrote some of these documents: apply their events one at a time, against what is there now
        for doc_id in changed:
            if cache is not None:
                cache.drop(doc_id)
        outcomes = Counter({"ignored": outcomes["ignored"]})
        for _, envelope in handled:
            outcome = await apply_event(collection, projection, envelope, exclusive=exclusive)
            outcomes[outcome] += 1
            if outcome == "applied" and applied is not None:
                applied.append(envelope)
        return outcomes
    if cache is not None:
        for doc_id in changed:
            cache.put(doc_id, current[doc_id])  # type: ignore[arg-type]
    if applied is not None:
        applied.extend(done)
    return outcomes
