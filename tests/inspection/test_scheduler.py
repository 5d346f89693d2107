"""The durable scheduler in-process against the real database, with an injected clock (no waiting): deadlines
filed by due day, caught up after days of downtime, each fired once, also by two schedulers at the same time; a
closed violation never fires; an uncoded machine links once coded."""

import asyncio
from datetime import UTC, datetime, timedelta

from inspection.app.checks import CheckCommands
from inspection.app.requests import CheckIn
from inspection.app.scheduler import Scheduler
from inspection.app.uploads import UploadStore
from inspection.domain.rules import ViolationKind, deadline_days
from inspection.projections.foreign import REGISTRY_MACHINES, SITES, STAYS
from nrmm_kernel.auth import Principal
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.reference import Department, Role

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
INSPECTOR = Principal(account_id="insp-1", role=Role.INSPECTOR, district="04", department=Department.WATER)
CODE = "3-N04ABCDE"


async def world(db) -> tuple[EventStore, CheckCommands]:
    """The copies of the sites' and the registry's facts a check reads, written as their projections would."""
    store = EventStore(db)
    await store.ensure_indexes()
    await db[SITES].insert_one({"_id": "S-1", "site_code": "S-1", "district": "04", "department": "housing",
                                "company": {"name": "中建某局", "credit_code": None}, "status": "in_construction"})
    await db[REGISTRY_MACHINES].insert_one({
        "_id": "machine-1", "registry_machine_id": "1", "codes": [CODE], "code": CODE, "status": "issued",
        "in_force": True, "owner_account_id": "owner-1", "registrant": {"name": "张三"},
        "machine": {"brand": "三一", "factory_serial": "A-1", "emission_stage": "3", "rated_power_kw": 118}})
    await db[STAYS].insert_one({"_id": "stay-1", "site_code": "S-1", "machine_key": "N04ABCDE", "inside": True})
    days = deadline_days({"card_missing": 1, "plate_missing": 3})
    clock = {"now": T0}
    commands = CheckCommands(db, store, UploadStore(db), deadline_days=days, clock=lambda: clock["now"])
    return store, commands


async def overdue_events(store: EventStore, check_id: str) -> list[str]:
    return [e.data["violation_id"].rsplit("-", 1)[1] for e in await store.read_stream(f"check-{check_id}")
            if e.event_name == "ViolationOverdue"]


async def test_deadlines_fire_once_after_days_of_downtime_and_closed_ones_never(db):
    store, commands = await world(db)
    body = CheckIn(site_code="S-1", code=CODE, plate="missing", card_carried=False)
    answer = await commands.record_check(INSPECTOR, body)
    kinds = {v["kind"] for v in answer["violations"]}
    assert kinds == {ViolationKind.PLATE_MISSING.value, ViolationKind.CARD_MISSING.value}
    check_id = answer["check_id"]

    scheduler = Scheduler(db, store)
    await scheduler.ensure_indexes()
    assert (await scheduler.run_once(T0 + timedelta(hours=23)))["overdue"] == 0
    # the service was down from day 0 to day 5: both deadlines (day 1 and day 3) are caught up at its start
    first, second = await asyncio.gather(Scheduler(db, store).run_once(T0 + timedelta(days=5)),
                                         Scheduler(db, store).run_once(T0 + timedelta(days=5)))
    assert first["overdue"] + second["overdue"] == 2
    assert sorted(await overdue_events(store, check_id)) == ["card_missing", "plate_missing"]
    assert (await scheduler.run_once(T0 + timedelta(days=6)))["overdue"] == 0
    states = {d["violation_id"].rsplit("-", 1)[1]: d["state"] async for d in db["deadlines"].find()}
    assert states == {"card_missing": "fired", "plate_missing": "fired"}


async def test_a_violation_closed_before_its_deadline_never_fires(db):
    store, commands = await world(db)
    answer = await commands.record_check(INSPECTOR, CheckIn(site_code="S-1", code=CODE, plate="affixed",
                                                            card_carried=False))
    violation = answer["violations"][0]["violation_id"]
    from inspection.app.requests import RectificationIn, ReviewIn
    from inspection.app.violations import ViolationCommands

    violations = ViolationCommands(store, UploadStore(db))
    owner = Principal(account_id="owner-1", role=Role.OWNER)
    await violations.rectify(owner, violation, RectificationIn(measure="card_carried"))
    await violations.review(INSPECTOR, violation, ReviewIn(accepted=True))
    result = await Scheduler(db, store).run_once(T0 + timedelta(days=2))
    assert result["overdue"] == 0 and await overdue_events(store, answer["check_id"]) == []
    assert (await db["deadlines"].find_one({"violation_id": violation}))["state"] == "settled"


async def test_an_uncoded_machine_links_to_its_owner_once_coded(db):
    store, commands = await world(db)
    photo = "P1"
    await db["uploads.files"].insert_one({"_id": photo, "metadata": {"account_id": "insp-1",
                                                                      "kind": "evidence_photo"}})
    body = CheckIn.model_validate({"site_code": "S-1", "photos": [photo], "uncoded": {
        "category": "forklift", "brand": "合力", "model": "CPCD30", "factory_serial": "hl 0001",
        "operator": {"user_unit": "租赁公司", "contact_name": "李四", "mobile": "13911112222"}}})
    answer = await commands.record_check(INSPECTOR, body)
    violation = answer["violations"][0]["violation_id"]
    scheduler = Scheduler(db, store)
    assert (await scheduler.run_once(T0))["linked"] == 0
    await db[REGISTRY_MACHINES].insert_one({
        "_id": "machine-2", "registry_machine_id": "2", "codes": ["4-N04FFFFF"], "code": "4-N04FFFFF",
        "status": "issued", "in_force": True, "owner_account_id": "owner-2", "serial_key": "合力|HL0001"})
    assert (await scheduler.run_once(T0))["linked"] == 1
    assert (await scheduler.run_once(T0))["linked"] == 0
    names = [e.event_name for e in await store.read_stream(f"check-{answer['check_id']}")]
    assert names == ["MachineChecked", "ViolationOpened", "ViolationLinked", "ViolationClosed"]
    assert (await db["uncoded_machines"].find_one({"_id": violation}))["state"] == "linked"
