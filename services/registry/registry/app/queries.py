"""Queries over the registry's read models, with each role's view (deny by default)."""

from __future__ import annotations

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel import keyset
from nrmm_kernel.auth import Principal
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.codes import MalformedCode, parse_code
from nrmm_kernel.errors import Forbidden, NotFound, ValidationFailed
from nrmm_kernel.identity import mask_id_number, mask_mobile
from nrmm_kernel.personal import ERASED, SubjectKeys
from nrmm_kernel.reference import Department, Role, is_district
from nrmm_kernel.sealing import open_values

from ..projections.machines import MACHINES

UNMASKED_STAFF = frozenset({Role.AUDITOR})
# Who reads what (deny by default; the routes name the same sets):
# the review queue and applications: the ecology bureau's reviewers and administrators, and auditors
QUEUE_ROLES = (Role.REVIEWER, Role.ADMIN, Role.AUDITOR)
# searching machines: the above plus inspectors and (ecology) department viewers, within their district
SEARCH_ROLES = (*QUEUE_ROLES, Role.INSPECTOR, Role.DEPARTMENT_VIEWER)
# one machine by its code: also inspectors of any district (a machine registered in one district works on sites
# in others), and the site-bound, who see what a gate needs: site admins and supervision engineers (rule E6)
LOOKUP_ROLES = SEARCH_ROLES
ANY_DISTRICT_LOOKUP = frozenset({Role.INSPECTOR})
GATE_VIEW_ROLES = frozenset({Role.SITE_ADMIN, Role.SUPERVISION_ENGINEER})
# uploads: the machine's owner, reviewers and auditors; inspectors see the machine's pictures, not identity papers
UPLOAD_READERS = frozenset({Role.REVIEWER, Role.ADMIN, Role.AUDITOR, Role.INSPECTOR})
PRIVATE_UPLOADS = frozenset({"identity_proof"})
GATE_FIELDS = ("code", "status", "stage", "category", "district")
GATE_MACHINE_FIELDS = ("brand", "model", "rated_power_kw", "fuel", "emission_stage")
INCOMING_MACHINE_FIELDS = ("category", "brand", "model", "factory_serial", "emission_stage", "district")


def _public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def summary_of(doc: dict) -> dict:
    """A list's row: the record without its history (GET of the one record has it)."""
    return {k: v for k, v in doc.items() if k != "history"}


def _mask(value: str, mask) -> str:
    return value if value == ERASED else mask(value)


def masked(doc: dict) -> dict:
    out = _public(doc)
    if out.get("registrant"):
        r = dict(out["registrant"])
        r["id_number"], r["mobile"] = _mask(r["id_number"], mask_id_number), _mask(r["mobile"], mask_mobile)
        out["registrant"] = r
    return out


def owner_view(doc: dict, who: Principal) -> dict:
    """The current owner sees their machine, but nothing of the owners before them (rule C6)."""
    if doc.get("owner_account_id") != who.account_id:
        raise Forbidden("这不是您的机械 (not your machine)", code="not_owner")
    out = _public(doc)
    out.pop("previous_owners", None)
    since = doc.get("owner_since_version") or 0
    if since:
        out.pop("uploads", None)  # the previous owner's documents
    out["history"] = [
        {**h, "actor_id": h.get("actor_id") if h.get("actor_id") == who.account_id else None}
        if h["version"] >= since else {"event": h["event"], "version": h["version"], "at": h["at"]}
        for h in doc.get("history", [])
    ]
    return out


# the code register is the ecology bureau's (rule C1): other departments' viewers and administrators see machines
# through their sites, and only the bureau reviews and issues codes
ECOLOGY_ONLY = frozenset({Role.DEPARTMENT_VIEWER, Role.REVIEWER, Role.ADMIN})


def outside_registry_department(who: Principal) -> bool:
    return who.role in ECOLOGY_ONLY and who.department is not Department.ECOLOGY


def require_registry_department(who: Principal) -> None:
    if outside_registry_department(who):
        raise Forbidden("仅生态环境部门可查询编码登记 (ecology department only)", code="department_not_allowed")


def view_for(doc: dict, who: Principal, *, lookup: bool = False) -> dict:
    """What this principal may see of one machine record (``lookup``: reached by its code)."""
    if who.role is Role.OWNER:
        return owner_view(doc, who)
    if who.role in GATE_VIEW_ROLES and lookup:
        gate = {k: doc.get(k) for k in GATE_FIELDS}
        gate.update({k: (doc.get("machine") or {}).get(k) for k in GATE_MACHINE_FIELDS})
        gate["province"] = "N"
        return gate
    allowed = LOOKUP_ROLES if lookup else QUEUE_ROLES
    if who.role not in allowed:
        raise Forbidden("无权执行此操作 (role not allowed)", code="role_not_allowed")
    require_registry_department(who)
    if not (lookup and who.role in ANY_DISTRICT_LOOKUP):
        who.require_district(doc.get("district"))
    return _public(doc) if who.role in UNMASKED_STAFF else masked(doc)


def may_read_upload(meta: dict, record: dict | None, who: Principal) -> bool:
    if meta["owner_account_id"] == who.account_id:
        return True
    if who.role not in UPLOAD_READERS or record is None:
        return False
    if who.role is Role.INSPECTOR:
        return meta["kind"] not in PRIVATE_UPLOADS
    if outside_registry_department(who):
        return False
    return who.can_see_district(record.get("district"))


class RegistryQueries:
    """The read model holds the registrant sealed (#14): each query opens it for the reader, whose view then masks
    it as before; a forgotten person's values read as ``ERASED``."""

    def __init__(self, db: AsyncDatabase, keys: SubjectKeys | None = None):
        self.db = db
        self.machines = db[MACHINES]
        self.keys = keys or SubjectKeys(db)

    async def _opened(self, doc: dict) -> dict:
        if doc.get("registrant"):
            doc = {**doc, "registrant": await open_values(self.keys, doc["registrant"])}
        return doc

    async def record(self, machine_id: str) -> dict:
        doc = await self.machines.find_one({"_id": f"machine-{machine_id}"})
        if doc is None:
            raise NotFound("申请不存在 (no such application)", field="machine_id")
        return await self._opened(doc)

    async def by_code(self, code: str) -> dict:
        try:
            text = parse_code(code).text
        except MalformedCode as exc:
            raise ValidationFailed(exc.message, code="malformed_code", field="code") from None
        doc = await self.machines.find_one({"code": text})
        if doc is None:
            raise NotFound("编码不存在 (no such code)", field="code")
        return await self._opened(doc)

    async def mine(self, who: Principal, *, issued_only: bool = False) -> list[dict]:
        query: dict = {"owner_account_id": who.account_id}
        if issued_only:
            query["code"] = {"$exists": True}
        docs = await self.machines.find(query).sort("updated_at", DESCENDING).to_list(500)
        return [owner_view(await self._opened(d), who) for d in docs]

    async def owner_changes(self, who: Principal) -> dict:
        """Pending owner changes (rule C6): those offered to this owner, with what they need to recognise the machine
        (nothing of the present owner), and those this owner offered. Lapsed ones are left out."""
        today = today_in_chongqing().isoformat()
        offered = await self.machines.find({"owner_change.new_owner_account_id": who.account_id}).to_list(500)
        incoming = [{"code": d.get("code"), "status": d.get("status"), **d["owner_change"],
                     "machine": {k: (d.get("machine") or {}).get(k) for k in INCOMING_MACHINE_FIELDS}}
                    for d in offered if d["owner_change"]["expires_on"] >= today]
        mine = await self.machines.find({"owner_account_id": who.account_id}).to_list(500)
        outgoing = [{"code": d.get("code"), **d["owner_change"]} for d in mine
                    if d.get("owner_change") and d["owner_change"]["expires_on"] >= today]
        return {"incoming": incoming, "outgoing": outgoing}

    async def search(self, who: Principal, *, district: str | None = None, status: str | None = None,
                     late: bool | None = None, category: str | None = None, stage: str | None = None,
                     issued_only: bool = False, limit: int = 100, skip: int = 0,
                     after: str | None = None) -> tuple[list[dict], str | None]:
        """A page of summaries (the history is on the detail), newest change first, and the next page's cursor
        (keyset: ``after``; ``skip`` is kept for old clients)."""
        require_registry_department(who)
        if district is not None and not is_district(district):
            raise ValidationFailed("区县代码不存在 (01-41)", code="unknown_district", field="district")
        if not who.city_level:
            if district is not None and district != who.district:
                raise Forbidden("无权访问其他区县的数据 (outside your jurisdiction)", code="outside_jurisdiction")
            district = who.district
        query: dict = {}
        for key, value in (("district", district), ("status", status), ("late", late), ("category", category),
                           ("stage", stage)):
            if value is not None:
                query[key] = value
        if issued_only:
            query["code"] = {"$exists": True}
        docs, cursor = await keyset.page(self.machines, query, [("updated_at", DESCENDING)], limit, after, skip)
        view = _public if who.role in UNMASKED_STAFF else masked
        return [summary_of(view(await self._opened(d))) for d in docs], cursor
