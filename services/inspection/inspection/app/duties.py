"""The site's own duties, recorded and checked (rules D2, D4, E5, E6), and its registration coverage (rule D4)."""

from __future__ import annotations

import ulid
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.auth import Principal
from nrmm_kernel.eventstore import EventStore

from ..domain.duties import SiteDuties
from ..domain.events import registry
from ..projections.duties import DUTIES
from ..projections.own import CHECKS
from . import access
from .machines import Facts
from .requests import ContractIn, FuelReceiptIn, ManagementRulesIn, ProjectOwnerIn, ReviewIn
from .uploads import UploadKind, UploadStore


class DutyCommands:
    def __init__(self, db: AsyncDatabase, store: EventStore, uploads: UploadStore):
        self.facts = Facts(db)
        self.uploads = uploads
        self.duties = AggregateRepository(store, registry, SiteDuties, "duties")

    async def _load(self, site_code: str) -> tuple[dict, SiteDuties]:
        site = await self.facts.site(site_code)
        return site, await self.duties.load(site["site_code"]) or SiteDuties(site["site_code"])

    async def _save(self, who: Principal, duties: SiteDuties, **extra) -> dict:
        await self.duties.save(duties, actor=who.as_actor())
        return {"site_code": duties.id, "stream_version": duties.version, **extra}

    async def upload_rules(self, who: Principal, site_code: str, body: ManagementRulesIn) -> dict:
        site, duties = await self._load(site_code)
        access.require_site_admin_of(who, site["site_code"])  # rule E5: the construction company keeps them
        await self.uploads.check(who.account_id, UploadKind.MANAGEMENT_RULES, body.documents, "documents")
        duties.upload_rules(body.title, body.documents)
        answer = await self._save(who, duties, status="submitted")
        await self.uploads.attach(body.documents, access.site_record(site))
        return answer

    async def review_rules(self, who: Principal, site_code: str, body: ReviewIn) -> dict:
        site, duties = await self._load(site_code)
        access.require_inspector_at(who, site)  # rule E5: checked by inspectors
        duties.review_rules(body.accepted, body.reason)
        return await self._save(who, duties, status="accepted" if body.accepted else "rejected")

    async def record_project_owner(self, who: Principal, site_code: str, body: ProjectOwnerIn) -> dict:
        site, duties = await self._load(site_code)
        access.require_site_admin_of(who, site["site_code"])  # rule D2
        duties.record_project_owner(body.name, body.credit_code)
        return await self._save(who, duties)

    async def upload_contract(self, who: Principal, site_code: str, body: ContractIn) -> dict:
        site, duties = await self._load(site_code)
        access.require_site_admin_of(who, site["site_code"])  # rule D2
        await self.uploads.check(who.account_id, UploadKind.CONTRACT, body.documents, "documents")
        contract_id = str(ulid.ULID())
        duties.upload_contract(contract_id, kind=body.kind, counterparty=body.counterparty, clauses=body.clauses,
                               documents=body.documents)
        answer = await self._save(who, duties, contract_id=contract_id, status="submitted")
        await self.uploads.attach(body.documents, access.site_record(site))
        return answer

    async def review_contract(self, who: Principal, site_code: str, contract_id: str, body: ReviewIn) -> dict:
        site, duties = await self._load(site_code)
        access.require_inspector_at(who, site)  # rule D2: inspectors check the clauses
        duties.review_contract(contract_id, body.accepted, body.reason)
        return await self._save(who, duties, contract_id=contract_id,
                                status="accepted" if body.accepted else "rejected")

    async def submit_receipt(self, who: Principal, site_code: str, body: FuelReceiptIn) -> dict:
        site, duties = await self._load(site_code)
        access.require_site_admin_of(who, site["site_code"])  # rule E5: standard fuel, receipts kept
        await self.uploads.check(who.account_id, UploadKind.FUEL_RECEIPT_PHOTO, [body.photo], "photo")
        receipt_id = str(ulid.ULID())
        duties.submit_receipt(receipt_id, supplier=body.supplier, purchased_on=body.purchased_on,
                              quantity_litres=body.quantity_litres, fuel_standard=body.fuel_standard,
                              photo=body.photo)
        answer = await self._save(who, duties, receipt_id=receipt_id, status="submitted")
        await self.uploads.attach([body.photo], access.site_record(site))
        return answer

    async def decide_receipt(self, who: Principal, site_code: str, receipt_id: str, body: ReviewIn) -> dict:
        site, duties = await self._load(site_code)
        access.require_engineer_of(who, site)  # rule E6: the site's supervision engineer
        duties.decide_receipt(receipt_id, body.accepted, body.reason)
        return await self._save(who, duties, receipt_id=receipt_id,
                                status="accepted" if body.accepted else "rejected")


class DutyQueries:
    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.facts = Facts(db)

    async def duties(self, who: Principal, site_code: str) -> dict:
        site = await self.facts.site(site_code)
        access.require_read(who, access.site_record(site))
        doc = await self.db[DUTIES].find_one({"_id": site["site_code"]}) or {
            "site_code": site["site_code"], "management_rules": None, "project_owner": None, "contracts": [],
            "fuel_receipts": []}
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    async def coverage(self, who: Principal, site_code: str) -> dict:
        """rule D4: the machines inspectors found on the site against its entry records."""
        site = await self.facts.site(site_code)
        access.require_read(who, access.site_record(site))
        machines: dict[str, bool] = {}
        async for check in self.db[CHECKS].find({"site_code": site["site_code"]},
                                                projection={"machine": 1, "entry_registered": 1}):
            machine = check.get("machine") or {}
            key = machine.get("machine_key") or machine.get("serial_key")
            if key:
                machines[key] = machines.get(key, False) or bool(check.get("entry_registered"))
        registered = sum(machines.values())
        found = len(machines)
        return {"site_code": site["site_code"], "machines_found": found, "with_entry_record": registered,
                "without_entry_record": found - registered,
                "coverage": round(registered / found, 4) if found else None}
