"""Event store on a MongoDB-wire database: one document per commit, expected-version appends.

Layout of a commit document (collection ``event_store``):
  _id            global position: gapless, and in commit (visibility) order
  stream_id      the aggregate's stream
  version        stream version of the commit's first event (unique with stream_id)
  last_version   stream version of its last event
  events         the CloudEvents envelopes, as JSON
  prev_hash      hash of the stream's previous commit ("0"*64 for the first)
  hash           sha256 over (stream_id, version, events, prev_hash): the stream's chain
  store_prev_hash, store_hash   the store chain over every commit by position (chain.py)
  page           position // pages.PAGE: read_all reads a page of commits with one equality query (pages.py)
  outbox         only where the relay needs it: parked, held, or re-driven (outbox.py; the relay's progress is a
                 watermark, not a mark on each commit)

Only single-document writes are used (MongoDB 7 and FerretDB 1.24 both guarantee those).

Positions: the unique _id index is the arbiter. A writer inserts at the position after the last one
it knows to exist; if that is taken it searches forward for the first free one and tries again. So a
commit only ever takes position p once p-1 is visible: positions are gapless and in visibility order,
and a reader going forward from a position never skips a commit written later. No counter document:
FerretDB's findAndModify $inc is not atomic under concurrency (measured), unique indexes are.

Queries are shaped for FerretDB too, which pushes only equality filters down to its backend and sorts
in memory: hot paths filter by equality (stream_id, outbox, _id) and never sort a whole collection.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect, NetworkTimeout

from .chain import PositionVanished, StoreLinker
from .claims import claim
from .commits import GENESIS_HASH, Commit, CommitTooLarge, canonical_json, commit_events, commit_hash
from .envelope import EventEnvelope, utcnow
from .errors import ConcurrencyError
from .metrics import APPEND_CONFLICTS, EVENTS_APPENDED
from .pages import commit_docs, page_of
from .positions import note_written

PENDING = "pending"
# what importers of the store also take from here (the commit's format lives in commits.py)
__all__ = ["COLLECTION", "GENESIS_HASH", "HEAD_HINT", "PENDING", "Commit", "CommitTooLarge", "EventStore",
           "canonical_json", "commit_events", "commit_hash"]
COLLECTION = "event_store"
HEAD_HINT = "event_store_head"  # a recent position, saved every HINT_EVERY commits: where head_position starts
HINT_EVERY = 64


class EventStore:
    def __init__(self, db: AsyncDatabase[Any], *, collection: str = COLLECTION, max_position_retries: int = 200,
                 max_commit_bytes: int | None = 262_144):
        self._db = db
        self.max_commit_bytes = max_commit_bytes
        self._coll = db[collection]
        self._max_retries = max_position_retries
        self._next_position: int | None = None  # this process's guess; the unique _id index decides
        self._insert_lock = asyncio.Lock()
        self._linker = StoreLinker(self._coll)  # the store chain: the hash of the commit before each position
        self._heads: dict[str, tuple[int, str]] = {}  # stream -> (last_version, hash) this process has seen
        self._heads_limit = 100_000
        self.appended = asyncio.Event()  # set by every append in this process: wakes the relay at once

    @property
    def collection(self) -> AsyncCollection[Any]:
        return self._coll

    async def ensure_indexes(self) -> None:
        await self._coll.create_index(
            [("stream_id", ASCENDING), ("version", ASCENDING)], unique=True, name="stream_version_unique"
        )
        await self._coll.create_index([("outbox", ASCENDING), ("_id", ASCENDING)], name="outbox")
        await self._coll.create_index([("page", ASCENDING)], name="page")

    # writing -------------------------------------------------------------------------------
    async def append(self, stream_id: str, expected_version: int, events: Sequence[EventEnvelope]) -> Commit:
        """Append events as one commit if the stream is still at ``expected_version``.

        Raises ConcurrencyError (HTTP 409) when another writer got there first.
        """
        event_docs = commit_events(stream_id, expected_version, events, self.max_commit_bytes)
        prev_hash = await self._prev_hash(stream_id, expected_version)
        doc: dict[str, Any] = {
            "stream_id": stream_id,
            "version": expected_version + 1,
            "last_version": expected_version + len(events),
            "events": event_docs,
            "prev_hash": prev_hash,
            "hash": commit_hash(stream_id, expected_version + 1, event_docs, prev_hash),
        }
        # One insert at a time per process: concurrent writers here would only collide on positions.
        async with self._insert_lock:
            for attempt in range(self._max_retries):
                position = await self._position_guess()
                doc.update(_id=position, page=page_of(position), committed_at=utcnow())
                try:
                    doc.update(await self._linker.link(position, str(doc["hash"])))
                except PositionVanished:
                    self._next_position = None  # a stale guess: start again from the head
                    continue
                if not await self._insert(doc):
                    # Either the stream moved (a real conflict) or another process took this position.
                    if await self._coll.find_one({"stream_id": stream_id, "version": expected_version + 1},
                                                 projection={"_id": 1}):
                        actual = await self.stream_version(stream_id)
                        APPEND_CONFLICTS.inc()
                        raise ConcurrencyError(stream_id, expected_version, actual)
                    self._next_position = await self._first_free_after(position)
                    if attempt > 2:
                        await asyncio.sleep(random.uniform(0, 0.001 * min(attempt, 20)))
                    continue
                self._next_position = position + 1
                self._linker.wrote(position, doc["store_hash"])
                self._remember(stream_id, expected_version + len(events), str(doc["hash"]))
                EVENTS_APPENDED.labels(stream_id.split("-", 1)[0]).inc(len(events))
                note_written(position)  # the request's answer says how far it wrote (read your writes)
                self.appended.set()
                if position % HINT_EVERY == 0:
                    await self._save_head_hint(position)
                return Commit.from_doc(doc)
        raise RuntimeError(f"could not allocate a position for {stream_id} after {self._max_retries} tries")

    async def _insert(self, doc: dict[str, Any]) -> bool:
        """True when the commit took its position; False when the unique ``_id`` (the position) or
        (stream_id, version) was taken (nrmm_kernel.claims)."""
        try:
            return await claim(self._coll, doc)
        except (AutoReconnect, NetworkTimeout):
            # The answer was lost, not necessarily the write: if our commit is there, it happened.
            stored = await self._coll.find_one({"stream_id": doc["stream_id"], "version": doc["version"]},
                                               projection={"hash": 1, "_id": 1})
            if stored is None or stored["hash"] != doc["hash"] or stored["_id"] != doc["_id"]:
                raise
            return True

    async def _prev_hash(self, stream_id: str, expected_version: int) -> str:
        """The hash the new commit links to, after checking the expected version.

        A remembered head is a head the stream really had, so it can only lag behind: if it matches
        the expected version and the stream has moved on meanwhile, the insert collides with the
        commit that moved it, on (stream_id, version). Only when it does not match is the database asked.
        """
        if expected_version == 0:
            return GENESIS_HASH
        known = self._heads.get(stream_id)
        if known is not None and known[0] == expected_version:
            return known[1]
        head = await self._head(stream_id)
        actual = head["last_version"] if head else 0
        if head is not None:
            self._remember(stream_id, actual, head["hash"])
        if actual != expected_version or head is None:
            APPEND_CONFLICTS.inc()
            raise ConcurrencyError(stream_id, expected_version, actual)
        return str(head["hash"])

    def _remember(self, stream_id: str, last_version: int, hash_: str) -> None:
        self._heads.pop(stream_id, None)
        self._heads[stream_id] = (last_version, hash_)
        if len(self._heads) > self._heads_limit:
            self._heads.pop(next(iter(self._heads)))  # least recently written

    async def _position_guess(self) -> int:
        if self._next_position is None:
            self._next_position = await self.head_position() + 1
        return self._next_position

    async def _exists(self, position: int) -> bool:
        return await self._coll.find_one({"_id": position}, projection={"_id": 1}) is not None

    async def _first_free_after(self, taken: int) -> int:
        """The first free position above ``taken`` (positions are gapless: gallop, then bisect)."""
        low, step = taken, 1  # low: known to exist
        while await self._exists(low + step):
            low, step = low + step, step * 2
        high = low + step  # known free
        while high - low > 1:
            middle = (low + high) // 2
            if await self._exists(middle):
                low = middle
            else:
                high = middle
        return high

    async def _head(self, stream_id: str) -> dict[str, Any] | None:
        return await self._coll.find_one(
            {"stream_id": stream_id},
            sort=[("version", DESCENDING)],
            projection={"last_version": 1, "hash": 1},
        )

    # reading -------------------------------------------------------------------------------
    async def stream_version(self, stream_id: str) -> int:
        head = await self._head(stream_id)
        return head["last_version"] if head else 0

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[EventEnvelope]:
        cursor = self._coll.find(
            {"stream_id": stream_id, "last_version": {"$gte": from_version}}, sort=[("version", ASCENDING)]
        )
        events: list[EventEnvelope] = []
        async for doc in cursor:
            self._remember(stream_id, doc["last_version"], doc["hash"])
            events.extend(
                EventEnvelope.model_validate(e) for e in doc["events"] if e["streamversion"] >= from_version
            )
        return events

    async def read_commits(self, stream_id: str) -> list[Commit]:
        cursor = self._coll.find({"stream_id": stream_id}, sort=[("version", ASCENDING)])
        return [Commit.from_doc(d) async for d in cursor]

    async def read_all(self, from_position: int = 1) -> AsyncIterator[Commit]:
        """Every commit in commit order, starting at ``from_position``: by pages of positions, each one equality
        query (pages.py); never a range or a sort over the whole store, which FerretDB would hold in memory."""
        async for doc in commit_docs(self._coll, from_position):
            yield Commit.from_doc(doc)

    async def head_position(self) -> int:
        """The last position taken: from a saved hint, probed forward by ``_id`` existence (no sort)."""
        hint = await self._db[HEAD_HINT].find_one({"_id": self._coll.name})
        start = hint["position"] if hint else 0
        if start == 0:
            if not await self._exists(1):
                return 0
            start = 1
        return await self._first_free_after(start) - 1

    async def _save_head_hint(self, position: int) -> None:
        # a hint, not a counter: any position that exists is a correct start for head_position's probe
        await self._db[HEAD_HINT].replace_one({"_id": self._coll.name}, {"position": position}, upsert=True)
