"""Authorization matrix of the gateway's own endpoints and the notifications service, with real accounts
(see tests/authz.py for what allowed and denied mean)."""

from __future__ import annotations

import pytest

from nrmm_kernel.reference import Role
from tests.authz import BASE_CALLERS, Endpoint, token_headers, uncovered, wrong_cells
from tests.gateway.conftest import new_mobile, nowhere, running_gateway
from tests.platform import eventually
from tests.registry.fixtures import credit_code

SITE = "MX-SITE-1"
STAFF = {  # name -> (role, department, district, site)
    "admin_12": ("admin", "ecology", "12", None), "reviewer_12": ("reviewer", "ecology", "12", None),
    "housing_admin_12": ("admin", "housing", "12", None),
    "inspector_12": ("inspector", "housing", "12", None),
    "housing_viewer_12": ("department_viewer", "housing", "12", None),
    "engineer_12": ("supervision_engineer", None, "12", SITE), "auditor_city": ("auditor", None, None, None),
}


@pytest.fixture(scope="module")
def gateway(infra):
    """Here with the sites service: a supervision engineer's account is bound to a real site (rule E6)."""
    yield from running_gateway(infra, ["notifications", "registry", "sites", "gateway"],
                               {"NRMM_INSPECTION_URL": nowhere()})


@pytest.fixture(scope="module")
def callers(gateway) -> dict[str, dict]:
    g = gateway
    found = {"anonymous": {}, "admin": g.admin,
             "service": token_headers(g.platform.verifier, BASE_CALLERS["service"])}
    site_mobile = new_mobile()
    registered = g.http.post("/api/sites/registrations", json={
        "site_code": SITE, "password": "Site-Passw0rd", "sms_code": g.sms_code(site_mobile), "details": {
            "name": "矩阵工地", "company": {"name": "中建某局", "credit_code": credit_code()}, "district": "12",
            "category": "building", "address": {"street": "鱼洞街道", "detail": "1 号"}, "starts_on": "2026-01-01",
            "ends_on": "2027-12-31", "manager": {"name": "王五", "mobile": site_mobile}}})
    assert registered.status_code == 201, registered.text
    found["site_admin"] = g.bearer(SITE, "Site-Passw0rd")
    eventually(g.http, f"/api/sites/sites/{SITE}", found["site_admin"], lambda site: site)
    for name, (role, department, district, site) in STAFF.items():
        account = {"username": f"mx-{name}", "password": "Matrix-Passw0rd"}
        if site is not None:  # a supervision engineer, made under the site (rule E6)
            made = g.http.post(f"/api/sites/sites/{site}/supervision-engineers", headers=g.admin, json=account)
        else:
            made = g.http.post("/api/auth/staff", headers=g.admin, json={
                **account, "role": role, "department": department, "district": district})
        assert made.status_code == 201, made.text
        found[name] = g.bearer(f"mx-{name}", "Matrix-Passw0rd")
    mobile, password = g.register_owner()
    found["owner"] = g.bearer(mobile, password)
    client = g.http.post("/api/auth/system-clients", headers=g.admin, json={"name": "矩阵特种设备平台"})
    assert client.status_code == 201, client.text
    issued = g.http.post("/api/auth/oauth/token", data={"grant_type": "client_credentials", **{
        k: client.json()[k] for k in ("client_id", "client_secret")}})
    assert issued.status_code == 200, issued.text
    found["system_client"] = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    return found


EVERYONE = {"anonymous", "admin", "service", "system_client", "owner", "site_admin", *STAFF}
SIGNED_IN = EVERYONE - {"anonymous"}
PEOPLE = SIGNED_IN - {"service", "system_client"}


def endpoints() -> list[Endpoint]:
    invalid = {"json": {}}
    table = [
        ("sms code", "POST", "/api/auth/sms-codes", invalid, EVERYONE),
        ("register owner", "POST", "/api/auth/owners", invalid, EVERYONE),
        ("site admin account", "POST", "/api/auth/site-admins", invalid, {"service"}),
        ("owner lookup", "POST", "/api/auth/owner-lookup", invalid, {"service"}),  # the registry (rule C6)
        ("staff account", "POST", "/api/auth/staff",
         {"json": {"username": "mx-reviewer_12", "password": "Matrix-Passw0rd", "role": "reviewer",
                   "department": "ecology", "district": "12"}}, {"admin", "admin_12"}),
        # made under its site by the sites service (rule E6), which judged the administrator
        ("engineer account", "POST", "/api/auth/supervision-engineers", invalid, {"service"}),
        ("token", "POST", "/api/auth/token", {"data": {}}, EVERYONE),
        ("refresh", "POST", "/api/auth/refresh", invalid, EVERYONE),
        ("logout", "POST", "/api/auth/logout", invalid, EVERYONE),
        ("change password", "POST", "/api/auth/password",
         {"json": {"old_password": "not-it-1", "new_password": "Whatever-1"}}, PEOPLE),
        ("reset password", "POST", "/api/auth/password-reset", invalid, EVERYONE),
        ("me", "GET", "/api/auth/me", {}, SIGNED_IN),
        # system clients (rule D5): city-level administrators manage them; anyone may ask for a token
        ("register system client", "POST", "/api/auth/system-clients", {"json": {"name": "矩阵系统"}}, {"admin"}),
        ("list system clients", "GET", "/api/auth/system-clients", {}, {"admin"}),
        ("revoke system client", "POST", "/api/auth/system-clients/no-such-client/revocation", {}, {"admin"}),
        ("client credentials", "POST", "/api/auth/oauth/token", {"data": {}}, EVERYONE),
        # accounts (#22): the ecology bureau's administrators manage them; auditors read their histories
        ("disable account", "POST", "/api/auth/accounts/no-such-account/disable", {"json": {"reason": "矩阵"}},
         {"admin", "admin_12"}),
        ("enable account", "POST", "/api/auth/accounts/no-such-account/enable", {"json": {}}, {"admin", "admin_12"}),
        ("revoke sessions", "POST", "/api/auth/accounts/no-such-account/revoke-sessions", {"json": {"reason": "矩阵"}},
         {"admin", "admin_12"}),
        ("grant role", "POST", "/api/auth/accounts/no-such-account/role",
         {"json": {"role": "reviewer", "department": "ecology", "district": "12"}}, {"admin", "admin_12"}),
        ("account history", "GET", "/api/audit/accounts/no-such-account/history", {}, {"auditor_city"}),
        ("send message", "POST", "/api/notifications/messages", invalid, {"service"}),
        ("read outbox", "GET", "/api/notifications/outbox?limit=1", {}, {"admin"}),  # SMS codes: city ecology
        # every account its own inbox (services have none); deliveries: the city ecology administrator
        ("inbox", "GET", "/api/notifications/inbox?limit=1", {}, PEOPLE),
        ("unread count", "GET", "/api/notifications/inbox/unread-count", {}, PEOPLE),
        ("mark read", "POST", "/api/notifications/inbox/no-such-notice/read", {}, PEOPLE),
        ("mark all read", "POST", "/api/notifications/inbox/read-all", {}, PEOPLE),
        ("deliveries", "GET", "/api/notifications/deliveries?limit=1", {}, {"admin"}),
        ("one delivery", "GET", "/api/notifications/deliveries/no-such-delivery", {}, {"admin"}),
        ("redelivery", "POST", "/api/notifications/deliveries/no-such-delivery/redelivery", {}, {"admin"}),
    ]
    return [Endpoint(name, method, path, frozenset(allowed), kwargs) for name, method, path, kwargs, allowed in table]


@pytest.mark.parametrize("endpoint", [e.name for e in endpoints()])
def test_every_caller_gets_exactly_what_the_matrix_allows(gateway, callers, endpoint):
    chosen = next(e for e in endpoints() if e.name == endpoint)
    wrong = wrong_cells(gateway.http, chosen, callers)
    assert not wrong, f"{chosen.name} {chosen.method} {chosen.path}:\n" + "\n".join(wrong)


def test_the_matrix_covers_every_auth_route():
    # the notifications service's routes (inbox, feeds) have their own matrix, which covers every one of them
    from gateway.api.accounts_admin import router as accounts_admin
    from gateway.api.audit_accounts import router as audit_accounts
    from gateway.api.auth import router as auth
    from gateway.api.system_clients import router as system_clients

    missing = uncovered([auth, system_clients, accounts_admin, audit_accounts], endpoints())
    assert not missing, f"routes missing from the matrix: {sorted(missing)}"


def test_roles_of_the_platform_are_all_in_some_matrix():
    assert {Role(spec[0]) for spec in STAFF.values()} | {Role.ADMIN, Role.OWNER, Role.SITE_ADMIN, Role.SERVICE,
                                                        Role.SYSTEM_CLIENT} == set(Role)
