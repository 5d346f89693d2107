"""Which machines are inside a site, on the write side, so that a site is never completed with a machine inside,
also when an entry and the completion race (rule E2: the roster is what the gate recorded).

Two kinds of documents, each decided by single-document writes (FerretDB's conditional updates are not atomic):
- a mark per machine inside a site (``<site>|<machine key>``), written before the entry's event is appended and
  removed after its exit is appended;
- a closing mark per site, written by a completion before it looks for machines inside, removed after.

An entry writes its mark, then looks for a closing mark (and re-reads the site); a completion writes its closing
mark, then looks for machines' marks. Whichever comes second sees the other's mark, so one of them gives way: never
a completed site with a machine inside. The event store stays the truth: a machine's mark that its presence stream
does not back (an entry refused, or a crash before the append) is stale once older than an entry in flight can be.
"""

from __future__ import annotations

from datetime import timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.claims import claim
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import Conflict

INSIDE = "site_occupancy"
CLOSING = "site_closing"
IN_FLIGHT = timedelta(seconds=30)  # an entry or a completion takes far less; older unbacked marks are stale


def _aware(moment):
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


class SiteOccupancy:
    def __init__(self, db: AsyncDatabase):
        self._inside = db[INSIDE]
        self._closing = db[CLOSING]

    async def ensure_indexes(self) -> None:
        await self._inside.create_index([("site_code", ASCENDING)])

    # entries and exits -----------------------------------------------------------------------------
    async def entering(self, site_code: str, machine_key: str, code: str) -> None:
        await self._inside.replace_one({"_id": f"{site_code}|{machine_key}"},
                                       {"site_code": site_code, "machine_key": machine_key, "code": code,
                                        "at": utcnow()}, upsert=True)

    async def closing_under_way(self, site_code: str) -> bool:
        mark = await self._closing.find_one({"_id": site_code})
        return mark is not None and utcnow() - _aware(mark["at"]) < IN_FLIGHT

    async def left(self, site_code: str, machine_key: str) -> None:
        await self._inside.delete_one({"_id": f"{site_code}|{machine_key}"})

    # completion -------------------------------------------------------------------------------------
    async def begin_closing(self, site_code: str) -> None:
        if not await claim(self._closing, {"_id": site_code, "at": utcnow()}):
            if await self.closing_under_way(site_code):
                raise Conflict("场地状态正在变更，请稍后重试 (a status change is under way)",
                               code="concurrent_modification", field="status")
            await self._closing.replace_one({"_id": site_code}, {"at": utcnow()})  # a stale one, left by a crash

    async def end_closing(self, site_code: str) -> None:
        await self._closing.delete_one({"_id": site_code})

    async def machines_inside(self, site_code: str, backed) -> list[str]:
        """Codes of the machines inside: marks their presence stream backs (``backed(machine_key)``), and young
        ones (an entry in flight). Stale marks are removed."""
        inside = []
        async for mark in self._inside.find({"site_code": site_code}):
            if await backed(mark["machine_key"]) or utcnow() - _aware(mark["at"]) < IN_FLIGHT:
                inside.append(mark["code"])
            else:
                await self._inside.delete_one({"_id": mark["_id"], "at": mark["at"]})
        return inside
