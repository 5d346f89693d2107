"""The store chain: every commit also carries the hash of the store's previous commit by position.

A commit's own ``hash`` (eventstore.commit_hash) links it to its stream's previous commit. On top of that each
commit at position p carries

  store_prev_hash   the ``store_hash`` of the commit at p-1 (GENESIS_HASH at p = 1)
  store_hash        sha256 over (p, the commit's hash, store_prev_hash)

so deleting, reordering or editing any commit breaks the store chain, not just its stream's. A writer learns the
hash at p-1 by one ``_id`` equality lookup (index-backed on FerretDB too), or from its own last write. A commit
whose predecessor has no store hash yet (a store written before the chain existed) is written unchained; the one-off
``chain`` command (``backfill``) gives such a store its chain, and ``verify`` (audit_verify.py) names what is
unchained, as it names every broken link.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from .pages import PAGE, commit_docs

GENESIS = "0" * 64


def store_hash(position: int, commit_hash: str, store_prev_hash: str) -> str:
    return hashlib.sha256(f"{position}:{commit_hash}:{store_prev_hash}".encode()).hexdigest()


class StoreLinker:
    """What a writer adds to the commit it inserts at a position (one per EventStore)."""

    def __init__(self, collection: AsyncCollection[Any]):
        self._coll = collection
        self._last: tuple[int, str] | None = None  # (position, store_hash) this process wrote or read last

    async def link(self, position: int, commit_hash: str) -> dict[str, str | None]:
        """The chain fields of a commit about to take ``position``: unchained (None) when the commit before it has
        no store hash (a store still to be given its chain by ``backfill``)."""
        previous = await self._hash_at(position - 1)
        if previous is None:
            return {"store_prev_hash": None, "store_hash": None}
        return {"store_prev_hash": previous, "store_hash": store_hash(position, commit_hash, previous)}

    def wrote(self, position: int, hash_: str | None) -> None:
        if hash_ is not None:
            self._last = (position, hash_)

    async def _hash_at(self, position: int) -> str | None:
        if position == 0:
            return GENESIS
        if self._last is not None and self._last[0] == position:
            return self._last[1]
        doc = await self._coll.find_one({"_id": position}, projection={"store_hash": 1})
        if doc is None:
            # positions are gapless: p-1 exists whenever p is free to take; not so means a stale guess
            raise PositionVanished(position)
        found: str | None = doc.get("store_hash")
        return found


class PositionVanished(RuntimeError):
    """The commit before the position a writer guessed is not there: the guess is retried from the head."""


async def raw_commits(collection: AsyncCollection[Any], from_position: int = 1, *,
                      on_page: Callable[[int], None] | None = None) -> AsyncIterator[dict[str, Any]]:
    """The stored commit documents in position order (pages.py: no range, no sort); ends at the first missing
    position. ``on_page`` is told the position reached at the end of each page."""
    async for doc in commit_docs(collection, from_position):
        yield doc
        if on_page is not None and (doc["_id"] + 1) % PAGE == 0:
            on_page(doc["_id"])


async def backfill(collection: AsyncCollection[Any], *, progress: Callable[[int], None] | None = None) -> int:
    """The one-off command: give every unchained commit its store chain, in position order. Returns how many
    commits were chained. Chained commits are checked, not rewritten: a store that is already whole changes not at
    all, and one whose chain is broken is left for ``verify`` to name (never papered over)."""
    previous, changed, position = GENESIS, 0, 0
    async for doc in raw_commits(collection, on_page=progress):
        position = doc["_id"]
        if doc.get("store_hash") is not None:
            previous = doc["store_hash"]
            continue
        fields = {"store_prev_hash": previous, "store_hash": store_hash(position, doc["hash"], previous)}
        await collection.update_one({"_id": position, "store_hash": None}, {"$set": fields})
        previous = fields["store_hash"]
        changed += 1
    return changed
