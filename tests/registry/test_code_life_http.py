"""End to end over HTTP on real infrastructure: the whole life of an environmental code."""

import asyncio
import re
import uuid

import httpx
import pytest

from nrmm_kernel.reference import Department, Role
from registry.domain.rules import today_in_chongqing
from tests.kafka_helpers import read_topic
from tests.registry.conftest import with_accounts
from tests.registry.fixtures import machine, registrant

CODE_RE = re.compile(r"^[1-4DX]-N(0[1-9]|[1-3][0-9]|4[01])[0-9A-HJ-NP-Z]{5}$")
MM = 72 / 25.4


def apply(svc, owner: dict, **machine_overrides) -> dict:
    """Apply for a new machine (its own factory serial) acquired some days before today; returns the record
    summary with the machine as sent under "machine"."""
    machine_overrides.setdefault("factory_serial", f"SY-{uuid.uuid4().hex[:10].upper()}")
    machine_overrides.setdefault("today", today_in_chongqing())
    body = {"registrant": registrant(), "machine": machine(**machine_overrides), "uploads": svc.upload_all(owner)}
    response = svc.http.post("/api/registry/applications", json=body, headers=owner)
    assert response.status_code == 201, response.text
    return {**response.json(), "machine": body["machine"]}


@pytest.fixture(scope="module")
def registry_service(infra):
    yield from with_accounts(infra)  # a transfer needs a real new owner account


def test_apply_review_issue_print_transfer_cancel(registry_service, infra):
    svc = registry_service
    owner = svc.owner("owner-a")
    new_owner_id, new_owner_mobile, new_owner = svc.register_owner()
    reviewer = svc.reviewer("reviewer-yuzhong", district="04")

    submitted = apply(svc, owner, district="04", acquired_days_ago=45)
    machine_id = submitted["machine_id"]
    assert submitted["status"] == "submitted" and submitted["late"] is True  # rule C2: flagged, not refused

    queue = svc.eventually("/api/registry/applications?district=04&status=submitted&late=true", reviewer,
                           lambda rows: any(r["machine_id"] == machine_id for r in rows)).json()
    row = next(r for r in queue if r["machine_id"] == machine_id)
    assert row["registrant"]["id_number"].count("*") >= 8  # reviewers see ID numbers masked
    assert row["registrant"]["mobile"] == "138****5678"

    approved = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=reviewer, json={})
    assert approved.status_code == 200, approved.text
    code = approved.json()["code"]
    assert CODE_RE.match(code) and code[3:5] == "04" and code[0] == "4"

    mine = svc.eventually(f"/api/registry/machines/{code}", owner, lambda d: d["status"] == "issued").json()
    assert mine["registrant"]["mobile"] == "13812345678"  # the owner sees everything

    plate = svc.http.get(f"/api/registry/machines/{code}/plate.pdf", headers=owner)
    assert plate.status_code == 200 and plate.headers["content-type"] == "application/pdf"
    card = svc.http.get(f"/api/registry/machines/{code}/card.pdf", headers=owner)
    assert card.status_code == 200
    _assert_page_size(plate.content, 500, 100)
    _assert_page_size(card.content, 88, 60)
    _assert_qr(card.content, svc, owner, code)

    transfer = {"new_owner_mobile": new_owner_mobile, "transferred_on": "2026-11-20"}
    changed = svc.http.post(f"/api/registry/machines/{code}/owner-change", json=transfer, headers=owner)
    assert changed.status_code == 200, changed.text
    accepted = svc.http.post(f"/api/registry/machines/{code}/owner-change/acceptance", headers=new_owner,
                             json={"registrant": registrant("李四")})
    assert accepted.status_code == 200, accepted.text
    seen_by_new = svc.eventually(f"/api/registry/machines/{code}", new_owner,
                                 lambda d: d["owner_account_id"] == new_owner_id).json()
    # the new owner sees the machine, not the previous owner's account, documents or who acted before
    assert "previous_owners" not in seen_by_new and "uploads" not in seen_by_new
    assert seen_by_new["registrant"]["name"] == "李四"
    assert all("actor_id" not in h for h in seen_by_new["history"][:2])
    old_upload = mine["uploads"]["identity_proof"][0]
    assert svc.http.get(f"/api/registry/uploads/{old_upload}", headers=new_owner).status_code == 403
    old = svc.http.get(f"/api/registry/machines/{code}", headers=owner)
    assert old.status_code == 403 and old.json()["code"] == "not_owner"  # rule C6: the old owner loses access

    cancelled = svc.http.post(f"/api/registry/machines/{code}/cancellation", headers=new_owner,
                              json={"reason": "scrapped", "occurred_on": "2026-11-25"})
    assert cancelled.status_code == 200, cancelled.text
    final = svc.eventually(f"/api/registry/machines/{code}", new_owner, lambda d: d["status"] == "cancelled").json()
    assert [h["event"] for h in final["history"]] == ["CodeRequested", "CodeIssued", "OwnerChangeRequested",
                                                      "OwnerChanged", "CodeCancelled"]
    gate = svc.token(Role.SITE_ADMIN, "gate-1")
    verdict = svc.http.get("/api/registry/verify", params={"code": code}, headers=gate).json()
    assert verdict["valid"] is False and verdict["reason"] == "cancelled"
    no_plate = svc.http.get(f"/api/registry/machines/{code}/plate.pdf", headers=new_owner)
    assert no_plate.status_code == 409 and no_plate.json()["code"] == "code_not_in_force"

    on_topic = asyncio.run(read_topic(infra.kafka_bootstrap, svc.topic, at_least=5))
    mine_on_topic = [e for e in on_topic if e.streamid == f"machine-{machine_id}"]
    assert [e.event_name for e in mine_on_topic][:5] == ["CodeRequested", "CodeIssued", "OwnerChangeRequested",
                                                         "OwnerChanged", "CodeCancelled"]
    assert [e.streamversion for e in mine_on_topic][:5] == [1, 2, 3, 4, 5]


def _assert_page_size(pdf: bytes, width_mm: float, height_mm: float) -> None:
    import io

    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        assert abs(page.width / MM - width_mm) < 0.5
        assert abs(page.height / MM - height_mm) < 0.5


def _assert_qr(pdf: bytes, svc, owner: dict, code: str) -> None:
    import pypdfium2
    import zxingcpp

    image = pypdfium2.PdfDocument(pdf)[0].render(scale=300 / 72).to_pil()
    payloads = [r.text for r in zxingcpp.read_barcodes(image)]
    assert len(payloads) == 1
    gate = svc.token(Role.SITE_ADMIN, "gate-1")
    verdict = svc.http.get("/api/registry/verify", params={"qr": payloads[0]}, headers=gate).json()
    assert verdict["valid"] is True and verdict["code"] == code and verdict["province"] == "N"


def test_two_reviewers_deciding_one_application_at_once_one_decision_stands(registry_service):
    svc = registry_service
    owner = svc.owner("owner-race")
    machine_id = apply(svc, owner, district="11")["machine_id"]
    reviewers = [svc.reviewer(f"reviewer-{i}") for i in range(6)]

    async def decide():
        async with httpx.AsyncClient(base_url=svc.base_url, timeout=30) as client:
            calls = []
            for i, headers in enumerate(reviewers):
                if i % 2:
                    calls.append(client.post(f"/api/registry/applications/{machine_id}/rejection", headers=headers,
                                             json={"reasons": ["资料不全"]}))
                else:
                    calls.append(client.post(f"/api/registry/applications/{machine_id}/approval", headers=headers,
                                             json={}))
            return await asyncio.gather(*calls)

    answers = asyncio.run(decide())
    assert sorted(r.status_code for r in answers) == [200] + [409] * 5
    assert {r.json()["code"] for r in answers if r.status_code == 409} <= {"concurrent_modification", "already_decided"}
    winner = next(r for r in answers if r.status_code == 200).json()
    record = svc.eventually(f"/api/registry/applications/{machine_id}", owner,
                            lambda d: d["status"] != "submitted").json()
    assert record["status"] == winner["status"]
    assert len(record["history"]) == 2  # the application and exactly one decision


def test_rejected_application_is_amended_and_approved_with_history(registry_service):
    svc = registry_service
    owner, reviewer = svc.owner("owner-amend"), svc.reviewer()
    applied = apply(svc, owner, district="07")
    machine_id, sent = applied["machine_id"], applied["machine"]
    rejected = svc.http.post(f"/api/registry/applications/{machine_id}/rejection", headers=reviewer,
                             json={"reasons": ["发动机铭牌照片模糊"]})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    body = {"registrant": registrant(), "machine": {**sent, "model": "SY215C-9"}, "uploads": svc.upload_all(owner)}
    amended = svc.http.post(f"/api/registry/applications/{machine_id}/amendment", json=body, headers=owner)
    assert amended.status_code == 200 and amended.json()["status"] == "submitted"
    approved = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=reviewer, json={})
    assert approved.status_code == 200 and approved.json()["code"][3:5] == "07"
    record = svc.eventually(f"/api/registry/applications/{machine_id}", owner, lambda d: d["status"] == "issued")
    assert [h["event"] for h in record.json()["history"]] == [
        "CodeRequested", "CodeRejected", "ApplicationAmended", "CodeIssued"]
    assert record.json()["history"][1]["reasons"] == ["发动机铭牌照片模糊"]


def test_other_provinces_codes_are_declared_not_registered_again(registry_service):
    svc = registry_service
    owner = svc.owner("owner-ext")
    declared = svc.http.post("/api/registry/external-machines", headers=owner,
                             json={"code": "3-A12B3C4D", "category": "crane"})
    assert declared.status_code == 201 and declared.json()["created"] is True
    again = svc.http.post("/api/registry/external-machines", headers=owner, json={"code": "3-A12B3C4D"})
    assert again.status_code == 200 and again.json()["created"] is False
    chongqing = svc.http.post("/api/registry/external-machines", headers=owner, json={"code": "3-N12B3C4D"})
    assert chongqing.status_code == 422 and chongqing.json()["code"] == "chongqing_code"
    gate = svc.token(Role.SITE_ADMIN, "gate-1")
    verdict = svc.eventually("/api/registry/verify?code=3-A12B3C4D", gate, lambda d: d.get("known")).json()
    assert verdict["valid"] is True and verdict["province"] == "A" and verdict["category"] == "crane"


def test_masking_and_jurisdiction_of_staff_views(registry_service):
    svc = registry_service
    owner = svc.owner("owner-mask")
    machine_id = apply(svc, owner, district="12")["machine_id"]
    code = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=svc.reviewer(),
                         json={}).json()["code"]
    inspector_12 = svc.token(Role.INSPECTOR, "insp-12", district="12")
    seen = svc.eventually(f"/api/registry/machines/{code}", inspector_12, lambda d: d["status"] == "issued").json()
    assert "*" in seen["registrant"]["id_number"] and seen["registrant"]["mobile"] == "138****5678"
    auditor = svc.token(Role.AUDITOR, "audit-1")
    assert svc.http.get(f"/api/registry/machines/{code}", headers=auditor).json()["registrant"]["mobile"] == \
        "13812345678"
    # an inspector of another district scans the machine working on a site there: masked view by code
    inspector_01 = svc.token(Role.INSPECTOR, "insp-01", district="01")
    scanned = svc.http.get(f"/api/registry/machines/{code}", headers=inspector_01)
    assert scanned.status_code == 200 and scanned.json()["registrant"]["mobile"] == "138****5678"
    # but searching another district's register, or an ecology viewer of another district, is refused
    listed = svc.http.get("/api/registry/machines?district=12", headers=inspector_01)
    assert listed.status_code == 403 and listed.json()["code"] == "outside_jurisdiction"
    viewer_01 = svc.token(Role.DEPARTMENT_VIEWER, "view-01", district="01")
    assert svc.http.get(f"/api/registry/machines/{code}", headers=viewer_01).json()["code"] == "outside_jurisdiction"
    housing = svc.token(Role.DEPARTMENT_VIEWER, "view-h", district="12", department=Department.HOUSING)
    refused = svc.http.get("/api/registry/machines?district=12", headers=housing)
    assert refused.status_code == 403 and refused.json()["code"] == "department_not_allowed"
    # the review queue is the reviewers' and auditors' only
    for role in (Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.SUPERVISION_ENGINEER, Role.SITE_ADMIN):
        queue = svc.http.get("/api/registry/applications", headers=svc.token(role, f"x-{role}", district="12"))
        assert queue.status_code == 403, role
    # the site-bound see what a gate needs, of any code, nobody's registration (rule E6)
    for role, district in ((Role.SITE_ADMIN, None), (Role.SUPERVISION_ENGINEER, "05")):
        gate = svc.http.get(f"/api/registry/machines/{code}", headers=svc.token(role, "gate-9", district=district))
        assert set(gate.json()) >= {"code", "status", "stage", "category", "brand"}, gate.text
        assert not {"registrant", "history", "uploads", "machine_id"} & set(gate.json()), role
