"""One machine, one record: a machine's brand and factory serial number are claimed by one record.

Without this an owner (or two owners) could apply twice for the same machine and hold two codes (rule C1:
one code per machine). Claims of one machine are numbered, ``<key>:<n>`` inserted under a unique _id, and the
highest number holds it: of two applications racing for the machine, or two taking over a stale claim, one
insert wins, on MongoDB and FerretDB alike (FerretDB's conditional updates are not atomic). The event store
stays the truth: a claim whose record was cancelled, no longer carries that key, or was never written (a crash
between claim and append) is taken over, the latter two only once the claim is older than an application in
flight can be (an amendment claims before it appends).
"""

from __future__ import annotations

from datetime import timedelta

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.claims import NumberedClaims
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import Conflict

from ..domain.machine import MachineRecord, Status, machine_key
from ..domain.model import MachineInfo

COLLECTION = "machine_identities"
# an application in flight writes its claim just before its first event; younger claims are never taken over
ORPHAN_AFTER = timedelta(seconds=60)


class MachineIdentities:
    def __init__(self, db: AsyncDatabase, load):
        self._coll = db[COLLECTION]
        self._claims = NumberedClaims(self._coll, tries=5)
        self._load = load  # machine_id -> MachineRecord | None, from the event store

    async def ensure_indexes(self) -> None:
        await self._coll.create_index([("key", ASCENDING), ("n", DESCENDING)])

    async def claim(self, machine_id: str, machine: MachineInfo) -> None:
        key = machine_key(machine)

        async def judge(held: dict | None) -> None:
            # our own claim is renewed, not reused: an old one may look stale to others (the record moved to
            # another machine and is coming back to this one) while this change is being appended
            if held is not None and held["machine_id"] != machine_id and not await self._stale(held, key):
                raise Conflict("该机械已登记或正在申请 (this machine already has a record)",
                               code="machine_already_registered", field="machine.factory_serial")

        # (claims below the highest are kept: deleting them would let a number be taken a second time)
        if await self._claims.claim_next(key, {"machine_id": machine_id, "claimed_at": utcnow()}, judge) is None:
            raise Conflict("该机械正在被其他申请登记 (claimed concurrently)", code="machine_already_registered",
                           field="machine.factory_serial")

    async def _stale(self, held: dict, key: str) -> bool:
        holder: MachineRecord | None = await self._load(held["machine_id"])
        if holder is not None and holder.status is Status.CANCELLED:
            return True  # final: a cancelled record changes no more
        if holder is not None and key in holder.identity_keys:
            return False  # its machine, a correction pending, or one it held with a code (rule C1)
        # not written yet, or its change to this machine not yet appended: give an application in flight its time
        claimed_at = held["claimed_at"]
        if claimed_at.tzinfo is None:
            claimed_at = claimed_at.replace(tzinfo=utcnow().tzinfo)
        return utcnow() - claimed_at > ORPHAN_AFTER
