"""Write claims: the guard that keeps two projector instances from both writing one read document's next revision.

A read document carries ``_rev``; its writer replaces it ``{_id, _rev: r}`` -> revision r+1. On MongoDB that
replace is atomic, on FerretDB 1.24 it is not (it reads, then writes by ``_id``): two instances that both read
revision r (a partition moving between them, an old owner still finishing its batch) could both "match", and the
later write could put back an older fold. So the write of revision r+1 is first *claimed* by a unique insert of
``<collection>|<doc>|<r+1>`` (claims.py: of racing inserts exactly one succeeds), holding the new document:

- the winner replaces the document and deletes its claim;
- a loser applies nothing: it waits for the winner's write and folds its own events again on top of it (they are
  duplicates by then, or come after it in the stream);
- a claim left by a writer that died between claiming and writing is finished by whoever finds it older than
  ``HELP_AFTER`` (its document is the fold of revision r, so writing it is what the dead writer would have done;
  the events after it arrive again, since the dead writer's offsets were never committed).

Whatever a writer does to revision r+1 is therefore the one document claimed for it. What stays is FerretDB's own
read-then-write inside one replace request, which no client can close: two requests writing the same claimed
document (a helper and a writer paused past ``HELP_AFTER``) write the same bytes.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pymongo import DeleteOne, InsertOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from .claims import claim
from .envelope import utcnow

REVISIONS = "projection_revisions"
HELP_AFTER = timedelta(seconds=2)  # a claim older than this has lost its writer: finished by whoever finds it
WAIT_SECONDS = 0.02  # between looks at a claim another writer is finishing
CHUNK = 16  # writes per bulk request (batch_apply.WRITE_CHUNK: FerretDB's connections)

Doc = dict[str, Any]


def claim_id(collection: str, doc_id: str, rev: int) -> str:
    return f"{collection}|{doc_id}|{rev}"


def _claims(collection: AsyncCollection[Any]) -> AsyncCollection[Any]:
    return collection.database[REVISIONS]


async def claim_revision(collection: AsyncCollection[Any], doc: Doc) -> bool:
    """Claim the write of ``doc`` (its ``_rev`` is the revision it becomes)."""
    return await claim(_claims(collection), {"_id": claim_id(collection.name, doc["_id"], doc["_rev"]),
                                             "doc": doc, "at": utcnow()})


async def claim_revisions(collection: AsyncCollection[Any], docs: list[Doc]) -> set[str]:
    """Claim the writes of ``docs`` in a few bulk inserts; returns the ids of the documents this writer won."""
    won = {d["_id"] for d in docs}
    ops = [InsertOne({"_id": claim_id(collection.name, d["_id"], d["_rev"]), "doc": d, "at": utcnow()})
           for d in docs]
    for start in range(0, len(ops), CHUNK):
        try:
            await _claims(collection).bulk_write(ops[start:start + CHUNK], ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                won.discard(docs[start + error["index"]]["_id"])
    return won


async def release(collection: AsyncCollection[Any], docs: list[Doc]) -> None:
    """The written revisions' claims, done with."""
    ops = [DeleteOne({"_id": claim_id(collection.name, d["_id"], d["_rev"])}) for d in docs]
    for start in range(0, len(ops), CHUNK):
        await _claims(collection).bulk_write(ops[start:start + CHUNK], ordered=False)


async def settle(collection: AsyncCollection[Any], current: Doc) -> None:
    """Another writer claimed the revision after ``current``: wait until it is written, or finish it for a writer
    that died (HELP_AFTER). Returns when the caller should read the document again."""
    claims = _claims(collection)
    key = claim_id(collection.name, current["_id"], current["_rev"] + 1)
    pending = await claims.find_one({"_id": key})
    if pending is None:
        return  # written meanwhile (or never: the caller reads again and claims afresh)
    at = pending["at"] if pending["at"].tzinfo else pending["at"].replace(tzinfo=utcnow().tzinfo)
    if utcnow() - at < HELP_AFTER:
        await asyncio.sleep(WAIT_SECONDS)  # a back-off before the next look, not a synchronisation
        return
    await collection.replace_one({"_id": current["_id"], "_rev": current["_rev"]}, pending["doc"])
    await claims.delete_one({"_id": key})
