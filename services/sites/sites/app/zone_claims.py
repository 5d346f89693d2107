"""One zone per definition: a restricted zone identical to one in force (same district, kind, streets or
polygons, and high-emission stages; its name aside) is refused, 409 ``zone_exists``, naming the zone that has it.

Decided by a unique insert (``nrmm_kernel.claims``): the definition's fingerprint is claimed by the zone before its
event is appended. The event store stays the truth: a claim whose zone no longer has that definition (changed or
lifted since), or was never written (a crash between claim and append, once older than a definition in flight can
be), is released and claimed again; of racing claimants one insert wins."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.claims import claim
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import Conflict

from ..domain.site import Zone
from ..domain.zones import ZoneDefinition

COLLECTION = "zone_definitions"
IN_FLIGHT = timedelta(seconds=60)  # a zone's claim younger than this may still be waiting for its event


def fingerprint(definition: ZoneDefinition) -> str:
    """The area and the stages, canonical (streets and stages are sorted by the definition itself)."""
    area = definition.model_dump(mode="json", exclude={"name"})
    return hashlib.sha256(json.dumps(area, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()) \
        .hexdigest()


class ZoneDefinitions:
    def __init__(self, db: AsyncDatabase[Any], load: Callable[[str], Awaitable[Zone | None]]):
        self._coll = db[COLLECTION]
        self._load = load  # zone_id -> Zone | None, from the event store

    async def claim(self, zone_id: str, definition: ZoneDefinition) -> None:
        key = fingerprint(definition)
        for _ in range(5):
            if await claim(self._coll, {"_id": key, "zone_id": zone_id, "at": utcnow()}):
                return
            held = await self._coll.find_one({"_id": key})
            if held is None:
                continue  # released meanwhile: claim again
            if held["zone_id"] == zone_id or await self._holds(held, key):
                if held["zone_id"] == zone_id:
                    return  # its own (a change back to a definition it had)
                raise Conflict("已有相同的禁用区 (an identical zone exists)", code="zone_exists", field="definition",
                               details={"zone_id": held["zone_id"]})
            await self._coll.delete_one({"_id": key, "zone_id": held["zone_id"]})  # stale: released
        raise Conflict("禁用区正在被同时定义，请稍后重试 (defined concurrently)", code="zone_exists",
                       field="definition")

    async def _holds(self, held: dict[str, Any], key: str) -> bool:
        zone = await self._load(held["zone_id"])
        if zone is None:  # not written yet, or never: give a definition in flight its time
            at = held["at"] if held["at"].tzinfo else held["at"].replace(tzinfo=utcnow().tzinfo)
            return utcnow() - at < IN_FLIGHT
        return zone.active and zone.definition is not None and fingerprint(zone.definition) == key
