"""Queries over the sites service's read models, each limited to what the caller may see."""

from __future__ import annotations

from datetime import date

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel import keyset
from nrmm_kernel.auth import Principal
from nrmm_kernel.codes import MalformedCode, parse_code
from nrmm_kernel.errors import Forbidden, NotFound, ValidationFailed
from nrmm_kernel.identity import mask_mobile
from nrmm_kernel.reference import DISTRICTS, Role

from ..domain.zones import ZoneDefinition
from ..projections.codes import REGISTRY_CODES
from ..projections.sites import ANOMALIES, REFUSALS, SITES, STAYS, ZONES
from . import access


def _public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def site_view(doc: dict, who: Principal) -> dict:
    out = _public(doc)
    if who.role not in (Role.SITE_ADMIN, Role.AUDITOR):  # rule: phones masked for all but the owner and auditors
        details = dict(out["details"])
        details["manager"] = {**details["manager"], "mobile": mask_mobile(details["manager"]["mobile"])}
        out["details"] = details
    return out


def _code(text: str) -> str:
    try:
        return parse_code(text).text
    except MalformedCode as exc:
        raise ValidationFailed(exc.message, code="malformed_code", field="code") from None


class SitesQueries:
    def __init__(self, db: AsyncDatabase):
        self.db = db

    async def _site_doc(self, site_code: str) -> dict:
        doc = await self.db[SITES].find_one({"_id": f"site-{site_code}"})
        if doc is None:
            raise NotFound("场地不存在 (no such site)", field="site_code")
        return doc

    async def site(self, who: Principal, site_code: str) -> dict:
        doc = await self._site_doc(site_code)
        access.require_read_site(who, doc)
        return site_view(doc, who)

    async def search(self, who: Principal, *, district: str | None, department: str | None, status: str | None,
                     limit: int, skip: int, after: str | None = None) -> tuple[list[dict], str | None]:
        """A page of sites in code order, and the next page's cursor (keyset: ``after``)."""
        if who.role is Role.SITE_ADMIN:
            return ([await self.site(who, who.site_id)] if who.site_id else []), None
        if who.role not in access.SITE_READERS:
            raise Forbidden("无权查看场地 (role not allowed)", code="role_not_allowed")
        if district is not None and district not in DISTRICTS:
            raise ValidationFailed("区县代码不存在 (01-41)", code="unknown_district", field="district")
        query = access.staff_filter(who)
        for key, value in (("district", district), ("department", department)):
            if value is not None:
                if key in query and query[key] != value:
                    raise Forbidden("无权查看其他区县或部门的场地 (outside your jurisdiction)",
                                    code="outside_jurisdiction")
                query[key] = value
        if status is not None:
            query["status"] = status
        docs, cursor = await keyset.page(self.db[SITES], query, [("site_code", ASCENDING)], limit, after, skip)
        return [site_view(d, who) for d in docs], cursor

    async def roster(self, who: Principal, site_code: str) -> list[dict]:
        access.require_read_site(who, await self._site_doc(site_code))
        docs = await self.db[STAYS].find({"site_code": site_code, "inside": True}).sort("entered_at", ASCENDING) \
            .to_list(5000)
        return [_public(d) for d in docs]

    async def movements(self, who: Principal, site_code: str, *, date_from: date | None, date_to: date | None,
                        code: str | None, limit: int, skip: int,
                        after: str | None = None) -> tuple[list[dict], str | None]:
        access.require_read_site(who, await self._site_doc(site_code))
        query: dict = {"site_code": site_code}
        if date_from or date_to:
            query["entered_on"] = {k: v.isoformat() for k, v in (("$gte", date_from), ("$lte", date_to)) if v}
        if code:
            query["code"] = _code(code)
        docs, cursor = await keyset.page(self.db[STAYS], query, [("entered_at", DESCENDING)], limit, after, skip)
        return [_public(d) for d in docs], cursor

    async def refusals(self, who: Principal, site_code: str, limit: int) -> list[dict]:
        access.require_read_site(who, await self._site_doc(site_code))
        docs = await self.db[REFUSALS].find({"site_code": site_code}).sort("at", DESCENDING).to_list(limit)
        return [_public(d) for d in docs]

    async def machine_stays(self, who: Principal, code: str, limit: int) -> list[dict]:
        """A machine's site history, under every stage its code had (rule C7): its owner sees all of it; a site
        admin their site; staff their sites."""
        code = _code(code)
        query: dict = {"machine_key": parse_code(code).machine_key}
        if who.role is Role.OWNER:
            record = await self.db[REGISTRY_CODES].find_one({"codes": code},
                                                             projection={"owner_account_id": 1, "owner_since": 1})
            if record is None or record.get("owner_account_id") != who.account_id:
                raise Forbidden("这不是您的机械 (not your machine)", code="not_owner")
            if record.get("owner_since"):  # stays since the owner took the machine over (or still open then)
                query["$or"] = [{"entered_at": {"$gte": record["owner_since"]}}, {"inside": True},
                                {"exited_at": {"$gte": record["owner_since"]}}]
        elif who.role is Role.SITE_ADMIN:
            query["site_code"] = who.site_id
        elif who.role in access.SITE_READERS:
            query.update(access.staff_filter(who))
        else:
            raise Forbidden("无权查看 (role not allowed)", code="role_not_allowed")
        docs = await self.db[STAYS].find(query).sort("entered_at", DESCENDING).to_list(limit)
        return [_public(d) for d in docs]

    async def anomalies(self, who: Principal, district: str | None, limit: int) -> list[dict]:
        # a two-site anomaly spans sites of any department: the ecology bureau's staff and auditors read them
        if who.role not in (Role.INSPECTOR, Role.REVIEWER, Role.ADMIN, Role.AUDITOR) \
                or not access.sees_all_departments(who):
            raise Forbidden("无权查看 (role not allowed)", code="role_not_allowed")
        query: dict = {}
        if not who.city_level:
            if district is not None and district != who.district:
                raise Forbidden("无权查看其他区县 (outside your jurisdiction)", code="outside_jurisdiction")
            query["district"] = who.district
        elif district is not None:
            query["district"] = district
        docs = await self.db[ANOMALIES].find(query).sort("at", DESCENDING).limit(limit).to_list(limit)
        return [_public(d) for d in docs]

    async def zones(self, who: Principal, district: str | None, include_inactive: bool) -> list[dict]:
        if who.role not in (*access.SITE_READERS, Role.SITE_ADMIN):
            raise Forbidden("无权查看 (role not allowed)", code="role_not_allowed")
        query: dict = {} if include_inactive else {"active": True}
        if district is not None:
            query["district"] = district
        docs = await self.db[ZONES].find(query).sort("zone_id", ASCENDING).to_list(1000)
        return [_zone_view(_public(d)) for d in docs]


def _zone_view(doc: dict) -> dict:
    """A zone as the API shows it: its polygons as GeoJSON, not the text the read model keeps (domain/zones.py)."""
    definition = doc.get("definition") or {}
    if isinstance(definition.get("geometry"), str):
        doc["definition"] = ZoneDefinition.model_validate(definition).model_dump()
    return doc
