"""Authorization matrix of the registry: every endpoint x every kind of caller -> allowed or denied
(see tests/authz.py for what allowed and denied mean)."""

from __future__ import annotations

import pytest

from nrmm_kernel.reference import Department, Role
from tests.authz import AUDITORS, BASE_CALLERS, Endpoint, audit_rows, token_headers, uncovered, wrong_cells
from tests.registry.fixtures import PNG, registrant
from tests.registry.test_code_life_http import apply

# the code register is the ecology bureau's: another department's administrator reads and changes none of it
CALLERS = {**BASE_CALLERS, "housing_admin_12": (Role.ADMIN, "mx-adm-hou", "12", Department.HOUSING),
           "admin_city": (Role.ADMIN, "mx-adm-city", None, Department.ECOLOGY)}
OWNERS = {"owner", "other_owner"}
DISTRICT_12_REVIEW = {"reviewer_12", "reviewer_city", "admin_12", "admin_city"}
DISTRICT_12_QUEUE = DISTRICT_12_REVIEW | {"auditor_city"}
EVERYONE = set(CALLERS) - {"anonymous", "service"}


def endpoints(world: dict) -> list[Endpoint]:
    """``world`` holds the records under test."""
    code, photo, papers = world["code"], world["photo"], world["papers"]
    pending = world["pending_id"]
    body_again = {"registrant": registrant(), "machine": world["machine"], "uploads": world["uploads"]}
    future = "2999-01-01"
    table = [
        ("upload", "POST", "/api/registry/uploads",
         {"data": {"kind": "photo_other"}, "files": {"file": ("p.png", PNG, "image/png")}}, OWNERS),
        ("read upload: photo", "GET", f"/api/registry/uploads/{photo}", {},
         {"owner", "inspector_12", "inspector_01"} | DISTRICT_12_QUEUE),
        ("read upload: identity papers", "GET", f"/api/registry/uploads/{papers}", {}, {"owner"} | DISTRICT_12_QUEUE),
        ("apply", "POST", "/api/registry/applications", {"json": {"registrant": registrant()}}, OWNERS),
        ("amend", "POST", f"/api/registry/applications/{pending}/amendment", {"json": body_again}, {"owner"}),
        ("queue", "GET", "/api/registry/applications?district=12", {}, OWNERS | DISTRICT_12_QUEUE),
        ("one application", "GET", f"/api/registry/applications/{pending}", {}, {"owner"} | DISTRICT_12_QUEUE),
        ("approve", "POST", f"/api/registry/applications/{pending}/approval", {"json": {"expected_version": 99}},
         DISTRICT_12_REVIEW),
        ("reject", "POST", f"/api/registry/applications/{pending}/rejection",
         {"json": {"expected_version": 99, "reasons": ["x"]}}, DISTRICT_12_REVIEW),
        ("search machines", "GET", "/api/registry/machines?district=12", {},
         OWNERS | DISTRICT_12_QUEUE | {"inspector_12", "ecology_viewer_12"}),
        ("one machine", "GET", f"/api/registry/machines/{code}", {},
         {"owner", "inspector_12", "inspector_01", "ecology_viewer_12", "engineer_12", "site_admin"}
         | DISTRICT_12_QUEUE),
        ("plate", "GET", f"/api/registry/machines/{code}/plate.pdf", {}, {"owner"} | DISTRICT_12_REVIEW),
        ("card", "GET", f"/api/registry/machines/{code}/card.pdf", {}, {"owner"} | DISTRICT_12_REVIEW),
        # (the owner's request stops at its future date, before the gateway is asked about the mobile)
        ("owner change", "POST", f"/api/registry/machines/{code}/owner-change",
         {"json": {"new_owner_mobile": "13912345678", "transferred_on": future}}, {"owner"}),
        # any owner may try: only the one a change names accepts or declines it (409 here: none pending)
        ("accept owner change", "POST", f"/api/registry/machines/{code}/owner-change/acceptance",
         {"json": {"registrant": registrant()}}, OWNERS),
        ("withdraw owner change", "POST", f"/api/registry/machines/{code}/owner-change/cancellation", {}, OWNERS),
        ("pending owner changes", "GET", "/api/registry/owner-changes", {}, OWNERS),
        ("cancel", "POST", f"/api/registry/machines/{code}/cancellation",
         {"json": {"reason": "scrapped", "occurred_on": future}}, {"owner"} | DISTRICT_12_REVIEW),
        ("report damaged plate", "POST", f"/api/registry/machines/{code}/plate-reissue",
         {"json": {"damaged_on": future, "reason": "x"}}, {"owner"}),
        ("plate reissued", "POST", f"/api/registry/machines/{code}/plate-reissue/completion", {}, DISTRICT_12_REVIEW),
        ("correct", "POST", f"/api/registry/machines/{code}/corrections", {"json": {"machine": world["machine"]}},
         {"owner"}),
        ("declare other province", "POST", "/api/registry/external-machines", {"json": {"code": "2-B0000001"}},
         OWNERS | {"reviewer_12", "reviewer_01", "reviewer_city", "admin_12", "admin_01", "admin_city"}),
        ("verify", "GET", f"/api/registry/verify?code={code}", {}, EVERYONE),
        ("gate facts (sites service)", "GET", f"/api/registry/internal/gate-facts?code={code}", {}, {"service"}),
        # #14: only the ecology bureau's city administrator erases a person (404 here: nobody of that id)
        ("erase a person", "POST", "/api/registry/personal-data/erasures",
         {"json": {"subject_id": "owner-nobody", "reason": "x"}}, {"admin_city"}),
        ("open sealed values (notifications)", "POST", "/api/registry/internal/personal/open",
         {"json": {"values": []}}, {"service"}),
        *audit_rows("registry", f"machine-{world['machine_id']}", code, AUDITORS | {"admin_city"}),
    ]
    return [Endpoint(name, method, path, frozenset(allowed), kwargs) for name, method, path, kwargs, allowed in table]


@pytest.fixture(scope="module")
def world(registry_service) -> dict:
    svc = registry_service
    owner = headers(svc, "owner")
    issued = apply(svc, owner, district="12")
    approved = svc.http.post(f"/api/registry/applications/{issued['machine_id']}/approval",
                             headers=headers(svc, "reviewer_12"), json={})
    assert approved.status_code == 200, approved.text
    code = approved.json()["code"]
    pending = apply(svc, owner, district="12")
    record = svc.eventually(f"/api/registry/machines/{code}", owner, lambda d: d["status"] == "issued").json()
    svc.eventually(f"/api/registry/applications/{pending['machine_id']}", owner,
                   lambda d: d["status"] == "submitted")
    return {"machine_id": issued["machine_id"], "code": code, "machine": issued["machine"],
            "photo": record["uploads"]["photo_front"][0], "papers": record["uploads"]["identity_proof"][0],
            "uploads": record["uploads"], "pending_id": pending["machine_id"]}


def headers(svc, caller: str) -> dict:
    return token_headers(svc.verifier, CALLERS[caller])


WORLD_SHAPE = {"machine_id": "{machine_id}", "code": "{code}", "photo": "{upload_id}", "papers": "{upload_id}",
               "pending_id": "{machine_id}", "machine": {}, "uploads": {}}
ENDPOINT_NAMES = [e.name for e in endpoints(WORLD_SHAPE)]


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_every_caller_gets_exactly_what_the_matrix_allows(registry_service, world, endpoint):
    svc = registry_service
    chosen = next(e for e in endpoints(world) if e.name == endpoint)
    wrong = wrong_cells(svc.http, chosen, {caller: headers(svc, caller) for caller in CALLERS})
    assert not wrong, f"{chosen.name} {chosen.method} {chosen.path}:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_registry_route(registry_service):
    from registry.api import routers

    missing = uncovered(routers(), endpoints(WORLD_SHAPE))
    assert not missing, f"routes missing from the matrix: {sorted(missing)}"
