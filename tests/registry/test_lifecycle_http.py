"""Plate reissue, stage correction with re-review, and who may read uploads, over HTTP."""

from nrmm_kernel.reference import Role
from tests.registry.fixtures import machine
from tests.registry.test_code_life_http import apply


def issue(svc, owner, **machine_overrides) -> tuple[str, str]:
    machine_id = apply(svc, owner, **machine_overrides)["machine_id"]
    code = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=svc.reviewer(),
                         json={}).json()["code"]
    svc.eventually(f"/api/registry/machines/{code}", owner, lambda d: d["status"] == "issued")
    return machine_id, code


def test_plate_reissue_is_counted(registry_service):
    svc = registry_service
    owner = svc.owner("owner-reissue")
    _, code = issue(svc, owner)
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
    machine_id, old_code = issue(svc, owner, stage="3")
    corrected = svc.http.post(f"/api/registry/machines/{old_code}/corrections", headers=owner,
                              json={"machine": machine(stage="4")})
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
