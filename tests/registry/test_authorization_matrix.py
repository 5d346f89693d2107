"""Authorization matrix of the registry: every endpoint x every kind of caller -> allowed or denied.

Denied means 401 (no token) or 403 with a stable code. Allowed means the request got past every role,
ownership and jurisdiction check: the answer may still be a 409 or 422 from the domain, which is how the
write endpoints are exercised here without changing the records (a stale expected version, a date in the
future, "nothing changed"). Each check in the service is needed by at least one cell of this table.
"""

from __future__ import annotations

import pytest

from nrmm_kernel.reference import Department, Role
from tests.registry.fixtures import PNG, registrant
from tests.registry.test_code_life_http import apply

# callers: name -> (role, account, district, department); None: no token at all
CALLERS: dict[str, tuple | None] = {
    "anonymous": None,
    "owner": (Role.OWNER, "mx-owner-a", None, None),
    "other_owner": (Role.OWNER, "mx-owner-b", None, None),
    "reviewer_12": (Role.REVIEWER, "mx-rev-12", "12", Department.ECOLOGY),
    "reviewer_01": (Role.REVIEWER, "mx-rev-01", "01", Department.ECOLOGY),
    "reviewer_city": (Role.REVIEWER, "mx-rev-city", None, Department.ECOLOGY),
    "admin_12": (Role.ADMIN, "mx-adm-12", "12", Department.ECOLOGY),
    "admin_01": (Role.ADMIN, "mx-adm-01", "01", Department.ECOLOGY),
    "auditor_city": (Role.AUDITOR, "mx-aud-city", None, None),
    "auditor_01": (Role.AUDITOR, "mx-aud-01", "01", None),
    "inspector_12": (Role.INSPECTOR, "mx-insp-12", "12", Department.ECOLOGY),
    "inspector_01": (Role.INSPECTOR, "mx-insp-01", "01", Department.ECOLOGY),
    "ecology_viewer_12": (Role.DEPARTMENT_VIEWER, "mx-view-eco", "12", Department.ECOLOGY),
    "housing_viewer_12": (Role.DEPARTMENT_VIEWER, "mx-view-hou", "12", Department.HOUSING),
    "engineer_12": (Role.SUPERVISION_ENGINEER, "mx-eng-12", "12", None),
    "site_admin": (Role.SITE_ADMIN, "mx-gate", None, None),
}

OWNERS = {"owner", "other_owner"}
DISTRICT_12_REVIEW = {"reviewer_12", "reviewer_city", "admin_12"}
DISTRICT_12_QUEUE = DISTRICT_12_REVIEW | {"auditor_city"}
EVERYONE = set(CALLERS) - {"anonymous"}


def endpoints(world: dict) -> list[tuple[str, str, str, dict, set[str]]]:
    """(name, method, path, request kwargs, callers allowed). ``world`` holds the records under test."""
    code, photo, papers = world["code"], world["photo"], world["papers"]
    pending = world["pending_id"]
    body_again = {"registrant": registrant(), "machine": world["machine"], "uploads": world["uploads"]}
    future = "2999-01-01"
    return [
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
        ("owner change", "POST", f"/api/registry/machines/{code}/owner-change",
         {"json": {"new_owner_account_id": "mx-owner-a", "registrant": registrant(), "transferred_on": future}},
         {"owner"} | DISTRICT_12_REVIEW),
        ("cancel", "POST", f"/api/registry/machines/{code}/cancellation",
         {"json": {"reason": "scrapped", "occurred_on": future}}, {"owner"} | DISTRICT_12_REVIEW),
        ("report damaged plate", "POST", f"/api/registry/machines/{code}/plate-reissue",
         {"json": {"damaged_on": future, "reason": "x"}}, {"owner"}),
        ("plate reissued", "POST", f"/api/registry/machines/{code}/plate-reissue/completion", {}, DISTRICT_12_REVIEW),
        ("correct", "POST", f"/api/registry/machines/{code}/corrections", {"json": {"machine": world["machine"]}},
         {"owner"}),
        ("declare other province", "POST", "/api/registry/external-machines", {"json": {"code": "2-B0000001"}},
         OWNERS | {"reviewer_12", "reviewer_01", "reviewer_city", "admin_12", "admin_01"}),
        ("verify", "GET", f"/api/registry/verify?code={code}", {}, EVERYONE),
    ]


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
    spec = CALLERS[caller]
    if spec is None:
        return {}
    role, account, district, department = spec
    return svc.token(role, account, district=district, department=department)


ENDPOINT_NAMES = [e[0] for e in endpoints({"machine_id": "m", "code": "c", "photo": "p", "papers": "i",
                                           "pending_id": "q", "machine": {}, "uploads": {}})]


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_every_caller_gets_exactly_what_the_matrix_allows(registry_service, world, endpoint):
    svc = registry_service
    name, method, path, kwargs, allowed = next(e for e in endpoints(world) if e[0] == endpoint)
    assert allowed <= set(CALLERS)
    wrong = []
    for caller in CALLERS:
        response = svc.http.request(method, path, headers=headers(svc, caller), **kwargs)
        if caller in allowed:
            if response.status_code in (401, 403):
                wrong.append(f"{caller}: expected allowed, got {response.status_code} {response.text[:120]}")
        elif caller == "anonymous":
            if response.status_code != 401:
                wrong.append(f"{caller}: expected 401, got {response.status_code}")
        elif response.status_code != 403 or not response.json().get("code"):
            wrong.append(f"{caller}: expected 403, got {response.status_code} {response.text[:120]}")
    assert not wrong, f"{name} {method} {path}:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_registry_route(registry_service):
    from registry.api import routers

    routes = {(method, route.path) for router in routers() for route in router.routes for method in route.methods}
    covered = {(e[1], _template(e[2])) for e in endpoints({"machine_id": "{machine_id}", "code": "{code}",
                                                          "photo": "{upload_id}", "papers": "{upload_id}",
                                                          "pending_id": "{machine_id}", "machine": {},
                                                          "uploads": {}})}
    assert routes <= covered, f"routes missing from the matrix: {sorted(routes - covered)}"


def _template(path: str) -> str:
    return path.split("?")[0]
