"""Authorization matrix of the sites service: every endpoint x every kind of caller (see tests/authz.py)."""

from __future__ import annotations

import pytest

from nrmm_kernel.reference import Department, Role
from tests.authz import BASE_CALLERS, Endpoint, audit_rows, token_headers, uncovered, wrong_cells
from tests.platform import eventually
from tests.sites.conftest import reported

INSIDE = "3-C77B3C4D"  # another province's code: admitted by shape (rule C3)
CALLERS = {**BASE_CALLERS, "transport_viewer_12": (Role.DEPARTMENT_VIEWER, "mx-view-tra", "12", Department.TRANSPORT),
           "viewer_without_department_12": (Role.DEPARTMENT_VIEWER, "mx-view-none", "12", None),
           "housing_admin_12": (Role.ADMIN, "mx-adm-hou", "12", Department.HOUSING),
           "transport_admin_12": (Role.ADMIN, "mx-adm-tra", "12", Department.TRANSPORT),
           "assets_admin_12": (Role.ADMIN, "mx-adm-gz", "12", Department.STATE_ASSETS),
           "other_engineer_12": (Role.SUPERVISION_ENGINEER, "mx-eng-2", "12", None),
           "other_site_admin": (Role.SITE_ADMIN, "mx-gate-2", None, None)}
# engineer_12 supervises the site, other_engineer_12 the other one (rule E6)
# the site is a building site: housing department, district 12
STAFF_12 = {"reviewer_12", "reviewer_city", "admin_12", "auditor_city", "inspector_12", "ecology_viewer_12",
            "housing_viewer_12", "housing_admin_12", "engineer_12"}
READ_SITE = STAFF_12 | {"site_admin"}
SEARCH = READ_SITE | {"transport_viewer_12", "viewer_without_department_12", "transport_admin_12", "assets_admin_12",
                     "other_engineer_12", "other_site_admin"}  # a search filters; it does not refuse
ZONE_MANAGERS = {"reviewer_12", "reviewer_city", "admin_12"}
ZONE_READERS = SEARCH | {"reviewer_01", "admin_01", "auditor_01", "inspector_01"}
MANAGE_SITE = {"site_admin", "admin_12", "housing_admin_12"}
GATE = {"site_admin"}


@pytest.fixture(scope="module")
def world(platform) -> dict:
    site, admin = platform.register_site(district="12", street="鱼洞街道")
    other, _ = platform.register_site(district="12", street="鱼洞街道")
    assert platform.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                               json={"code": INSIDE, **reported()}).status_code == 201
    eventually(platform.sites, f"/api/sites/sites/{site}/roster", admin, lambda rows: rows)
    ecology = platform.token(Role.REVIEWER, "eco", district="12")
    zone = platform.sites.post("/api/sites/zones", headers=ecology, json={
        "name": "巴南区禁用区", "district": "12", "kind": "streets", "streets": ["李家沱街道"]})
    assert zone.status_code == 201, zone.text
    details = platform.sites.get(f"/api/sites/sites/{site}", headers=admin).json()["details"]
    # declared not state-owned: the matrix's same declaration changes nothing (422), and there is nothing to confirm
    assert platform.sites.put(f"/api/sites/sites/{site}/state-ownership", headers=admin,
                              json={"construction_company_state_owned": False}).status_code == 200
    return {"site": site, "other": other, "zone": zone.json(), "details": details}


def callers(platform, world) -> dict[str, dict]:
    sites = {"site_admin": world["site"], "other_site_admin": world["other"], "engineer_12": world["site"],
             "other_engineer_12": world["other"]}
    return {name: token_headers(platform.platform.verifier, spec, site_id=sites.get(name))
            for name, spec in CALLERS.items()}


def endpoints(world: dict) -> list[Endpoint]:
    site, zone = world["site"], world["zone"]
    entry = {"code": INSIDE, **reported()}
    table = [
        ("register a site", "POST", "/api/sites/registrations", {"json": {"site_code": "x"}}, set(CALLERS)),
        ("search sites", "GET", "/api/sites/sites?district=12", {}, SEARCH),
        ("one site", "GET", f"/api/sites/sites/{site}", {}, READ_SITE),
        ("update a site", "PUT", f"/api/sites/sites/{site}", {"json": world["details"]}, MANAGE_SITE),
        ("complete a site", "POST", f"/api/sites/sites/{site}/status", {"json": {"status": "completed"}},
         MANAGE_SITE),
        # rule E6: an engineer's account under the site, by an administrator who governs it (weak password: 422)
        ("supervision engineer", "POST", f"/api/sites/sites/{site}/supervision-engineers",
         {"json": {"username": "mx-eng-new", "password": "short"}}, MANAGE_SITE - {"site_admin"}),
        ("scan", "POST", f"/api/sites/sites/{site}/scans", {"json": {"code": INSIDE}}, GATE),
        ("entry", "POST", f"/api/sites/sites/{site}/entries", {"json": entry}, GATE),
        ("batch entry", "POST", f"/api/sites/sites/{site}/entries/batch", {"json": {"machines": [entry]}}, GATE),
        ("exit", "POST", f"/api/sites/sites/{site}/exits", {"json": {"code": "4-C0000001"}}, GATE),
        ("roster", "GET", f"/api/sites/sites/{site}/roster", {}, READ_SITE),
        ("movements", "GET", f"/api/sites/sites/{site}/movements", {}, READ_SITE),
        ("refusals", "GET", f"/api/sites/sites/{site}/refusals", {}, READ_SITE),
        # filtered to the caller's sites, never refused to staff; owners see only their own machines
        ("machine history", "GET", f"/api/sites/machines/{INSIDE}/stays", {},
         set(CALLERS) - {"anonymous", "owner", "other_owner", "service"}),
        ("anomalies", "GET", "/api/sites/anomalies?district=12", {},
         {"reviewer_12", "reviewer_city", "admin_12", "auditor_city", "inspector_12"}),
        ("zones", "GET", "/api/sites/zones", {}, ZONE_READERS),
        ("define a zone", "POST", "/api/sites/zones",
         {"json": {"name": "x", "district": "12", "kind": "streets", "streets": ["不存在街道"]}}, ZONE_MANAGERS),
        ("change a zone", "PUT", f"/api/sites/zones/{zone['zone_id']}",
         {"json": {"definition": zone["definition"], "active": True}}, ZONE_MANAGERS),
        # rule D3: the category's department (housing) confirms, in its district; declined without a reason: 422
        ("confirm the department", "POST", f"/api/sites/sites/{site}/department-confirmation",
         {"json": {"accepted": False}}, {"housing_admin_12"}),
        ("declare state ownership", "PUT", f"/api/sites/sites/{site}/state-ownership",
         {"json": {"construction_company_state_owned": False}}, MANAGE_SITE),
        ("confirm state ownership", "POST", f"/api/sites/sites/{site}/state-ownership/confirmation",
         {"json": {"accepted": True}}, {"assets_admin_12"}),
        *audit_rows("sites", f"site-{site}", INSIDE),
    ]
    return [Endpoint(name, method, path, frozenset(allowed), kwargs) for name, method, path, kwargs, allowed in table]


SHAPE = {"site": "{site_code}", "other": "x", "zone": {"zone_id": "{zone_id}", "definition": {}}, "details": {}}


@pytest.mark.parametrize("endpoint", [e.name for e in endpoints(SHAPE)])
def test_every_caller_gets_exactly_what_the_matrix_allows(platform, world, endpoint):
    chosen = next(e for e in endpoints(world) if e.name == endpoint)
    wrong = wrong_cells(platform.sites, chosen, callers(platform, world))
    assert not wrong, f"{chosen.name} {chosen.method} {chosen.path}:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_sites_route():
    from sites.api import routers

    missing = uncovered(routers(), endpoints(SHAPE))
    assert not missing, f"routes missing from the matrix: {sorted(missing)}"
