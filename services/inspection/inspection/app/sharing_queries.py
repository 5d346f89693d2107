"""Queries of data sharing: follow-up tasks and their progress (rule D5), public disclosures (rule N1), spot
checks and their results per manufacturer (rule N2). Read models only."""

from __future__ import annotations

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel import keyset
from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import NotFound

from ..domain.rules import normalise
from ..domain.special_equipment import model_key
from ..projections.sharing import DISCLOSURES, SPECIAL_EQUIPMENT, SPOT_CHECKS
from .sharing_access import reader_district


def _public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


class SharingQueries:
    def __init__(self, db: AsyncDatabase):
        self.equipment = db[SPECIAL_EQUIPMENT]
        self.disclosures = db[DISCLOSURES]
        self.spots = db[SPOT_CHECKS]

    async def follow_ups(self, who: Principal, *, district: str | None, state: str | None, limit: int,
                         skip: int, after: str | None = None) -> dict:
        """rule D5: special equipment without a code, per district, with the user unit to contact; paged by a
        cursor (``next_cursor``, then ``after``)."""
        district = reader_district(who, district)
        query: dict = {"follow_up_state": state} if state else {"follow_up_state": {"$in": ["open", "closed"]}}
        if district:
            query["district"] = district
        total = await self.equipment.count_documents(query)
        docs, cursor = await keyset.page(self.equipment, query, [], limit, after, skip)
        return {"total": total, "items": [_public(d) for d in docs], "next_cursor": cursor}

    async def progress(self, who: Principal, *, district: str | None) -> dict:
        """How far the follow-ups have come: open and closed per district (and in all)."""
        district = reader_district(who, district)
        match: dict = {"follow_up_state": {"$in": ["open", "closed"]}}
        if district:
            match["district"] = district
        rows = await (await self.equipment.aggregate([
            {"$match": match},
            {"$group": {"_id": {"district": "$district", "state": "$follow_up_state"}, "n": {"$sum": 1}}},
        ])).to_list(None)
        per: dict[str, dict] = {}
        for row in rows:
            entry = per.setdefault(row["_id"]["district"], {"district": row["_id"]["district"], "open": 0,
                                                            "closed": 0})
            entry[row["_id"]["state"]] = row["n"]
        districts = sorted(per.values(), key=lambda e: e["district"])
        for entry in districts:
            entry["total"] = entry["open"] + entry["closed"]
            entry["closed_share"] = round(entry["closed"] / entry["total"], 4) if entry["total"] else 0.0
        opened = sum(e["open"] for e in districts)
        closed = sum(e["closed"] for e in districts)
        return {"open": opened, "closed": closed, "total": opened + closed, "districts": districts}

    async def equipment_record(self, who: Principal, registration_number: str) -> dict:
        reader_district(who, None)  # the department first: other departments learn nothing, not even absence
        doc = await self.equipment.find_one({"_id": normalise(registration_number)})
        if doc is None:
            raise NotFound("特种设备记录不存在 (no such record)", code="equipment_not_found",
                           field="registration_number")
        reader_district(who, doc.get("district"))
        return _public(doc)

    async def disclosure(self, brand: str, model: str) -> dict:
        """rule N1: a model's disclosed facts, for anyone."""
        doc = await self.disclosures.find_one({"_id": model_key(brand, model)})
        if doc is None:
            raise NotFound("该型号未公开排放信息 (no disclosure of this model)", code="disclosure_not_found",
                           field="model")
        return _public(doc)

    async def spot_checks(self, who: Principal, *, district: str | None, manufacturer: str | None, limit: int,
                          skip: int, after: str | None = None) -> tuple[list[dict], str | None]:
        district = reader_district(who, district)
        query: dict = {}
        if district:
            query["district"] = district
        if manufacturer:
            query["manufacturer_key"] = "".join(manufacturer.split()).upper()
        docs, cursor = await keyset.page(self.spots, query, [("recorded_at", DESCENDING)], limit, after, skip)
        return [_public(d) for d in docs], cursor

    async def by_manufacturer(self, who: Principal, *, district: str | None) -> list[dict]:
        """rule N2: spot-check results per manufacturer: checked, passed, failed, and each finding's count."""
        district = reader_district(who, district)
        # folded here: spot checks are made by hand (thousands a year), and FerretDB lacks $first and $cond
        per: dict[str, dict] = {}
        async for doc in self.spots.find({"district": district} if district else {},
                                               projection={"manufacturer_key": 1, "manufacturer": 1, "passed": 1,
                                                           "findings.kind": 1}):
            entry = per.setdefault(doc["manufacturer_key"], {"manufacturer": doc["manufacturer"], "checked": 0,
                                                             "passed": 0, "findings": {}})
            entry["checked"] += 1
            entry["passed"] += bool(doc.get("passed"))
            for finding in doc.get("findings", []):
                entry["findings"][finding["kind"]] = entry["findings"].get(finding["kind"], 0) + 1
        out = [{**e, "failed": e["checked"] - e["passed"], "pass_rate": round(e["passed"] / e["checked"], 4)}
               for e in per.values()]
        return sorted(out, key=lambda r: (-r["failed"], r["manufacturer"]))
