"""Authorization matrix of the gateway's own endpoints and the notifications service, with real accounts
(see tests/authz.py for what allowed and denied mean)."""

from __future__ import annotations

import pytest

from nrmm_kernel.reference import Role
from tests.authz import BASE_CALLERS, Endpoint, token_headers, uncovered, wrong_cells
from tests.gateway.conftest import new_mobile

STAFF = {  # name -> (role, department, district)
    "admin_12": ("admin", "ecology", "12"), "reviewer_12": ("reviewer", "ecology", "12"),
    "inspector_12": ("inspector", "housing", "12"), "housing_viewer_12": ("department_viewer", "housing", "12"),
    "engineer_12": ("supervision_engineer", None, "12"), "auditor_city": ("auditor", None, None),
}


@pytest.fixture(scope="module")
def callers(gateway) -> dict[str, dict]:
    g = gateway
    found = {"anonymous": {}, "admin": g.admin,
             "service": token_headers(g.platform.verifier, BASE_CALLERS["service"])}
    for name, (role, department, district) in STAFF.items():
        made = g.http.post("/api/auth/staff", headers=g.admin, json={
            "username": f"mx-{name}", "password": "Matrix-Passw0rd", "role": role, "department": department,
            "district": district})
        assert made.status_code == 201, made.text
        found[name] = g.bearer(f"mx-{name}", "Matrix-Passw0rd")
    mobile, password = g.register_owner()
    found["owner"] = g.bearer(mobile, password)
    site_mobile = new_mobile()
    site_admin = g.http.post("/api/auth/site-admins", headers=found["service"], json={
        "username": "MX-SITE-1", "mobile": site_mobile, "password": "Site-Passw0rd",
        "sms_code": g.sms_code(site_mobile), "site_id": "MX-SITE-1", "district": "12"})
    assert site_admin.status_code == 201, site_admin.text
    found["site_admin"] = g.bearer("MX-SITE-1", "Site-Passw0rd")
    return found


EVERYONE = {"anonymous", "admin", "service", "owner", "site_admin", *STAFF}
SIGNED_IN = EVERYONE - {"anonymous"}
PEOPLE = SIGNED_IN - {"service"}


def endpoints() -> list[Endpoint]:
    invalid = {"json": {}}
    table = [
        ("sms code", "POST", "/api/auth/sms-codes", invalid, EVERYONE),
        ("register owner", "POST", "/api/auth/owners", invalid, EVERYONE),
        ("site admin account", "POST", "/api/auth/site-admins", invalid, {"service"}),
        ("staff account", "POST", "/api/auth/staff",
         {"json": {"username": "mx-reviewer_12", "password": "Matrix-Passw0rd", "role": "reviewer",
                   "department": "ecology", "district": "12"}}, {"admin", "admin_12"}),
        ("token", "POST", "/api/auth/token", {"data": {}}, EVERYONE),
        ("refresh", "POST", "/api/auth/refresh", invalid, EVERYONE),
        ("logout", "POST", "/api/auth/logout", invalid, EVERYONE),
        ("change password", "POST", "/api/auth/password",
         {"json": {"old_password": "not-it-1", "new_password": "Whatever-1"}}, PEOPLE),
        ("reset password", "POST", "/api/auth/password-reset", invalid, EVERYONE),
        ("me", "GET", "/api/auth/me", {}, SIGNED_IN),
        ("send message", "POST", "/api/notifications/messages", invalid, {"service"}),
        ("read outbox", "GET", "/api/notifications/outbox?limit=1", {}, {"admin", "admin_12"}),
    ]
    return [Endpoint(name, method, path, frozenset(allowed), kwargs) for name, method, path, kwargs, allowed in table]


@pytest.mark.parametrize("endpoint", [e.name for e in endpoints()])
def test_every_caller_gets_exactly_what_the_matrix_allows(gateway, callers, endpoint):
    chosen = next(e for e in endpoints() if e.name == endpoint)
    wrong = wrong_cells(gateway.http, chosen, callers)
    assert not wrong, f"{chosen.name} {chosen.method} {chosen.path}:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_auth_and_notifications_route():
    from gateway.api.auth import router as auth
    from notifications.api import routers

    missing = uncovered([auth, *routers()], endpoints())
    assert not missing, f"routes missing from the matrix: {sorted(missing)}"


def test_roles_of_the_platform_are_all_in_some_matrix():
    assert {Role(spec[0]) for spec in STAFF.values()} | {Role.ADMIN, Role.OWNER, Role.SITE_ADMIN, Role.SERVICE} \
        == set(Role)
