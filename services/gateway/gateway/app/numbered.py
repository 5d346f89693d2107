"""Numbered attempts per key: racing requests put in one order by the database, on MongoDB and FerretDB alike.

A limit such as "five failed logins per username in 15 minutes" or "one SMS per number per minute" is a check-then-
act: read what happened, decide, record. Two racing requests can both read "nothing yet" and both act. FerretDB
makes it worse: a conditional update or ``$inc`` is a read and a write-back, so a counter loses increments. What
both databases do decide atomically is an insert under a unique ``_id``. So each attempt takes the next number for
its key by inserting ``<key>:<n>`` (``nrmm_kernel.claims``); a request that loses the number looks again. Whoever
holds n has seen n-1 (that is how it chose n), and n-1's holder had seen n-2, and so on: by the time an attempt is
judged, every attempt numbered below it is in the database, and the attempts are judged in one order, each against
all before it. An attempt is then marked with its outcome (by its own request only, so the write has no rival);
refused or failed attempts stay, marked, so that a number is never taken twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from nrmm_kernel.claims import NumberedClaims, digest_prefix
from nrmm_kernel.errors import AppError

PENDING = "pending"


class Busy(AppError):
    status = 429
    code = "too_many_requests"


@dataclass(frozen=True)
class Attempt:
    id: str
    n: int
    earlier: list[dict[str, Any]]  # the key's attempts numbered below this one, since the time asked for: n, at, state


class NumberedAttempts:
    def __init__(self, collection: AsyncCollection[Any], busy: AppError | None = None):
        self.coll = collection
        # the key may be anything a client sends (a username typed at a login form): the id holds its digest
        self.claims = NumberedClaims(collection, prefix=digest_prefix)
        self.busy = busy or Busy("请求过于频繁，请稍后再试", details={"retry_after": 1})

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("key", ASCENDING), ("n", ASCENDING)])
        await self.coll.create_index([("at", ASCENDING)])

    async def take(self, key: str, now: datetime, *, since: datetime, **fields: Any) -> Attempt:
        taken = await self.claims.claim_next(key, {"at": now, "state": PENDING, **fields})
        if taken is None:
            raise self.busy
        earlier = await self.coll.find({"key": key, "n": {"$lt": taken.n}, "at": {"$gte": since}},
                                       projection={"n": 1, "at": 1, "state": 1}).to_list(None)
        return Attempt(taken.id, taken.n, earlier)

    async def mark(self, attempt: Attempt, state: str) -> None:
        await self.coll.update_one({"_id": attempt.id}, {"$set": {"state": state}})

    async def purge(self, before: datetime) -> None:
        """Attempts that can no longer count. ``before`` must leave a margin past the longest window, so that
        no request still choosing its number could have read a number that is being removed."""
        await self.coll.delete_many({"at": {"$lt": before}})
