"""Decided by a unique insert: the one way the platform settles a race, on MongoDB and FerretDB alike.

FerretDB applies a conditional update (``update_one({_id, state: ...})``, ``$inc``) by reading and writing
back, so two racing callers can both "win". What both databases decide atomically is an insert under a unique
index: of racing inserts of one key, exactly one succeeds. So whoever must be the only one — the holder of an
event-store position, a serial, a code's index entry, a spent refresh token, a delivery attempt, the restorer of
an interrupted swap — *claims* a key by inserting it, and a caller whose insert is refused knows someone else
holds it.

- ``claim``: one key, once (a serial, a spent token, a notice made once per event and recipient).
- ``claim_next``: numbered claims of one key, ``<key>:<n>``: a caller takes the number above the highest it saw,
  and one that loses the number looks again. Whoever holds n has seen n-1, so the claims are judged in one order,
  each against all below it (login and SMS attempts, a machine's identity claims).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Document = Mapping[str, Any]


async def claim(collection: AsyncCollection[Any], document: Document) -> bool:
    """Insert ``document``: True when this insert took its key, False when a unique index says it was taken."""
    try:
        await collection.insert_one(dict(document))
    except DuplicateKeyError:
        return False
    return True


async def claim_or_existing(collection: AsyncCollection[Any], document: Document) -> dict[str, Any]:
    """The document this insert made, or the one that held its ``_id`` before (a retried enqueue finds the first)."""
    if await claim(collection, document):
        return dict(document)
    existing = await collection.find_one({"_id": document["_id"]})
    if existing is None:  # taken under another unique index than _id: the caller's keys are inconsistent
        raise RuntimeError(f"{collection.name}: {document['_id']!r} refused, yet absent")
    return dict(existing)


@dataclass(frozen=True)
class Numbered:
    id: str
    n: int


def digest_prefix(key: str) -> str:
    """An ``_id`` prefix for a key a client chose (a username typed at a login form): its digest."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class NumberedClaims:
    """Claims of one key numbered 1, 2, 3 … in one collection (documents ``{_id, key, n, …}``; its owner declares
    an index on ``key`` and ``n``)."""

    def __init__(self, collection: AsyncCollection[Any], *, prefix: Callable[[str], str] = str, tries: int = 200):
        self.coll = collection
        self.prefix = prefix
        self.tries = tries

    async def highest(self, key: str) -> dict[str, Any] | None:
        found = await self.coll.find({"key": key}).sort("n", DESCENDING).limit(1).to_list(1)
        return dict(found[0]) if found else None

    async def claim_next(self, key: str, fields: Document,
                         judge: Callable[[dict[str, Any] | None], Awaitable[None]] | None = None) -> Numbered | None:
        """Take the number above the highest claim of ``key``; ``judge`` (may raise to refuse) sees that highest
        claim first. None when every try lost its number to another caller (the caller says "busy")."""
        for _ in range(self.tries):
            held = await self.highest(key)
            if judge is not None:
                await judge(held)
            n = int(held["n"]) + 1 if held else 1
            claim_id = f"{self.prefix(key)}:{n}"
            if await claim(self.coll, {**fields, "_id": claim_id, "key": key, "n": n}):
                return Numbered(claim_id, n)
        return None
