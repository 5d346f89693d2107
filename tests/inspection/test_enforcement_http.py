"""The issue's first acceptance bullet, end to end over the gateway on real infrastructure: an inspector finds an
uncoded forklift (operator recorded) and a coded machine over the smoke limit at a site; both violations open; the
owner rectifies, a retest passes and the violation closes; the forklift is coded and its violation links to the new
owner and closes; a violation left past its deadline is marked overdue by the scheduler, also when the service was
down at the deadline (rules D1, D4, C1)."""

import asyncio
from datetime import datetime, timedelta

from inspection.app.scheduler import Scheduler
from inspection.domain.events import registry
from inspection.projections.own import VIOLATIONS, Violations
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.rebuild import rebuild
from nrmm_kernel.reference import Role
from nrmm_kernel.runtime import mongo_client
from tests.inspection.conftest import serial
from tests.platform import eventually


def test_coded_and_uncoded_machines_to_closure_and_overdue(platform):
    p = platform
    site, admin = p.register_site(district="04")
    owner = p.token(Role.OWNER, "owner-smoky")
    code = p.issue_code(owner="owner-smoky", district="04", stage="3")  # China III, 118 kW: class II, k <= 0.80
    stay = p.enter(site, admin, code)
    inspector = p.inspector("04")

    # the scan shows the registration (its personal data sealed by the registry, #14: not shown), its photos and the
    # open stay at this site
    seen = p.scanned(inspector, site, code, until=lambda d: d["open_stay"] is not None)
    assert seen["open_stay"]["stay_id"] == stay and seen["machine"]["brand"] == "三一"
    assert seen["registrant"]["id_number"] == seen["registrant"]["mobile"] == seen["registrant"]["name"] == "***"
    assert set(seen["photos"]) >= {"photo_front", "photo_back", "photo_left", "photo_right"}

    # a coded machine over the smoke limit: one violation, addressed to the owner and the site's company
    checked = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": site, "qr": f"NRMM:1:{code}", "plate": "affixed", "card_carried": True,
        "observed": {"brand": "三一", "model": "SY215C", "emission_stage": "3"},
        "photos": [p.photo(inspector)], "smoke": {"k": 1.35, "ringelmann": 1}})
    assert checked.status_code == 201, checked.text
    body = checked.json()
    assert body["entry_registered"] and body["stay_id"] == stay and body["discrepancies"] == []
    assert body["smoke"]["exceeded"] and body["smoke"]["exceeded_by"] == ["k"]
    assert body["smoke"]["limit_class"] == "II" and body["smoke"]["k_limit"] == 0.80
    assert "GB 36886-2018" in body["smoke"]["source"]
    assert [v["kind"] for v in body["violations"]] == ["smoke_exceedance"]
    smoke_violation = body["violations"][0]["violation_id"]

    # an uncoded forklift, recorded by brand, model, serial, photos and who operates it
    forklift_serial = serial()
    uncoded = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": site, "photos": [p.photo(inspector)],
        "uncoded": {"category": "forklift", "brand": "合力", "model": "CPCD30", "factory_serial": forklift_serial,
                    "operator": {"user_unit": "某某租赁公司", "contact_name": "李四", "mobile": "13911112222"}}})
    assert uncoded.status_code == 201, uncoded.text
    assert [v["kind"] for v in uncoded.json()["violations"]] == ["uncoded"]
    uncoded_violation = uncoded.json()["violations"][0]["violation_id"]

    opened = p.violation(owner, smoke_violation)
    assert opened["status"] == "open" and opened["addressee"]["company"]["name"] == "中建某局"
    assert opened["legal_basis"].startswith("GB 36886-2018")
    operator_view = p.violation(admin, uncoded_violation)  # the site's admin sees the site's violations
    assert operator_view["addressee"]["operator"]["contact_name"] == "李四"
    assert operator_view["addressee"]["operator"]["mobile"] == "139****2222"  # masked but for auditors
    audited = p.violation(p.token(Role.AUDITOR, "auditor-city"), uncoded_violation)
    assert audited["addressee"]["operator"]["mobile"] == "13911112222"
    assert operator_view["owner_account_id"] is None

    # the owner rectifies (someone else cannot), the retest passes, the violation closes
    stranger = p.api.post(f"/api/inspection/violations/{smoke_violation}/rectifications",
                          headers=p.token(Role.OWNER, "owner-other"), json={"measure": "repair"})
    assert stranger.status_code == 403 and stranger.json()["code"] == "not_your_violation"
    too_early = p.api.post(f"/api/inspection/violations/{smoke_violation}/retests", headers=inspector,
                           json={"k": 0.5})
    assert too_early.status_code == 409 and too_early.json()["code"] == "no_rectification"
    invoice = p.photo(owner, "rectification_evidence")
    rectified = p.api.post(f"/api/inspection/violations/{smoke_violation}/rectifications", headers=owner,
                           json={"measure": "device_fitted", "note": "加装 DPF", "evidence": [invoice]})
    assert rectified.status_code == 201 and rectified.json()["status"] == "rectification_submitted", rectified.text
    evidence = p.api.get(f"/api/inspection/uploads/{invoice}", headers=inspector)  # the reviewer sees the evidence
    assert evidence.status_code == 200 and evidence.content.startswith(b"\x89PNG")
    hidden = p.api.get(f"/api/inspection/uploads/{invoice}", headers=p.token(Role.OWNER, "owner-other"))
    assert hidden.status_code == 403 and hidden.json()["code"] == "upload_not_allowed"
    failed = p.api.post(f"/api/inspection/violations/{smoke_violation}/retests", headers=inspector,
                        json={"ringelmann": 2})
    assert failed.status_code == 201 and failed.json()["status"] == "open"
    p.api.post(f"/api/inspection/violations/{smoke_violation}/rectifications", headers=owner,
               json={"measure": "repair", "evidence": []})
    passed = p.api.post(f"/api/inspection/violations/{smoke_violation}/retests", headers=inspector,
                        json={"k": 0.42, "ringelmann": 0})
    assert passed.status_code == 201 and passed.json()["status"] == "closed", passed.text
    closed = p.violation(owner, smoke_violation, until=lambda d: d["status"] == "closed")
    assert closed["closed_reason"] == "retest_passed" and len(closed["retests"]) == 2
    assert [h["event"] for h in closed["history"]] == ["ViolationOpened", "RectificationSubmitted", "SmokeRetested",
                                                       "RectificationSubmitted", "SmokeRetested", "ViolationClosed"]

    # the forklift is coded: its violation links to the new owner and closes (the service's own scheduler)
    p.issue_code(owner="owner-forklift", district="04", stage="4", category="forklift", brand="合力",
                 model="CPCD30", factory_serial=forklift_serial.lower(), rated_power_kw=36.0)
    new_owner = p.token(Role.OWNER, "owner-forklift")
    linked = p.violation(new_owner, uncoded_violation, until=lambda d: d["status"] == "closed")
    assert linked["closed_reason"] == "coded" and linked["linked_code"].startswith("4-N04")
    mine = eventually(p.api, "/api/inspection/violations", new_owner, lambda rows: rows).json()
    assert [v["violation_id"] for v in mine] == [uncoded_violation]
    their_check = p.api.get(f"/api/inspection/checks/{uncoded.json()['check_id']}", headers=new_owner)
    assert their_check.status_code == 200 and their_check.json()["linked_code"] == linked["linked_code"]

    # a machine without an entry at another site: left past its deadline while the service is down
    other_site, _ = p.register_site(district="04")
    p.scanned(inspector, other_site, code)
    missed = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": other_site, "code": code, "plate": "affixed", "card_carried": True})
    assert missed.status_code == 201, missed.text
    entry_violation, = [v for v in missed.json()["violations"] if v["kind"] == "entry_not_registered"]
    p.violation(owner, entry_violation["violation_id"])
    p.stop_inspection()
    due = datetime.fromisoformat(entry_violation["due_at"])

    async def catch_up_at_start(now):
        client = mongo_client(p.infra.mongodb_url)
        db = client[p.database]
        try:
            store = EventStore(db)
            scheduler = Scheduler(db, store, clock=lambda: now)
            early = await scheduler.run_once(due - timedelta(minutes=1))
            first, again = await scheduler.run_once(), await scheduler.run_once()
            events = await store.read_stream(f"check-{missed.json()['check_id']}")
            return early, first, again, [e.event_name for e in events]
        finally:
            await client.close()

    early, first, again, names = asyncio.run(catch_up_at_start(due + timedelta(hours=2)))
    assert early["overdue"] == 0 and first["overdue"] >= 1 and again["overdue"] == 0
    assert names.count("ViolationOverdue") == 1
    p.start_inspection()
    ready = p.platform.client("inspection").get("/readyz").json()
    assert ready["runners"]["scheduler"]["status"] == "ok", ready
    overdue = p.violation(owner, entry_violation["violation_id"], until=lambda d: d["overdue"])
    assert overdue["status"] == "open" and overdue["history"][-1]["event"] == "ViolationOverdue"
    listed = eventually(p.api, "/api/inspection/violations?overdue=true", inspector, lambda rows: rows).json()
    assert entry_violation["violation_id"] in [v["violation_id"] for v in listed]

    # the violations read model rebuilt from the event store equals the live one
    async def rebuilt_and_live():
        client = mongo_client(p.infra.mongodb_url)
        db = client[p.database]
        try:
            def docs(rows):
                return sorted(({k: v for k, v in d.items() if k != "_rev"} for d in rows), key=lambda d: d["_id"])

            live = docs(await db[VIOLATIONS].find().to_list())
            await rebuild(db, EventStore(db), Violations(), registry=registry, progress=False)
            return live, docs(await db[VIOLATIONS].find().to_list())
        finally:
            await client.close()

    live, rebuilt = asyncio.run(rebuilt_and_live())
    assert len(live) == 3 and rebuilt == live
