"""Read models of the sites service's own events."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from nrmm_kernel.codes import parse_code
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projector import Projection, on
from nrmm_kernel.reference import Department

from ..domain.events import (
    EntryRefused,
    MachineEntered,
    MachineExited,
    MachineOnTwoSites,
    SiteDepartmentConfirmed,
    SiteDepartmentDeclined,
    SiteRegistered,
    SiteStateOwnershipConfirmed,
    SiteStateOwnershipDeclared,
    SiteStateOwnershipDeclined,
    SiteStatusChanged,
    SiteUpdated,
    ZoneChanged,
    ZoneDefined,
    registry,
)
from ..domain.model import SiteCategory, competent_department

SITES = "sites"
ZONES = "zones"
STAYS = "stays"
REFUSALS = "gate_refusals"
ANOMALIES = "anomalies"


class Sites(Projection):
    """One document per site: details, status, and the flat fields searches filter on."""

    name = SITES
    contract = registry

    @on(SiteRegistered)
    def registered(self, doc, e: SiteRegistered, envelope: EventEnvelope):
        return {"site_code": e.site_code, "details": e.details.model_dump(mode="json"), "status": e.status.value,
                "admin_account_id": e.admin_account_id, "registered_at": envelope.time.isoformat(), "history": [],
                "_extra": {"status": e.status.value}}

    @on(SiteUpdated)
    def updated(self, doc, e: SiteUpdated, envelope: EventEnvelope):
        return {**doc, "details": e.details.model_dump(mode="json"), "_extra": {"changed_fields": e.changed_fields}}

    @on(SiteStatusChanged)
    def status_changed(self, doc, e: SiteStatusChanged, envelope: EventEnvelope):
        return {**doc, "status": e.status.value, "_extra": {"status": e.status.value, "reason": e.reason}}

    # who governs the site (rule D3); the aggregate's own rule decides when a confirmation lapses
    @on(SiteDepartmentConfirmed)
    def department_confirmed(self, doc, e: SiteDepartmentConfirmed, envelope: EventEnvelope):
        return {**doc, "confirmed_department": e.department, "_extra": {"department": e.department}}

    @on(SiteDepartmentDeclined)
    def department_declined(self, doc, e: SiteDepartmentDeclined, envelope: EventEnvelope):
        return {**doc, "confirmed_department": None, "_extra": {"department": e.department, "reason": e.reason}}

    @on(SiteStateOwnershipDeclared)
    def ownership_declared(self, doc, e: SiteStateOwnershipDeclared, envelope: EventEnvelope):
        return {**doc, "state_ownership": e.ownership.model_dump(mode="json"), "state_ownership_confirmed": False,
                "_extra": {}}

    @on(SiteStateOwnershipConfirmed)
    def ownership_confirmed(self, doc, e: SiteStateOwnershipConfirmed, envelope: EventEnvelope):
        return {**doc, "state_ownership_confirmed": True, "_extra": {}}

    @on(SiteStateOwnershipDeclined)
    def ownership_declined(self, doc, e: SiteStateOwnershipDeclined, envelope: EventEnvelope):
        return {**doc, "state_ownership_confirmed": False, "_extra": {"reason": e.reason}}

    def finish(self, doc, envelope: EventEnvelope):
        extra = doc.pop("_extra")
        at = envelope.time.isoformat()
        details = doc["details"]
        coordinates = details.get("coordinates") or {}
        competent = competent_department(SiteCategory(details["category"]),
                                         Department(details["department"]) if details.get("department") else None)
        if doc.get("confirmed_department") not in (None, competent and competent.value):
            doc["confirmed_department"] = None  # another category: its department confirms again (Site.on_SiteUpdated)
        doc.update(district=details["district"], department=details["department"], category=details["category"],
                   competent_department=competent.value if competent else None,
                   name=details["name"], street=details["address"]["street"],
                   longitude=coordinates.get("longitude"), latitude=coordinates.get("latitude"), updated_at=at)
        doc["history"] = [*doc["history"], {"event": envelope.event_name, "at": at, "actor_id": envelope.actorid,
                                            "actor_role": envelope.actorrole, **extra}]
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("district", ASCENDING), ("department", ASCENDING), ("status", ASCENDING)])
        await collection.create_index([("site_code", ASCENDING)])  # the lists' order (keyset pages)


class Zones(Projection):
    """One document per restricted zone, with the version entry decisions record."""

    name = ZONES
    contract = registry

    @on(ZoneDefined, ZoneChanged)
    def defined(self, doc, e: ZoneDefined | ZoneChanged, envelope: EventEnvelope):
        doc = dict(doc or {"zone_id": envelope.streamid.removeprefix("zone-"), "defined_at": envelope.time.isoformat()})
        definition = e.definition.model_dump(mode="json")
        doc.update(definition=definition, district=definition["district"],
                   active=e.active if isinstance(e, ZoneChanged) else True,
                   version=envelope.streamversion, updated_at=envelope.time.isoformat())
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("district", ASCENDING), ("active", ASCENDING)])


class Stays(Projection):
    """One document per stay of a machine on a site, from entry to exit: rosters and movement histories."""

    name = STAYS
    contract = registry

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.data["stay_id"]

    @on(MachineEntered)
    def entered(self, doc, e: MachineEntered, envelope: EventEnvelope):
        doc = dict(doc or {})
        doc.update(e.model_dump(mode="json", include={
            "stay_id", "site_code", "district", "department", "machine", "other_province", "colour", "reason",
            "working_period", "reported_category", "reported_stage", "stage_mismatch", "batch_id", "batch_size",
            "zones", "entered_on"}))
        doc.update(code=e.machine.code, machine_key=parse_code(e.machine.code).machine_key,
                   entered_at=envelope.time.isoformat(), entered_by=envelope.actorid)
        doc.setdefault("inside", True)
        return doc

    @on(MachineExited)
    def exited(self, doc, e: MachineExited, envelope: EventEnvelope):
        return {**(doc or {}), "inside": False, "exited_on": e.exited_on.isoformat(),
                "exited_at": envelope.time.isoformat(), "exited_by": envelope.actorid, "site_code": e.site_code,
                "exited_with": e.code}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("site_code", ASCENDING), ("inside", ASCENDING)])
        await collection.create_index([("site_code", ASCENDING), ("entered_on", DESCENDING)])
        await collection.create_index([("code", ASCENDING), ("entered_at", DESCENDING)])
        await collection.create_index([("machine_key", ASCENDING), ("entered_at", DESCENDING)])


class GateRefusals(Projection):
    name = REFUSALS
    contract = registry

    @on(EntryRefused)
    def refused(self, doc, e: EntryRefused, envelope: EventEnvelope):
        return {**e.model_dump(mode="json", include={"site_code", "district", "scanned", "code", "reason", "message",
                                                      "other_site_code", "batch_id", "zones"}),
                "at": envelope.time.isoformat(), "by": envelope.actorid}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("site_code", ASCENDING), ("at", DESCENDING)])


class Anomalies(Projection):
    """Machines scanned in at one site while still inside another: for inspectors."""

    name = ANOMALIES
    contract = registry

    def doc_id(self, envelope: EventEnvelope) -> str:
        return f"{envelope.streamid}:{envelope.streamversion}"

    @on(MachineOnTwoSites)
    def two_sites(self, doc, e: MachineOnTwoSites, envelope: EventEnvelope):
        return {"kind": "machine_on_two_sites", "code": e.code, "site_code": e.site_code, "district": e.district,
                "inside_site_codes": e.inside_site_codes, "admitted": e.admitted, "at": envelope.time.isoformat()}

    async def ensure_indexes(self, collection) -> None:
        # a district's newest, or the city's newest (sites/app/queries.py anomalies)
        await collection.create_index([("district", ASCENDING), ("at", DESCENDING)])
        await collection.create_index([("at", DESCENDING)])
