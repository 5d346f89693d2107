"""The write side's way from a code to its machine record: ``code -> machine id``, one document per code,
written by a unique insert by the handler that issues the code, before the code's event is appended.

Every command on a machine by its code, its plate and card, verify and the gates' check find the record here the
instant the approval has answered (the read models follow a moment later). The event store stays the truth: an
entry whose record never received the code (a crash between the insert and the append) leads nowhere, because the
record loaded from its stream does not hold that code."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.claims import claim_or_existing
from nrmm_kernel.envelope import utcnow

COLLECTION = "code_index"


class CodeIndex:
    def __init__(self, db: AsyncDatabase):
        self._coll = db[COLLECTION]

    async def record(self, code: str, machine_id: str) -> None:
        held = await claim_or_existing(self._coll, {"_id": code, "machine_id": machine_id, "at": utcnow()})
        if held["machine_id"] != machine_id:  # serials are unique: never expected
            raise RuntimeError(f"code {code} is indexed to another record")

    async def machine_id(self, code: str) -> str | None:
        doc = await self._coll.find_one({"_id": code}, projection={"machine_id": 1})
        return doc["machine_id"] if doc else None
