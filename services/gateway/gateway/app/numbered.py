"""Numbered attempts per key: racing requests put in one order by the database, on MongoDB and FerretDB alike.

A limit such as "five failed logins per username in 15 minutes" or "one SMS per number per minute" is a
check-then-act: read what happened, decide, record. Two racing requests can both read "nothing yet" and both
act. FerretDB makes it worse: a conditional update or ``$inc`` is a read and a write-back, so a counter loses
increments. What both databases do decide atomically is an insert under a unique ``_id``. So each attempt takes
the next number for its key by inserting ``<key>:<n>``; a request that loses the number looks again. Whoever
holds n has seen n-1 (that is how it chose n), and n-1's holder had seen n-2, and so on: by the time an attempt
is judged, every attempt numbered below it is in the database, and the attempts are judged in one order, each
against all before it. An attempt is then marked with its outcome (by its own request only, so the write has no
rival); refused or failed attempts stay, marked, so that a number is never taken twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from nrmm_kernel.errors import AppError

PENDING = "pending"


class Busy(AppError):
    status = 429
    code = "too_many_requests"


@dataclass(frozen=True)
class Attempt:
    id: str
    n: int
    earlier: list[dict]  # the key's attempts numbered below this one, since the time asked for: n, at, state


class NumberedAttempts:
    def __init__(self, collection: AsyncCollection, busy: AppError | None = None):
        self.coll = collection
        self.busy = busy or Busy("请求过于频繁，请稍后再试", details={"retry_after": 1})

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("key", ASCENDING), ("n", ASCENDING)])
        await self.coll.create_index([("at", ASCENDING)])

    @staticmethod
    def _id(key: str, n: int) -> str:
        # the key may be anything a client sends (a username typed at a login form): the id holds its digest
        return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}:{n}"

    async def take(self, key: str, now: datetime, *, since: datetime, **fields) -> Attempt:
        for _ in range(200):
            last = await self.coll.find({"key": key}, projection={"n": 1}).sort("n", DESCENDING).limit(1).to_list(1)
            n = last[0]["n"] + 1 if last else 1
            attempt_id = self._id(key, n)
            try:
                await self.coll.insert_one({"_id": attempt_id, "key": key, "n": n, "at": now, "state": PENDING,
                                            **fields})
            except DuplicateKeyError:
                continue  # another request took n: look again
            earlier = await self.coll.find({"key": key, "n": {"$lt": n}, "at": {"$gte": since}},
                                           projection={"n": 1, "at": 1, "state": 1}).to_list(None)
            return Attempt(attempt_id, n, earlier)
        raise self.busy

    async def mark(self, attempt: Attempt, state: str) -> None:
        await self.coll.update_one({"_id": attempt.id}, {"$set": {"state": state}})

    async def purge(self, before: datetime) -> None:
        """Attempts that can no longer count. ``before`` must leave a margin past the longest window, so that
        no request still choosing its number could have read a number that is being removed."""
        await self.coll.delete_many({"at": {"$lt": before}})
