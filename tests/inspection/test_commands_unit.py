"""Every command handler of the inspection service, without infrastructure: the in-memory event store, PyMongo's async
API over mongomock, and the copies of the registry's and the sites' facts built by this service's own projections
from those services' real events. Over HTTP, on the real database and broker: the ``integration`` tests beside it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from inspection.app.checks import CheckCommands
from inspection.app.duties import DutyCommands
from inspection.app.requests import (
    CheckIn,
    ContractIn,
    FuelReceiptIn,
    ManagementRulesIn,
    ProjectOwnerIn,
    RectificationIn,
    ReviewIn,
    SmokeReading,
    WithdrawalIn,
)
from inspection.app.scheduler import Scheduler
from inspection.app.uploads import UploadStore
from inspection.app.violations import ViolationCommands
from inspection.domain.rules import deadline_days
from inspection.projections import registry_projections, sites_projections
from nrmm_kernel.auth import Principal
from nrmm_kernel.errors import Conflict, Forbidden
from nrmm_kernel.memory_store import InMemoryEventStore
from nrmm_kernel.projection import apply_event
from nrmm_kernel.reference import Department, Role
from registry.domain.events import registry as registry_events
from registry.domain.machine import MachineRecord
from registry.domain.model import MachineInfo, Registrant
from sites.domain.events import registry as sites_events
from sites.domain.model import SiteDetails, SiteStatus
from sites.domain.site import Site
from tests.memory_db import MemoryDatabase
from tests.registry.fixtures import TODAY, credit_code, machine, registrant, uploads
from tests.unit.test_sites_domain import details

NOW = datetime(2026, 11, 28, 2, tzinfo=UTC)
CODE = "4-N04ABCDE"
OWNER = Principal(account_id="owner-1", role=Role.OWNER)
INSPECTOR = Principal(account_id="insp-1", role=Role.INSPECTOR, department=Department.ECOLOGY, district="04")
SITE_ADMIN = Principal(account_id="acc-S-1", role=Role.SITE_ADMIN, site_id="S-1", district="04")
ENGINEER = Principal(account_id="eng-1", role=Role.SUPERVISION_ENGINEER, site_id="S-1", district="04")


async def project(db: MemoryDatabase, projections, contract, stream_id: str, events) -> None:
    """What this service's projections of another service's topic make of those events."""
    for version, event in enumerate(events, start=1):
        envelope = contract.wrap(event, stream_id=stream_id, stream_version=version)
        for projection in projections:
            if type(event) in projection._handlers:
                await apply_event(db[projection.name], projection, envelope)


@pytest.fixture
async def db() -> MemoryDatabase:
    db = MemoryDatabase()
    record = MachineRecord.apply_for("m1", owner_account_id=OWNER.account_id, registrant=Registrant(**registrant()),
                                     machine=MachineInfo(**machine(district="04")), uploads=uploads(), today=TODAY)
    record.approve(reviewer_account_id="rev-1", code=CODE, today=TODAY)
    await project(db, registry_projections(), registry_events, "machine-m1", record.pending)
    site = Site.register("S-1", details=SiteDetails(**details()), status=SiteStatus.IN_CONSTRUCTION,
                         admin_account_id=SITE_ADMIN.account_id)
    await project(db, sites_projections(), sites_events, "site-S-1", site.pending)
    for who, kind in ((INSPECTOR, "evidence_photo"), (OWNER, "rectification_evidence"),
                      (SITE_ADMIN, "management_rules"), (SITE_ADMIN, "contract"), (SITE_ADMIN, "fuel_receipt_photo")):
        await db["uploads.files"].insert_one({"_id": f"{who.account_id}-{kind}",
                                              "metadata": {"account_id": who.account_id, "kind": kind}})
    return db


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
def checks(db, store) -> CheckCommands:
    return CheckCommands(db, store, UploadStore(db), deadline_days=deadline_days(), clock=lambda: NOW)


@pytest.fixture
def violations(db, store) -> ViolationCommands:
    return ViolationCommands(store, UploadStore(db))


def check_in(**overrides) -> CheckIn:
    return CheckIn(**{"site_code": "S-1", "code": CODE, "plate": "missing", "card_carried": False,
                      "photos": ["insp-1-evidence_photo"], **overrides})


async def test_a_check_opens_violations_that_are_rectified_reviewed_and_withdrawn(checks, violations):
    answered = await checks.record_check(INSPECTOR, check_in(), idempotency_key="k-1")
    opened = {v["kind"]: v["violation_id"] for v in answered["violations"]}
    assert {"plate_missing", "card_missing"} <= set(opened)
    again = await checks.record_check(INSPECTOR, check_in(), idempotency_key="k-1")
    assert again["replayed"] and again["check_id"] == answered["check_id"]  # recorded once
    with pytest.raises(Forbidden):
        await checks.record_check(OWNER, check_in())
    plate = opened["plate_missing"]
    with pytest.raises(Forbidden):  # only the owner or the site rectifies
        await violations.rectify(INSPECTOR, plate, RectificationIn(measure="repair"))
    submitted = await violations.rectify(OWNER, plate, RectificationIn(measure="repair",
                                                                      evidence=["owner-1-rectification_evidence"]))
    assert submitted["status"] == "rectification_submitted"
    closed = await violations.review(INSPECTOR, plate, ReviewIn(accepted=True))
    assert closed["status"] == "closed"
    withdrawn = await violations.withdraw(INSPECTOR, opened["card_missing"], WithdrawalIn(reason="误录"))
    assert withdrawn["status"] == "closed"


async def test_a_smoke_exceedance_closes_on_a_passed_retest(checks, violations):
    answered = await checks.record_check(INSPECTOR, check_in(plate="affixed", card_carried=True,
                                                             smoke=SmokeReading(k=3.0)))
    smoke = next(v["violation_id"] for v in answered["violations"] if v["kind"] == "smoke_exceedance")
    with pytest.raises(Conflict):  # rule D1: a retest follows a rectification
        await violations.retest(INSPECTOR, smoke, SmokeReading(k=0.2))
    await violations.rectify(OWNER, smoke, RectificationIn(measure="repair"))
    retested = await violations.retest(INSPECTOR, smoke, SmokeReading(k=0.2))
    assert retested["status"] == "closed" and retested["smoke"]["exceeded"] is False


async def test_the_scheduler_marks_an_open_violation_overdue_once(checks, db, store):
    answered = await checks.record_check(INSPECTOR, check_in())
    scheduler = Scheduler(db, store, clock=lambda: NOW)
    await scheduler.ensure_indexes()
    assert (await scheduler.run_once())["overdue"] == 0  # not due yet
    later = NOW + timedelta(days=60)
    assert (await scheduler.run_once(later))["overdue"] == len(answered["violations"])
    assert (await scheduler.run_once(later))["overdue"] == 0


async def test_a_sites_duties_rules_contracts_and_fuel_receipts(db, store):
    duties = DutyCommands(db, store, UploadStore(db))
    await duties.upload_rules(SITE_ADMIN, "S-1", ManagementRulesIn(title="机械管理制度",
                                                                    documents=["acc-S-1-management_rules"]))
    assert (await duties.review_rules(INSPECTOR, "S-1", ReviewIn(accepted=True)))["status"] == "accepted"
    with pytest.raises(Conflict) as first:
        await duties.upload_contract(SITE_ADMIN, "S-1", ContractIn(kind="construction", counterparty="中建某局",
                                                                   clauses="非道路移动机械条款",
                                                                   documents=["acc-S-1-contract"]))
    assert first.value.code == "project_owner_required"
    await duties.record_project_owner(SITE_ADMIN, "S-1", ProjectOwnerIn(name="某建设单位", credit_code=credit_code()))
    contract = await duties.upload_contract(SITE_ADMIN, "S-1", ContractIn(
        kind="construction", counterparty="中建某局", clauses="非道路移动机械条款", documents=["acc-S-1-contract"]))
    reviewed = await duties.review_contract(INSPECTOR, "S-1", contract["contract_id"], ReviewIn(accepted=False,
                                                                                              reason="缺少条款"))
    assert reviewed["status"] == "rejected"
    receipt = await duties.submit_receipt(SITE_ADMIN, "S-1", FuelReceiptIn(
        supplier="中石化", purchased_on=date(2026, 11, 20), quantity_litres=500, fuel_standard="GB 19147 车用柴油(VI)",
        photo="acc-S-1-fuel_receipt_photo"))
    with pytest.raises(Forbidden):
        await duties.decide_receipt(INSPECTOR, "S-1", receipt["receipt_id"], ReviewIn(accepted=True))  # rule E6
    decided = await duties.decide_receipt(ENGINEER, "S-1", receipt["receipt_id"], ReviewIn(accepted=True))
    assert decided["status"] == "accepted" and decided["stream_version"] == 7


async def test_the_scheduler_links_an_uncoded_machine_once_the_registry_codes_it(checks, db, store):
    uncoded = {"category": "excavator", "brand": "卡特彼勒", "model": "320GC", "factory_serial": "CAT-0001",
               "operator": {"user_unit": "某机械租赁公司", "contact_name": "赵六", "mobile": "13700001111"}}
    answered = await checks.record_check(INSPECTOR, CheckIn(site_code="S-1", uncoded=uncoded,
                                                            photos=["insp-1-evidence_photo"]))
    [violation] = [v for v in answered["violations"] if v["kind"] == "uncoded"]
    scheduler = Scheduler(db, store, clock=lambda: NOW)
    await scheduler.ensure_indexes()
    assert (await scheduler.run_once())["linked"] == 0  # not coded yet
    record = MachineRecord.apply_for(
        "m2", owner_account_id=OWNER.account_id, registrant=Registrant(**registrant()),
        machine=MachineInfo(**machine(district="04", brand="卡特彼勒", model="320GC", factory_serial="CAT-0001")),
        uploads=uploads(), today=TODAY)
    record.approve(reviewer_account_id="rev-1", code="4-N04CATCA", today=TODAY)
    await project(db, registry_projections(), registry_events, "machine-m2", record.pending)
    assert (await scheduler.run_once())["linked"] == 1
    assert (await scheduler.run_once())["linked"] == 0  # once
    check = await scheduler.checks.load(answered["check_id"])
    assert check.violations[violation["violation_id"]].closed
