"""Each bad input gets a clear 4xx with a stable code and the field at fault, and nothing is stored."""

import asyncio

import pytest

from nrmm_kernel.runtime import mongo_client
from tests.registry.fixtures import PNG, machine, registrant
from tests.registry.test_code_life_http import apply


def counts(svc, infra) -> tuple[int, int]:
    async def count():
        client = mongo_client(infra.mongodb_url)
        try:
            db = client[svc.database]
            return await db.event_store.count_documents({}), await db["uploads.files"].count_documents({})
        finally:
            await client.close()

    return asyncio.run(count())


@pytest.fixture
def owner_uploads(registry_service):
    owner = registry_service.owner("owner-bad")
    return owner, registry_service.upload_all(owner)


def application(uploads, **changes) -> dict:
    body = {"registrant": registrant(), "machine": machine(), "uploads": dict(uploads)}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            body[section] = {**body[section], field: value}
        else:
            body[section] = value
    return body


@pytest.mark.parametrize("changes, status, field, code_or_reason", [
    ({"registrant__id_number": "11010519491231002Y"}, 422, "registrant.id_number", "invalid_id_card"),
    ({"registrant__id_number": "110105194912310021"}, 422, "registrant.id_number", "invalid_id_card"),
    ({"registrant__mobile": "12345"}, 422, "registrant.mobile", "invalid_mobile"),
    ({"machine__district": "42"}, 422, "machine.district", "unknown_district"),
    ({"machine__emission_stage": "6"}, 422, "machine.emission_stage", "invalid_stage"),
])
def test_invalid_application_fields(registry_service, infra, owner_uploads, changes, status, field, code_or_reason):
    svc = registry_service
    owner, uploads = owner_uploads
    before = counts(svc, infra)
    response = svc.http.post("/api/registry/applications", json=application(uploads, **changes), headers=owner)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert code_or_reason in (response.json()["code"], response.json().get("reason"))
    assert counts(svc, infra) == before


def test_missing_required_upload(registry_service, infra, owner_uploads):
    svc = registry_service
    owner, uploads = owner_uploads
    incomplete = {k: v for k, v in uploads.items() if k != "photo_back"}
    before = counts(svc, infra)
    response = svc.http.post("/api/registry/applications", json=application(incomplete), headers=owner)
    assert response.status_code == 422
    assert response.json()["code"] == "missing_uploads" and response.json()["details"]["missing"] == ["photo_back"]
    assert counts(svc, infra) == before


def test_someone_elses_upload_cannot_be_referenced(registry_service, infra, owner_uploads):
    svc = registry_service
    _, uploads = owner_uploads
    thief = svc.owner("owner-thief")
    before = counts(svc, infra)
    response = svc.http.post("/api/registry/applications", json=application(uploads), headers=thief)
    assert response.status_code == 422 and response.json()["code"] == "unknown_upload"
    assert counts(svc, infra) == before


@pytest.mark.parametrize("content, status, code", [
    (b"GIF89a" + b"\x00" * 100, 422, "unsupported_file_type"),
    (b"MZ\x90\x00" + b"\x00" * 100, 422, "unsupported_file_type"),
    (b"", 422, "empty_file"),
    (PNG + b"\x00" * (10 * 1024 * 1024), 413, "file_too_large"),
])
def test_bad_files_are_refused_by_content(registry_service, infra, content, status, code):
    svc = registry_service
    owner = svc.owner("owner-files")
    before = counts(svc, infra)
    response = svc.upload(owner, "photo_front", content, name="photo.png")  # the name says PNG; the bytes decide
    assert response.status_code == status, response.text[:300]
    assert response.json()["code"] == code and response.json()["field"] == "file"
    assert counts(svc, infra) == before


def test_deciding_an_already_decided_application(registry_service, infra):
    svc = registry_service
    owner, reviewer = svc.owner("owner-twice"), svc.reviewer()
    machine_id = apply(svc, owner)["machine_id"]
    assert svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=reviewer, json={}).status_code \
        == 200
    before = counts(svc, infra)
    again = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=reviewer, json={})
    assert again.status_code == 409 and again.json()["code"] == "already_decided"
    late_reject = svc.http.post(f"/api/registry/applications/{machine_id}/rejection", headers=reviewer,
                                json={"reasons": ["x"]})
    assert late_reject.status_code == 409
    assert counts(svc, infra) == before


def test_touching_another_owners_machine(registry_service, infra):
    svc = registry_service
    owner, other = svc.owner("owner-real"), svc.owner("owner-other")
    machine_id = apply(svc, owner)["machine_id"]
    code = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=svc.reviewer(),
                         json={}).json()["code"]
    svc.eventually(f"/api/registry/machines/{code}", owner, lambda d: d["status"] == "issued")
    before = counts(svc, infra)
    attempts = [
        svc.http.get(f"/api/registry/machines/{code}", headers=other),
        svc.http.get(f"/api/registry/applications/{machine_id}", headers=other),
        svc.http.get(f"/api/registry/machines/{code}/plate.pdf", headers=other),
        svc.http.post(f"/api/registry/machines/{code}/cancellation", headers=other,
                      json={"reason": "scrapped", "occurred_on": "2026-11-01"}),
        svc.http.post(f"/api/registry/machines/{code}/owner-change", headers=other,
                      json={"new_owner_mobile": "13912345678", "transferred_on": "2026-11-01"}),
        svc.http.post(f"/api/registry/machines/{code}/plate-reissue", headers=other,
                      json={"damaged_on": "2026-11-01", "reason": "x"}),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "not_owner"
    assert counts(svc, infra) == before
    assert svc.http.get(f"/api/registry/machines/{code}", headers=owner).status_code == 200


def test_a_reviewer_of_another_district_cannot_decide(registry_service, infra):
    svc = registry_service
    owner = svc.owner("owner-district")
    machine_id = apply(svc, owner, district="15")["machine_id"]
    before = counts(svc, infra)
    response = svc.http.post(f"/api/registry/applications/{machine_id}/approval",
                             headers=svc.reviewer("reviewer-16", district="16"), json={})
    assert response.status_code == 403 and response.json()["code"] == "outside_jurisdiction"
    assert counts(svc, infra) == before
