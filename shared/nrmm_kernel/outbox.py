"""Where the relay stands, and the outbox's states beyond "not yet published".

Progress is a watermark, ``outbox_progress`` {_id: <store collection>, through: P}: every commit up to position P
is on the topic, or parked, or held. A batch is the commits after P, read by pages of positions (pages.py), and
after the broker acknowledged it the relay moves P: one write per batch, where marking each commit cost one
conditional update per commit (FerretDB: about 2.8 ms each, the relay's whole cost at scale).

A commit document's ``outbox`` field is set only where a commit needs one:
- ``parked``: the broker refused it for good; a dead-letter record in ``outbox_parked`` says why;
- ``held``: a later commit of a parked stream, published after the parked one is re-driven, so that the stream's
  order on the topic is kept;
- ``pending``: a parked or held commit put back in line by a re-drive (below the watermark: the relay looks for
  these first, one equality query that finds nothing in the usual case), or a commit written before the watermark
  existed (an older store: its first such commit is where the watermark starts).
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from pymongo import UpdateOne

from .batch_apply import WRITE_CHUNK
from .envelope import utcnow
from .eventstore import PENDING, Commit, EventStore
from .logging import get_logger
from .pages import commit_docs

PARKED, HELD = "parked", "held"
DEAD_LETTERS = "outbox_parked"
PROGRESS = "outbox_progress"
log = get_logger("outbox")


@dataclass
class Batch:
    """Commits to publish, in position order: re-driven ones (below the watermark) first, then fresh ones."""

    commits: list[Commit]
    through: int  # the watermark once this batch is on the topic: the last fresh position read
    marked: set[int] = field(default_factory=set)  # positions that carry a ``pending`` mark to remove


class Outbox:
    def __init__(self, store: EventStore):
        self.store = store
        self._commits = store.collection
        self._parked = store.collection.database[DEAD_LETTERS]
        self._progress = store.collection.database[PROGRESS]

    async def through(self) -> int:
        doc = await self._progress.find_one({"_id": self._commits.name})
        return int(doc["through"]) if doc else await self._start()

    async def _start(self) -> int:
        """The first watermark of a store: before its first commit marked ``pending`` (a store from before the
        watermark marked every commit until published) and before its first commit that has a page (written since:
        never marked), else its head."""
        through = await self.store.head_position()
        first = await self._commits.find_one({"outbox": PENDING}, sort=[("_id", 1)], projection={"_id": 1})
        if first is not None:
            through = min(through, first["_id"] - 1)
        low, high = 0, through + 1  # the paged commits are a suffix of the store: bisect for its start
        while high - low > 1:
            middle = (low + high) // 2
            if await self._commits.find_one({"_id": middle, "page": {"$exists": True}}, projection={"_id": 1}):
                high = middle
            else:
                low = middle
        through = min(through, high - 1)
        await self._progress.update_one({"_id": self._commits.name}, {"$setOnInsert": {"through": through}},
                                        upsert=True)
        doc = await self._progress.find_one({"_id": self._commits.name})  # another relay's start may have won
        return int(doc["through"]) if doc else through

    async def next_batch(self, limit: int) -> Batch:
        through = await self.through()
        redriven = [d for d in await self._commits.find({"outbox": PENDING}, sort=[("_id", 1)], limit=limit).to_list()
                    if d["_id"] <= through]
        docs, last = list(redriven), through
        async with aclosing(commit_docs(self._commits, through + 1)) as fresh:
            async for doc in fresh:
                if len(docs) >= limit:
                    break
                last = doc["_id"]
                if doc.get("outbox") not in (PARKED, HELD):  # dealt with: parked, or held behind a parked one
                    docs.append(doc)
        return Batch([Commit.from_doc(d) for d in docs], last, {d["_id"] for d in docs if d.get("outbox") == PENDING})

    async def unpublished(self, limit: int) -> list[Commit]:
        """The commits the next batch would publish."""
        return (await self.next_batch(limit)).commits

    async def backlog(self) -> int:
        """Commits after the watermark, and re-driven ones."""
        through = await self.through()
        redriven = await self._commits.count_documents({"outbox": PENDING, "_id": {"$lte": through}})
        return max(0, await self.store.head_position() - through) + redriven

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

    async def published(self, batch: Batch, positions: list[int]) -> None:
        """The batch is on the topic (but for what was parked or held meanwhile): the watermark moves past it."""
        await self._mark([UpdateOne({"_id": p, "outbox": PENDING}, {"$unset": {"outbox": ""}})
                          for p in positions if p in batch.marked])
        await self.advance(batch.through)

    async def advance(self, through: int) -> None:
        # only forward: a relay that lost its lease cannot get here (its transaction's commit is fenced first)
        await self._progress.update_one({"_id": self._commits.name, "through": {"$lt": through}},
                                        {"$set": {"through": through}})

    async def _mark(self, updates: list[UpdateOne]) -> None:
        for start in range(0, len(updates), WRITE_CHUNK):  # small bulk requests: see batch_apply.WRITE_CHUNK
            await self._commits.bulk_write(updates[start:start + WRITE_CHUNK], ordered=False)
