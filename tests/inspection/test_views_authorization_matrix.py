"""Authorization matrix of department views and rankings (rules D3, D6): every route x every kind of caller; a
department viewer sees only their department and district, the ecology bureau and auditors everything, market
supervision no sites (see tests/authz.py); any 5xx fails a cell."""

from __future__ import annotations

import pytest

from nrmm_kernel.reference import Department, Role
from tests.authz import BASE_CALLERS, Endpoint, token_headers, uncovered, wrong_cells
from tests.platform import eventually
from tests.registry.fixtures import credit_code

CALLERS = {**BASE_CALLERS,
           "transport_viewer_12": (Role.DEPARTMENT_VIEWER, "mx-view-tra", "12", Department.TRANSPORT),
           "assets_viewer_12": (Role.DEPARTMENT_VIEWER, "mx-view-gz", "12", Department.STATE_ASSETS),
           "market_viewer_12": (Role.DEPARTMENT_VIEWER, "mx-view-sc", "12", Department.MARKET),
           "housing_viewer_city": (Role.DEPARTMENT_VIEWER, "mx-view-hou-city", None, Department.HOUSING),
           "housing_admin_12": (Role.ADMIN, "mx-adm-hou", "12", Department.HOUSING)}
# the site: a building site in district 12, confirmed by the housing department (rule D3)
VIEWERS = {"admin_12", "admin_01", "auditor_city", "auditor_01", "ecology_viewer_12", "housing_viewer_12",
           "transport_viewer_12", "assets_viewer_12", "market_viewer_12", "housing_viewer_city", "housing_admin_12"}
OWN_VIEW = VIEWERS - {"market_viewer_12"}  # market supervision governs no sites
HOUSING_12 = {"admin_12", "auditor_city", "ecology_viewer_12", "housing_viewer_12", "housing_viewer_city",
              "housing_admin_12"}
CITY = {"auditor_city", "housing_viewer_city"}
COMPANY = credit_code("91500000MA6M012")


@pytest.fixture(scope="module")
def world(platform) -> dict:
    p = platform
    site, _ = p.register_site(district="12", street="鱼洞街道",
                              company={"name": "重庆某建工集团", "credit_code": COMPANY})
    confirmed = p.api.post(f"/api/sites/sites/{site}/department-confirmation", json={"accepted": True},
                           headers=p.token(Role.ADMIN, "adm-hou-12", district="12", department=Department.HOUSING))
    assert confirmed.status_code == 200, confirmed.text
    eventually(p.api, f"/api/inspection/views/sites/{site}", p.token(Role.AUDITOR, "aud"),
               lambda d: "housing" in d["governed_by"])
    return {"site": site}


def callers(platform) -> dict[str, dict]:
    return {name: token_headers(platform.platform.verifier, spec) for name, spec in CALLERS.items()}


def endpoints(world: dict) -> list[Endpoint]:
    housing = "department=housing&district=12"
    base = "/api/inspection/views"
    table = [
        ("own view", "GET", f"{base}/departments", OWN_VIEW),
        ("housing in 12", "GET", f"{base}/departments?{housing}", HOUSING_12),
        ("the city", "GET", f"{base}/departments?district=all", CITY),
        ("export", "GET", f"{base}/departments/export?fmt=csv&{housing}", HOUSING_12),
        ("ranking", "GET", f"{base}/rankings?by=site&{housing}", HOUSING_12),
        ("ranking export", "GET", f"{base}/rankings/export?fmt=xlsx&{housing}", HOUSING_12),
        ("a site", "GET", f"{base}/sites/{world['site']}", HOUSING_12),
        ("a company", "GET", f"{base}/companies/{COMPANY}", {"auditor_city"}),
        ("scoring", "GET", f"{base}/scoring", VIEWERS),
    ]
    return [Endpoint(name, method, path, frozenset(allowed)) for name, method, path, allowed in table]


SHAPE = {"site": "{site_code}"}


@pytest.mark.parametrize("endpoint", [e.name for e in endpoints(SHAPE)])
def test_every_caller_gets_exactly_what_the_matrix_allows(platform, world, endpoint):
    chosen = next(e for e in endpoints(world) if e.name == endpoint)
    http = platform.platform.client("inspection")
    headers = callers(platform)
    wrong = wrong_cells(http, chosen, headers)
    for caller, h in headers.items():  # no cell may be a server error
        status = http.request(chosen.method, chosen.path, headers=h, **chosen.kwargs).status_code
        if status >= 500:
            wrong.append(f"{caller}: {status}")
    assert not wrong, f"{chosen.name} {chosen.method} {chosen.path}:\n" + "\n".join(wrong)


def test_bad_parameters_are_a_4xx_naming_the_field(platform, world):
    http = platform.platform.client("inspection")
    auditor = callers(platform)["auditor_city"]
    for params, code, field in (({"district": "99"}, "unknown_district", "district"),
                                ({"department": "nobody"}, "unknown_department", "department"),
                                ({"from": "2026-11-30", "to": "2026-11-01"}, "dates_reversed", "to"),
                                ({"from": "2020-01-01", "to": "2026-11-01"}, "period_too_long", "from"),
                                ({"from": "0001-01-01"}, "date_out_of_range", "from"),
                                ({"company": "X"}, "district_required", "district")):
        answer = http.get("/api/inspection/views/departments", headers=auditor, params=params)
        assert answer.status_code == 422 and (answer.json()["code"], answer.json()["field"]) == (code, field), params
    ranking = http.get("/api/inspection/views/rankings", headers=auditor)
    assert ranking.status_code == 422 and ranking.json()["code"] == "district_required"
    assert http.get("/api/inspection/views/departments/export?fmt=pdf", headers=auditor).status_code == 422


def test_the_matrix_covers_every_views_route():
    from inspection.api.views import router

    missing = uncovered([router], endpoints(SHAPE))
    assert not missing, f"routes missing from the matrix: {sorted(missing)}"
