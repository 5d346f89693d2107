"""Authorization matrix of the inspection service: every route x every kind of caller, role, department, district
and site (see tests/authz.py); any 5xx fails a cell."""

from __future__ import annotations

import pytest

from nrmm_kernel.reference import Department, Role
from tests.authz import BASE_CALLERS, Endpoint, audit_rows, token_headers, uncovered, wrong_cells
from tests.registry.fixtures import credit_code

OTHER_PROVINCE = "3-C77B3C4D"
CALLERS = {**BASE_CALLERS, "transport_viewer_12": (Role.DEPARTMENT_VIEWER, "mx-view-tra", "12", Department.TRANSPORT),
           "housing_inspector_city": (Role.INSPECTOR, "mx-insp-hou", None, Department.HOUSING),
           "other_engineer_12": (Role.SUPERVISION_ENGINEER, "mx-eng-2", "12", None),
           "other_site_admin": (Role.SITE_ADMIN, "mx-gate-2", None, None)}
# the site: a building site (housing department) in district 12; the machine's owner is "owner" (mx-owner-a)
INSPECTORS = {"inspector_12", "housing_inspector_city"}  # any department, in their district (rule D4)
READERS = set(CALLERS) - {"anonymous", "reviewer_12", "reviewer_01", "reviewer_city", "admin_12", "admin_01",
                          "service"}  # lists are filtered, never refused
READ_SITE = INSPECTORS | {"auditor_city", "ecology_viewer_12", "housing_viewer_12", "engineer_12", "site_admin"}
READ_RECORD = READ_SITE | {"owner"}
STAFF_READERS = INSPECTORS | {"inspector_01", "auditor_city", "auditor_01", "ecology_viewer_12", "housing_viewer_12",
                              "transport_viewer_12"}
UPLOADERS = INSPECTORS | {"inspector_01", "owner", "other_owner", "site_admin", "other_site_admin"}


@pytest.fixture(scope="module")
def world(platform) -> dict:
    p = platform
    site, _ = p.register_site(district="12", street="鱼洞街道")
    other, _ = p.register_site(district="12", street="鱼洞街道")
    code = p.issue_code(owner="mx-owner-a", district="12", stage="3")
    inspector = p.inspector("12", account="mx-insp-12")
    p.scanned(inspector, site, code)
    photo = p.photo(inspector)
    checked = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": site, "code": code, "plate": "affixed", "card_carried": False, "photos": [photo]})
    assert checked.status_code == 201, checked.text
    violation = next(v["violation_id"] for v in checked.json()["violations"] if v["kind"] == "card_missing")
    p.violation(p.token(Role.OWNER, "mx-owner-a"), violation)
    return {"site": site, "other": other, "check": checked.json()["check_id"], "violation": violation, "code": code,
            "photo": photo}


def callers(platform, world) -> dict[str, dict]:
    sites = {"site_admin": world["site"], "other_site_admin": world["other"], "engineer_12": world["site"],
             "other_engineer_12": world["other"]}
    return {name: token_headers(platform.platform.verifier, spec, site_id=sites.get(name))
            for name, spec in CALLERS.items()}


def endpoints(world: dict) -> list[Endpoint]:
    site, check, violation = world["site"], world["check"], world["violation"]
    review = {"json": {"accepted": False, "reason": "证据不足"}}
    duties = f"/api/inspection/sites/{site}"
    table = [
        ("upload", "POST", "/api/inspection/uploads",
         {"data": {"kind": "evidence_photo"}, "files": {"file": ("f.txt", b"text", "text/plain")}}, UPLOADERS),
        ("read an upload", "GET", f"/api/inspection/uploads/{world['photo']}", {}, READ_RECORD),
        ("scan", "POST", "/api/inspection/scans", {"json": {"site_code": site, "code": OTHER_PROVINCE}}, INSPECTORS),
        ("check", "POST", "/api/inspection/checks",
         {"json": {"site_code": site, "code": OTHER_PROVINCE, "plate": "affixed", "card_carried": True,
                   "photos": ["not-an-upload"]}}, INSPECTORS),
        ("list checks", "GET", "/api/inspection/checks", {}, READERS),
        ("one check", "GET", f"/api/inspection/checks/{check}", {}, READ_RECORD),
        ("list violations", "GET", "/api/inspection/violations", {}, READERS),
        ("one violation", "GET", f"/api/inspection/violations/{violation}", {}, READ_RECORD),
        ("rectify", "POST", f"/api/inspection/violations/{violation}/rectifications",
         {"json": {"measure": "card_carried"}}, {"owner", "site_admin"}),
        ("review", "POST", f"/api/inspection/violations/{violation}/review", review, INSPECTORS),
        ("retest", "POST", f"/api/inspection/violations/{violation}/retests", {"json": {"k": 0.3}},
         INSPECTORS),
        ("offences", "GET", "/api/inspection/offences?by=company", {}, STAFF_READERS),
        ("coverage", "GET", f"{duties}/coverage", {}, READ_SITE),
        ("duties", "GET", f"{duties}/duties", {}, READ_SITE),
        ("management rules", "POST", f"{duties}/management-rules",
         {"json": {"title": "机械管理制度", "documents": ["not-an-upload"]}}, {"site_admin"}),
        ("review rules", "POST", f"{duties}/management-rules/review", review, INSPECTORS),
        ("project owner", "PUT", f"{duties}/project-owner",
         {"json": {"name": "重庆某建设单位", "credit_code": credit_code("91500000MA60000")}}, {"site_admin"}),
        ("contract", "POST", f"{duties}/contracts",
         {"json": {"kind": "construction", "counterparty": "中建某局", "clauses": "第12条",
                   "documents": ["not-an-upload"]}}, {"site_admin"}),
        ("review contract", "POST", f"{duties}/contracts/NOSUCHCONTRACT/review", review, INSPECTORS),
        ("fuel receipt", "POST", f"{duties}/fuel-receipts",
         {"json": {"supplier": "中石化", "purchased_on": "2026-11-01", "quantity_litres": 200,
                   "fuel_standard": "GB 19147", "photo": "not-an-upload"}}, {"site_admin"}),
        ("withdraw", "POST", f"/api/inspection/violations/{violation}/withdrawal", {"json": {"reason": "误录"}},
         INSPECTORS),
        ("decide receipt", "POST", f"{duties}/fuel-receipts/NOSUCHRECEIPT/decision", review, {"engineer_12"}),
        *audit_rows("inspection", f"check-{check}", world.get("code", "x")),
    ]
    return [Endpoint(name, method, path, frozenset(allowed), kwargs) for name, method, path, kwargs, allowed in table]


SHAPE = {"site": "{site_code}", "check": "x", "violation": "x", "photo": "x"}


@pytest.mark.parametrize("endpoint", [e.name for e in endpoints(SHAPE)])
def test_every_caller_gets_exactly_what_the_matrix_allows(platform, world, endpoint):
    chosen = next(e for e in endpoints(world) if e.name == endpoint)
    http = platform.platform.client("inspection")
    headers = callers(platform, world)
    wrong = wrong_cells(http, chosen, headers)  # a 5xx in any cell is wrong too
    assert not wrong, f"{chosen.name} {chosen.method} {chosen.path}:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_inspection_route():
    from inspection.api import routers
    from inspection.api.sharing import router as sharing  # its own matrix: test_sharing_authorization.py
    from tests.inspection.test_views_authorization_matrix import SHAPE as VIEWS_SHAPE
    from tests.inspection.test_views_authorization_matrix import endpoints as views  # views and rankings

    missing = uncovered([r for r in routers() if r is not sharing], endpoints(SHAPE) + views(VIEWS_SHAPE))
    assert not missing, f"routes missing from the matrix: {sorted(missing)}"
