"""Authorization matrix of data sharing's routes (rules D5, N1, N2): every route x every kind of caller, market
supervision's system client among them (see tests/authz.py); any 5xx fails a cell."""

from __future__ import annotations

import pytest

from nrmm_kernel.reference import Department, Role
from tests.authz import BASE_CALLERS, Endpoint, token_headers, uncovered, wrong_cells

pytestmark = pytest.mark.integration

CALLERS = {**BASE_CALLERS,
           "market_viewer_12": (Role.DEPARTMENT_VIEWER, "mx-view-mkt", "12", Department.MARKET),
           "market_inspector_12": (Role.INSPECTOR, "mx-insp-mkt", "12", Department.MARKET),
           "housing_inspector_12": (Role.INSPECTOR, "mx-insp-hou", "12", Department.HOUSING),
           "admin_city": (Role.ADMIN, "mx-adm-city", None, Department.ECOLOGY),
           "market_admin_city": (Role.ADMIN, "mx-adm-mkt", None, Department.MARKET),
           "housing_admin_city": (Role.ADMIN, "mx-adm-hou", None, Department.HOUSING),
           "system_client": (Role.SYSTEM_CLIENT, "sc-market", None, Department.MARKET),
           "housing_system_client": (Role.SYSTEM_CLIENT, "sc-housing", None, Department.HOUSING)}
IMPORTERS = {"admin_city", "market_admin_city", "system_client"}  # city level (rule D5)
# the ecology bureau in its district, market supervision, auditors
READERS = {"inspector_12", "inspector_01", "admin_12", "admin_01", "admin_city", "market_admin_city", "auditor_city",
           "auditor_01", "ecology_viewer_12", "market_viewer_12", "market_inspector_12", "system_client"}
SPOT_CHECKERS = {"inspector_12", "market_inspector_12"}  # rule N2: ecology with market supervision, district 12
SPOT_READERS = READERS - {"system_client"}
CSV = ("x.csv", "登记证编号,设备种类\n".encode(), "text/csv")


def endpoints() -> list[Endpoint]:
    spot = {"district": "12", "place_kind": "dealer", "place_name": "某经销商", "sale_state": "new",
            "manufacturer": "三一", "category": "excavator", "brand": "三一", "model": "SY215C",
            "factory_serial": "S1", "label_present": True, "photos": ["not-an-upload"]}
    table = [
        ("push equipment", "POST", "/api/inspection/special-equipment", {"json": {"records": []}}, IMPORTERS),
        ("import equipment", "POST", "/api/inspection/special-equipment/imports", {"files": {"file": CSV}},
         IMPORTERS),
        ("import state", "GET", "/api/inspection/imports/NO-SUCH-IMPORT", {}, IMPORTERS),
        ("follow-ups", "GET", "/api/inspection/special-equipment/follow-ups", {}, READERS),
        ("follow-up progress", "GET", "/api/inspection/special-equipment/follow-ups/progress", {}, READERS),
        ("one record", "GET", "/api/inspection/special-equipment/NO-SUCH", {}, READERS),
        ("push disclosures", "POST", "/api/inspection/disclosures", {"json": {"records": []}}, IMPORTERS),
        ("import disclosures", "POST", "/api/inspection/disclosures/imports", {"files": {"file": CSV}}, IMPORTERS),
        ("public disclosure", "GET", "/api/inspection/disclosures?brand=x&model=y", {}, set(CALLERS)),  # rule N1
        ("spot check", "POST", "/api/inspection/spot-checks", {"json": spot}, SPOT_CHECKERS),
        ("spot checks", "GET", "/api/inspection/spot-checks", {}, SPOT_READERS),
        ("results per manufacturer", "GET", "/api/inspection/spot-checks/by-manufacturer", {}, SPOT_READERS),
    ]
    return [Endpoint(name, method, path, frozenset(allowed), kwargs) for name, method, path, kwargs, allowed in table]


@pytest.mark.parametrize("endpoint", [e.name for e in endpoints()])
def test_every_caller_gets_exactly_what_the_matrix_allows(platform, endpoint):
    chosen = next(e for e in endpoints() if e.name == endpoint)
    http = platform.platform.client("inspection")
    headers = {name: token_headers(platform.platform.verifier, spec) for name, spec in CALLERS.items()}
    wrong = wrong_cells(http, chosen, headers)
    for caller, h in headers.items():  # no cell may be a server error
        status = http.request(chosen.method, chosen.path, headers=h, **chosen.kwargs).status_code
        if status >= 500:
            wrong.append(f"{caller}: {status}")
    assert not wrong, f"{chosen.name} {chosen.method} {chosen.path}:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_sharing_route():
    from inspection.api.sharing import router

    missing = uncovered([router], endpoints())
    assert not missing, f"routes missing from the matrix: {sorted(missing)}"
