"""The sites service's write side: its aggregates' repositories and write-side indexes, one set per process,
shared by the site commands and the gate."""

from __future__ import annotations

from dataclasses import dataclass, field

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.errors import NotFound
from nrmm_kernel.eventstore import EventStore

from ..domain.events import registry
from ..domain.gate import GateRefusal, MachinePresence
from ..domain.site import Site, Zone
from .occupancy import SiteOccupancy
from .zone_claims import ZoneDefinitions
from .zone_index import ZoneIndex


@dataclass
class WriteSide:
    db: AsyncDatabase
    store: EventStore
    sites: AggregateRepository = field(init=False)
    zones: AggregateRepository = field(init=False)
    presences: AggregateRepository = field(init=False)
    refusals: AggregateRepository = field(init=False)
    occupancy: SiteOccupancy = field(init=False)
    zone_index: ZoneIndex = field(init=False)
    zone_definitions: ZoneDefinitions = field(init=False)

    def __post_init__(self) -> None:
        self.sites = AggregateRepository(self.store, registry, Site, "site")
        self.zones = AggregateRepository(self.store, registry, Zone, "zone")
        self.presences = AggregateRepository(self.store, registry, MachinePresence, "presence")
        self.refusals = AggregateRepository(self.store, registry, GateRefusal, "refusal")
        self.occupancy = SiteOccupancy(self.db)
        self.zone_index = ZoneIndex(self.db, self.zones)
        self.zone_definitions = ZoneDefinitions(self.db, self.zones.load)

    async def ensure_indexes(self) -> None:
        await self.occupancy.ensure_indexes()
        await self.zone_index.ensure_indexes()

    async def site(self, site_code: str) -> Site:
        site = await self.sites.load(site_code)
        if site is None:
            raise NotFound("场地不存在 (no such site)", field="site_code")
        return site
