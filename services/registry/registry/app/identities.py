"""One machine, one record: a machine's brand and factory serial number are claimed by one record.

Without this an owner (or two owners) could apply twice for the same machine and hold two codes (rule C1:
one code per machine). The claim is a document whose _id is the machine's key, so two applications racing
for one machine end with one winner on MongoDB and FerretDB alike. The event store stays the truth: a claim
whose record no longer carries that key, was cancelled, or was never written (a crash between claim and
append) is taken over.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import Conflict

from ..domain.machine import MachineRecord, Status
from ..domain.model import MachineInfo

COLLECTION = "machine_identities"
# an application in flight writes its claim just before its first event; younger claims are never taken over
ORPHAN_AFTER = timedelta(seconds=60)


def machine_key(machine: MachineInfo) -> str:
    def norm(text: str) -> str:
        return re.sub(r"[\s\-_/.]+", "", text).upper()

    return f"{norm(machine.brand)}|{norm(machine.factory_serial)}"


class MachineIdentities:
    def __init__(self, db: AsyncDatabase, load):
        self._coll = db[COLLECTION]
        self._load = load  # machine_id -> MachineRecord | None, from the event store

    async def claim(self, machine_id: str, machine: MachineInfo) -> None:
        key = machine_key(machine)
        doc = {"_id": key, "machine_id": machine_id, "claimed_at": utcnow()}
        for _ in range(3):
            try:
                await self._coll.insert_one(doc)
                return
            except DuplicateKeyError:
                pass
            held = await self._coll.find_one({"_id": key})
            if held is None:
                continue  # released between our insert and read: try again
            if held["machine_id"] == machine_id:
                return
            if not await self._stale(held, key):
                raise Conflict("该机械已登记或正在申请 (this machine already has a record)",
                               code="machine_already_registered", field="machine.factory_serial")
            result = await self._coll.replace_one({"_id": key, "machine_id": held["machine_id"]}, doc)
            if result.modified_count == 1:
                return
        raise Conflict("该机械正在被其他申请登记 (claimed concurrently)", code="machine_already_registered",
                       field="machine.factory_serial")

    async def _stale(self, held: dict, key: str) -> bool:
        holder: MachineRecord | None = await self._load(held["machine_id"])
        if holder is None:
            claimed_at = held["claimed_at"]
            if claimed_at.tzinfo is None:
                claimed_at = claimed_at.replace(tzinfo=utcnow().tzinfo)
            return utcnow() - claimed_at > ORPHAN_AFTER
        if holder.status is Status.CANCELLED:
            return True
        current = {machine_key(m) for m in (holder.machine, holder.pending_machine) if m is not None}
        return key not in current
