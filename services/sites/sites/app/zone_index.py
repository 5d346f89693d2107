"""The zones of a district, on the write side: one document per zone (its district is fixed), inserted by the
handler that defines the zone before its event is appended. The gate loads each zone of its site's district from
the zone's own stream (a district has a handful), so a zone defined or lifted a moment ago is applied at once; an
indexed zone whose stream never received its definition (a crash in between) is simply not there."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aggregate import AggregateRepository

from ..domain.gate import ActiveZone
from ..domain.site import Zone

COLLECTION = "zone_index"


class ZoneIndex:
    def __init__(self, db: AsyncDatabase, zones: AggregateRepository):
        self._coll = db[COLLECTION]
        self._zones = zones

    async def ensure_indexes(self) -> None:
        await self._coll.create_index([("district", ASCENDING)])

    async def add(self, zone_id: str, district: str) -> None:
        await self._coll.replace_one({"_id": zone_id}, {"district": district}, upsert=True)

    async def active_in(self, district: str) -> list[ActiveZone]:
        active = []
        async for entry in self._coll.find({"district": district}):
            zone: Zone | None = await self._zones.load(entry["_id"])
            if zone is not None and zone.definition is not None and zone.active:
                active.append(ActiveZone(zone_id=zone.id, version=zone.version, definition=zone.definition))
        return active
