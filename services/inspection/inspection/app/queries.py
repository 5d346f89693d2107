"""Queries over the inspection service's read models, with each reader's view (deny by default)."""

from __future__ import annotations

from collections import Counter

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import NotFound
from nrmm_kernel.identity import mask_mobile
from nrmm_kernel.reference import Role

from ..projections.own import CHECKS, VIOLATIONS
from . import access
from .machines import Facts, RegistryWord

LIST_LIMIT = 200


def _public(doc: dict | None) -> dict | None:
    return None if doc is None else {k: v for k, v in doc.items() if not k.startswith("_")}


def _masked_operator(operator: dict | None) -> dict | None:
    return None if not operator else {**operator, "mobile": mask_mobile(operator.get("mobile") or "")}


def view(who: Principal, doc: dict) -> dict:
    """Phone numbers are masked for every reader but the auditor (as the registry masks them)."""
    out = _public(doc)
    if who.role is Role.AUDITOR:
        return out
    if out.get("operator"):
        out["operator"] = _masked_operator(out["operator"])
    if (out.get("addressee") or {}).get("operator"):
        out["addressee"] = {**out["addressee"], "operator": _masked_operator(out["addressee"]["operator"])}
    return out


class Queries:
    def __init__(self, db: AsyncDatabase, registry_word: RegistryWord | None = None):
        self.db = db
        self.facts = Facts(db, registry_word)

    async def scan(self, who: Principal, site_code: str, qr: str | None, code: str | None) -> dict:
        """rule D4: what an inspector sees on scanning a card: the registration (masked), its photos, and whether the
        machine has an open stay at this site."""
        site = await self.facts.site(site_code)
        access.require_inspector_at(who, site)
        scanned = await self.facts.scan(qr, code)
        record = scanned.record or {}
        stay = await self.facts.open_stay(site["site_code"], scanned.code.machine_key)
        return {
            "code": scanned.code.text, "other_province": scanned.record is None, "stage": scanned.stage,
            "registry_status": record.get("status"), "current_code": record.get("code"),
            "registrant": record.get("registrant"),  # ID number and mobile masked in the copy itself
            "machine": record.get("machine"), "photos": record.get("photos", {}),
            "open_stay": {k: stay.get(k) for k in ("stay_id", "entered_on", "zones")} if stay else None,
            "site": {k: site.get(k) for k in ("site_code", "name", "district", "department", "company")},
        }

    async def check(self, who: Principal, check_id: str) -> dict:
        doc = await self.db[CHECKS].find_one({"_id": check_id})
        if doc is None:
            raise NotFound("检查记录不存在 (no such check)", code="unknown_check", field="check_id")
        access.require_read(who, doc)
        return view(who, doc)

    async def violation(self, who: Principal, violation_id: str) -> dict:
        doc = await self.db[VIOLATIONS].find_one({"_id": violation_id})
        if doc is None:
            raise NotFound("违规记录不存在 (no such violation)", code="unknown_violation", field="violation_id")
        access.require_read(who, doc)
        return view(who, doc)

    async def violations(self, who: Principal, *, site_code: str | None = None, status: str | None = None,
                         code: str | None = None, overdue: bool | None = None) -> list[dict]:
        query = access.staff_filter(who)
        for key, value in (("site_code", site_code), ("status", status), ("machine.code", code),
                           ("overdue", overdue)):
            if value is not None and key not in query:
                query[key] = value
        cursor = self.db[VIOLATIONS].find(query, limit=LIST_LIMIT)
        rows = [view(who, d) async for d in cursor]
        return sorted(rows, key=lambda d: d.get("opened_at") or "", reverse=True)

    async def checks(self, who: Principal, *, site_code: str | None = None) -> list[dict]:
        query = access.staff_filter(who)
        if site_code is not None and "site_code" not in query:
            query["site_code"] = site_code
        cursor = self.db[CHECKS].find(query, limit=LIST_LIMIT, sort=[("at", DESCENDING)])
        return [view(who, d) async for d in cursor]

    async def repeat_offences(self, who: Principal, by: str) -> list[dict]:
        """Violations counted per machine, owner or company; repeat offenders first."""
        key = {"machine": "machine_key", "owner": "owner_account_id", "company": "company_name"}[by]
        counts: Counter = Counter()
        async for doc in self.db[VIOLATIONS].find(access.staff_filter(who), projection={key: 1, "serial_key": 1}):
            value = doc.get(key) or (doc.get("serial_key") if by == "machine" else None)
            if value:
                counts[value] += 1
        return [{"by": by, "key": k, "violations": n, "repeat": n > 1} for k, n in counts.most_common(LIST_LIMIT)]
