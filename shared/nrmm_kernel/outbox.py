"""The outbox's states beyond "pending": commits the broker refuses for good are parked, and the later commits of
their stream are held behind them, so one poison commit stops one stream, never the service's whole flow.

A commit document's ``outbox`` field: ``pending`` (to publish), ``parked`` (the broker refused it for good; a
dead-letter record in ``outbox_parked`` says why), ``held`` (a later commit of a parked stream: published after
the parked one is re-driven, so the stream's order on the topic is kept), absent (published).
"""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne

from .batch_apply import WRITE_CHUNK
from .envelope import utcnow
from .eventstore import PENDING, Commit, EventStore
from .logging import get_logger

PARKED, HELD = "parked", "held"
DEAD_LETTERS = "outbox_parked"
log = get_logger("outbox")


class Outbox:
    def __init__(self, store: EventStore):
        self.store = store
        self._commits = store.collection
        self._parked = store.collection.database[DEAD_LETTERS]

    async def unpublished(self, limit: int) -> list[Commit]:
        """The oldest pending commits (an equality lookup on ``outbox``; the sort is over the pending few)."""
        docs = await self._commits.find({"outbox": PENDING}, sort=[("_id", 1)], limit=limit).to_list()
        return [Commit.from_doc(d) for d in docs]

    async def backlog(self) -> int:
        return await self._commits.count_documents({"outbox": PENDING})

    async def park(self, commit: Commit, reason: str) -> None:
        size = sum(len(e.model_dump_json()) for e in commit.events)
        await self._parked.replace_one({"_id": commit.position}, {
            "stream_id": commit.stream_id, "version": commit.version, "reason": reason[:1000], "bytes": size,
            "events": [e.type for e in commit.events], "parked_at": utcnow()}, upsert=True)
        await self._commits.update_one({"_id": commit.position}, {"$set": {"outbox": PARKED}})
        log.error("outbox.parked", position=commit.position, stream=commit.stream_id, reason=reason[:200],
                  bytes=size)

    async def hold(self, positions: list[int]) -> None:
        await self._mark([UpdateOne({"_id": p}, {"$set": {"outbox": HELD}}) for p in positions])

    async def parked_streams(self) -> dict[str, int]:
        """Stream -> the position of its first parked commit."""
        first: dict[str, int] = {}
        async for d in self._parked.find({}, projection={"stream_id": 1}):
            first[d["stream_id"]] = min(d["_id"], first.get(d["stream_id"], d["_id"]))
        return first

    async def parked(self) -> list[dict[str, Any]]:
        return await self._parked.find({}).sort("_id", 1).to_list(1000)

    async def show(self, position: int) -> dict[str, Any] | None:
        letter = await self._parked.find_one({"_id": position})
        if letter is None:
            return None
        commit = await self._commits.find_one({"_id": position})
        return {**letter, "commit": commit}

    async def redrive(self, position: int) -> int:
        """Put a parked commit and the commits held behind it back in line; returns how many."""
        letter = await self._parked.find_one({"_id": position})
        if letter is None:
            raise LookupError(f"no parked commit at position {position}")
        stream = letter["stream_id"]
        moved = await self._commits.update_many({"stream_id": stream, "outbox": {"$in": [PARKED, HELD]}},
                                                {"$set": {"outbox": PENDING}})
        await self._parked.delete_one({"_id": position})
        log.warning("outbox.redriven", position=position, stream=stream, commits=moved.modified_count)
        return moved.modified_count

    async def published(self, positions: list[int]) -> None:
        # one equality update per position, in one round trip: FerretDB serves ``_id`` equality from an index but
        # an ``$in`` over many ids by a scan of the whole store
        await self._mark([UpdateOne({"_id": p, "outbox": PENDING}, {"$unset": {"outbox": ""}}) for p in positions])

    async def _mark(self, updates: list[UpdateOne]) -> None:
        for start in range(0, len(updates), WRITE_CHUNK):  # small bulk requests: see batch_apply.WRITE_CHUNK
            await self._commits.bulk_write(updates[start:start + WRITE_CHUNK], ordered=False)
