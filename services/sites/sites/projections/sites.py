"""Read models of the sites service's own events."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from nrmm_kernel.codes import parse_code
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projector import Projection

SITES = "sites"
ZONES = "zones"
STAYS = "stays"
REFUSALS = "gate_refusals"
ANOMALIES = "anomalies"


class Sites(Projection):
    """One document per site: details, status, and the flat fields searches filter on."""

    name = SITES
    event_names = frozenset({"SiteRegistered", "SiteUpdated", "SiteStatusChanged"})

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        doc = dict(doc or {})
        at = envelope.time.isoformat()
        match envelope.event_name:
            case "SiteRegistered":
                doc.update(site_code=d["site_code"], details=d["details"], status=d["status"],
                           admin_account_id=d["admin_account_id"], registered_at=at, history=[])
            case "SiteUpdated":
                doc["details"] = d["details"]
            case "SiteStatusChanged":
                doc["status"] = d["status"]
        details = doc["details"]
        coordinates = details.get("coordinates") or {}
        doc.update(district=details["district"], department=details["department"], category=details["category"],
                   name=details["name"], street=details["address"]["street"],
                   longitude=coordinates.get("longitude"), latitude=coordinates.get("latitude"), updated_at=at)
        extra = {k: d[k] for k in ("status", "reason", "changed_fields") if k in d}
        doc["history"] = [*doc["history"], {"event": envelope.event_name, "at": at, "actor_id": envelope.actorid,
                                            "actor_role": envelope.actorrole, **extra}]
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("district", ASCENDING), ("department", ASCENDING), ("status", ASCENDING)])


class Zones(Projection):
    """One document per restricted zone, with the version entry decisions record."""

    name = ZONES
    event_names = frozenset({"ZoneDefined", "ZoneChanged"})

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        doc = dict(doc or {"zone_id": envelope.streamid.removeprefix("zone-"), "defined_at": envelope.time.isoformat()})
        doc.update(definition=d["definition"], district=d["definition"]["district"], active=d.get("active", True),
                   version=envelope.streamversion, updated_at=envelope.time.isoformat())
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("district", ASCENDING), ("active", ASCENDING)])


class Stays(Projection):
    """One document per stay of a machine on a site, from entry to exit: rosters and movement histories."""

    name = STAYS
    event_names = frozenset({"MachineEntered", "MachineExited"})

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.data["stay_id"]

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        doc = dict(doc or {})
        if envelope.event_name == "MachineEntered":
            doc.update(stay_id=d["stay_id"], site_code=d["site_code"], code=d["machine"]["code"],
                       machine_key=parse_code(d["machine"]["code"]).machine_key,
                       district=d["district"], department=d["department"], machine=d["machine"],
                       other_province=d["other_province"], colour=d["colour"], reason=d["reason"],
                       working_period=d["working_period"], reported_category=d.get("reported_category"),
                       reported_stage=d.get("reported_stage"), stage_mismatch=d.get("stage_mismatch", False),
                       batch_id=d.get("batch_id"), batch_size=d.get("batch_size", 1), zones=d.get("zones", []),
                       entered_on=d["entered_on"], entered_at=envelope.time.isoformat(),
                       entered_by=envelope.actorid)
            doc.setdefault("inside", True)
        else:
            doc.update(inside=False, exited_on=d["exited_on"], exited_at=envelope.time.isoformat(),
                       exited_by=envelope.actorid, site_code=d["site_code"], exited_with=d["code"])
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("site_code", ASCENDING), ("inside", ASCENDING)])
        await collection.create_index([("site_code", ASCENDING), ("entered_on", DESCENDING)])
        await collection.create_index([("code", ASCENDING), ("entered_at", DESCENDING)])
        await collection.create_index([("machine_key", ASCENDING), ("entered_at", DESCENDING)])


class GateRefusals(Projection):
    name = REFUSALS
    event_names = frozenset({"EntryRefused"})

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        return {**{k: d.get(k) for k in ("site_code", "district", "scanned", "code", "reason", "message",
                                          "other_site_code", "batch_id")},
                "zones": d.get("zones", []), "at": envelope.time.isoformat(), "by": envelope.actorid}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("site_code", ASCENDING), ("at", DESCENDING)])


class Anomalies(Projection):
    """Machines scanned in at one site while still inside another: for inspectors."""

    name = ANOMALIES
    event_names = frozenset({"MachineOnTwoSites"})

    def doc_id(self, envelope: EventEnvelope) -> str:
        return f"{envelope.streamid}:{envelope.streamversion}"

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        return {"kind": "machine_on_two_sites", "code": d["code"], "site_code": d["site_code"],
                "district": d["district"], "inside_site_codes": d["inside_site_codes"], "admitted": d["admitted"],
                "at": envelope.time.isoformat()}
