"""Plate reissue, stage correction with re-review, and who may read uploads, over HTTP."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.reference import Role
from nrmm_kernel.runtime import mongo_client
from tests.registry.fixtures import PDF, machine, registrant
from tests.registry.test_code_life_http import apply


def issue(svc, owner, **machine_overrides) -> tuple[str, str, dict]:
    applied = apply(svc, owner, **machine_overrides)
    machine_id = applied["machine_id"]
    code = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=svc.reviewer(),
                         json={}).json()["code"]
    svc.eventually(f"/api/registry/machines/{code}", owner, lambda d: d["status"] == "issued")
    return machine_id, code, applied["machine"]


def test_plate_reissue_is_counted(registry_service):
    svc = registry_service
    owner = svc.owner("owner-reissue")
    _, code, _ = issue(svc, owner)
    requested = svc.http.post(f"/api/registry/machines/{code}/plate-reissue", headers=owner,
                              json={"damaged_on": "2026-11-01", "reason": "标牌脱落"})
    assert requested.status_code == 200, requested.text
    done = svc.http.post(f"/api/registry/machines/{code}/plate-reissue/completion", headers=svc.reviewer())
    assert done.status_code == 200
    again = svc.http.post(f"/api/registry/machines/{code}/plate-reissue/completion", headers=svc.reviewer())
    assert again.status_code == 409 and again.json()["code"] == "no_reissue_pending"
    record = svc.eventually(f"/api/registry/machines/{code}", owner, lambda d: d["reissue_count"] == 1).json()
    assert record["reissue_requested"] is False


def test_a_stage_correction_is_re_reviewed_and_the_old_code_is_superseded(registry_service):
    svc = registry_service
    owner = svc.owner("owner-correct")
    machine_id, old_code, sent = issue(svc, owner, stage="3")
    corrected = svc.http.post(f"/api/registry/machines/{old_code}/corrections", headers=owner,
                              json={"machine": {**sent, "emission_stage": "4"}})
    assert corrected.status_code == 200 and corrected.json()["status"] == "correction_review"
    approved = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=svc.reviewer(), json={})
    new_code = approved.json()["code"]
    assert new_code == "4" + old_code[1:]  # same serial, new stage (rule C5)
    gate = svc.token(Role.SITE_ADMIN, "gate-1")
    svc.eventually(f"/api/registry/verify?code={new_code}", gate, lambda d: d["valid"])
    old = svc.http.get("/api/registry/verify", params={"code": old_code}, headers=gate).json()
    assert old["valid"] is False and old["reason"] == "superseded" and old["current_code"] == new_code


def test_uploads_are_read_by_their_owner_and_staff_of_the_district_only(registry_service):
    svc = registry_service
    owner = svc.owner("owner-files-read")
    machine_id = apply(svc, owner, district="20")["machine_id"]
    record = svc.eventually(f"/api/registry/applications/{machine_id}", owner, lambda d: d["status"] == "submitted")
    upload_id = record.json()["uploads"]["photo_front"][0]
    mine = svc.http.get(f"/api/registry/uploads/{upload_id}", headers=owner)
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/png"
    assert svc.http.get(f"/api/registry/uploads/{upload_id}", headers=svc.reviewer(district="20")).status_code == 200
    assert svc.http.get(f"/api/registry/uploads/{upload_id}", headers=svc.reviewer(district="21")).status_code == 403
    assert svc.http.get(f"/api/registry/uploads/{upload_id}", headers=svc.owner("owner-nosy")).status_code == 403
    assert svc.http.get(f"/api/registry/uploads/{upload_id}",
                        headers=svc.token(Role.SITE_ADMIN, "gate-2")).status_code == 403


def test_inspectors_see_machine_pictures_but_not_identity_papers(registry_service):
    svc = registry_service
    owner = svc.owner("owner-papers")
    machine_id = apply(svc, owner, district="22")["machine_id"]
    uploads = svc.eventually(f"/api/registry/applications/{machine_id}", owner,
                             lambda d: d["status"] == "submitted").json()["uploads"]
    photo, papers = uploads["photo_left"][0], uploads["identity_proof"][0]
    inspector = svc.token(Role.INSPECTOR, "insp-22", district="22")
    assert svc.http.get(f"/api/registry/uploads/{photo}", headers=inspector).status_code == 200
    refused = svc.http.get(f"/api/registry/uploads/{papers}", headers=inspector)
    assert refused.status_code == 403 and refused.json()["code"] == "upload_not_allowed"
    assert svc.http.get(f"/api/registry/uploads/{papers}", headers=svc.token(Role.AUDITOR, "aud-1")).status_code == 200
    for role in (Role.DEPARTMENT_VIEWER, Role.SUPERVISION_ENGINEER):
        assert svc.http.get(f"/api/registry/uploads/{photo}",
                            headers=svc.token(role, f"x-{role}", district="22")).status_code == 403


def test_one_machine_gets_one_record(registry_service):
    svc = registry_service
    owner, other = svc.owner("owner-dup"), svc.owner("owner-dup-2")
    first = apply(svc, owner, district="05")
    sent = first["machine"]
    # the same brand and factory serial (however spaced or cased) cannot be applied for again, by anyone
    for who in (owner, other):
        body = {"registrant": registrant(), "machine": {**sent, "factory_serial": sent["factory_serial"].lower()},
                "uploads": svc.upload_all(who)}
        again = svc.http.post("/api/registry/applications", json=body, headers=who)
        assert again.status_code == 409 and again.json()["code"] == "machine_already_registered", again.text
    mine = svc.eventually("/api/registry/applications", owner, lambda rows: len(rows) >= 1).json()
    assert [r["machine_id"] for r in mine] == [first["machine_id"]]
    assert svc.http.get("/api/registry/applications", headers=other).json() == []


def test_a_photo_must_be_a_picture(registry_service):
    svc = registry_service
    response = svc.upload(svc.owner("owner-pdf-photo"), "photo_front", PDF, name="front.pdf")
    assert response.status_code == 422 and response.json()["code"] == "photo_must_be_image"


def test_owners_racing_for_one_machine_get_one_record_and_a_cancelled_one_frees_it(registry_service):
    svc = registry_service
    owners = [svc.owner(f"owner-race-{i}") for i in range(6)]
    sent = machine(today=today_in_chongqing(), factory_serial=f"RACE-{uuid.uuid4().hex[:8]}")
    bodies = [{"registrant": registrant(), "machine": sent, "uploads": svc.upload_all(o)} for o in owners]
    with ThreadPoolExecutor(len(owners)) as pool:
        answers = list(pool.map(lambda ob: svc.http.post("/api/registry/applications", json=ob[1], headers=ob[0]),
                                zip(owners, bodies, strict=True)))
    won = [a for a in answers if a.status_code == 201]
    assert len(won) == 1, [(a.status_code, a.text[:80]) for a in answers]
    assert {a.json()["code"] for a in answers if a is not won[0]} == {"machine_already_registered"}
    winner = owners[answers.index(won[0])]
    # the owner withdraws the machine (cancelled): another owner may apply for it now
    machine_id = won[0].json()["machine_id"]
    approved = svc.http.post(f"/api/registry/applications/{machine_id}/approval", json={},
                             headers=svc.reviewer("rev-race", district=sent["district"]))
    assert approved.status_code == 200, approved.text
    code = approved.json()["code"]
    svc.eventually(f"/api/registry/machines/{code}", winner, lambda d: d.get("code") == code)
    cancelled = svc.http.post(f"/api/registry/machines/{code}/cancellation", headers=winner,
                              json={"reason": "scrapped", "occurred_on": today_in_chongqing().isoformat()})
    assert cancelled.status_code == 200, cancelled.text
    other = owners[(answers.index(won[0]) + 1) % len(owners)]
    again = svc.http.post("/api/registry/applications", headers=other,
                          json={"registrant": registrant(), "machine": sent, "uploads": svc.upload_all(other)})
    assert again.status_code == 201, again.text


def test_an_application_sent_again_gets_its_first_answer_not_a_conflict_with_itself(registry_service):
    svc = registry_service
    owner = svc.owner("owner-retry")
    sent = machine(today=today_in_chongqing(), factory_serial=f"RETRY-{uuid.uuid4().hex[:8]}")
    body = {"registrant": registrant(), "machine": sent, "uploads": svc.upload_all(owner)}
    keyed = {**owner, "Idempotency-Key": str(uuid.uuid4())}
    first = svc.http.post("/api/registry/applications", json=body, headers=keyed)
    again = svc.http.post("/api/registry/applications", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["machine_id"] == first.json()["machine_id"]
    # another owner's request under the same key is theirs, and the machine is taken
    other = svc.owner("owner-retry-2")
    stolen = svc.http.post("/api/registry/applications", headers={**other, "Idempotency-Key": keyed["Idempotency-Key"]},
                           json={**body, "uploads": svc.upload_all(other)})
    assert stolen.status_code == 409 and stolen.json()["code"] == "machine_already_registered", stolen.text
    mine = svc.eventually("/api/registry/applications", owner, lambda rows: len(rows) >= 1).json()
    assert [r["machine_id"] for r in mine] == [first.json()["machine_id"]]


def test_a_corrected_brand_never_frees_the_machine_for_a_second_code(registry_service, infra):  # rule C1
    svc = registry_service
    owner, other = svc.owner("owner-rebrand"), svc.owner("owner-rebrand-2")
    machine_id, code, sent = issue(svc, owner, district="06")
    corrected = svc.http.post(f"/api/registry/machines/{code}/corrections", headers=owner,
                              json={"machine": {**sent, "brand": "徐工"}})
    assert corrected.status_code == 200 and corrected.json()["status"] == "correction_review", corrected.text
    approved = svc.http.post(f"/api/registry/applications/{machine_id}/approval", json={},
                             headers=svc.reviewer(district="06"))
    assert approved.status_code == 200 and approved.json()["code"] == code, approved.text
    # long after the correction (its claims made an hour ago: no application can still be in flight, issue 13)
    # the original brand and serial are still this record's, and so is the corrected one
    asyncio.run(age_claims(infra, svc.database, hours=1))
    for brand in (sent["brand"], "徐工"):
        again = svc.http.post("/api/registry/applications", headers=other, json={
            "registrant": registrant(), "machine": {**sent, "brand": brand}, "uploads": svc.upload_all(other)})
        assert again.status_code == 409 and again.json()["code"] == "machine_already_registered", again.text


async def age_claims(infra, database: str, hours: int) -> None:
    """As if the machine's identity claims were made ``hours`` ago."""
    client = mongo_client(infra.mongodb_url)
    try:
        await client[database]["machine_identities"].update_many(
            {}, {"$set": {"claimed_at": utcnow() - timedelta(hours=hours)}})
    finally:
        await client.close()
