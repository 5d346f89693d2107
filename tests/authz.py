"""Authorization matrices: every endpoint x every kind of caller -> allowed or denied.

Denied means 401 (no token) or 403 with a stable code. Allowed means the request got past every role,
ownership and jurisdiction check: the answer may still be a 404, 409 or 422 from the domain, which is how
write endpoints are exercised without changing the records (a stale expected version, a date in the future,
"nothing changed"). Each check in a service is needed by at least one cell. A 5xx is wrong in every cell,
allowed or denied: a crash is never an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from nrmm_kernel.reference import Department, Role

# callers: name -> (role, account, district, department); None: no token at all
BASE_CALLERS: dict[str, tuple | None] = {
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
    "service": (Role.SERVICE, "svc-test", None, None),
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    allowed: frozenset[str]
    kwargs: dict = field(default_factory=dict)


def token_headers(verifier, spec: tuple | None, site_id: str | None = None) -> dict:
    from nrmm_kernel.auth import Principal

    if spec is None:
        return {}
    role, account, district, department = spec
    principal = Principal(account_id=account, role=role, district=district, department=department, site_id=site_id)
    return {"Authorization": f"Bearer {verifier.mint(principal)}"}


def wrong_cells(http: httpx.Client, endpoint: Endpoint, callers: dict[str, dict]) -> list[str]:
    """Every caller's answer that differs from the matrix (empty when the endpoint holds)."""
    assert endpoint.allowed <= set(callers), endpoint.allowed - set(callers)
    wrong = []
    for caller, headers in callers.items():
        response = http.request(endpoint.method, endpoint.path, headers=headers, **endpoint.kwargs)
        if response.status_code >= 500:
            wrong.append(f"{caller}: {response.status_code} {response.text[:120]} (a 5xx is never an answer)")
        elif caller in endpoint.allowed:
            if response.status_code in (401, 403):
                wrong.append(f"{caller}: expected allowed, got {response.status_code} {response.text[:120]}")
        elif not headers:
            if response.status_code != 401:
                wrong.append(f"{caller}: expected 401, got {response.status_code}")
        elif response.status_code != 403 or not response.json().get("code"):
            wrong.append(f"{caller}: expected 403, got {response.status_code} {response.text[:120]}")
    return wrong


def uncovered(routers, endpoints: list[Endpoint], ignore: set[tuple[str, str]] = frozenset()) -> set:
    """Routes of the service that no endpoint of the matrix exercises."""
    import re

    routes = {(method, route.path) for router in routers for route in router.routes for method in route.methods}
    covered = set()
    for e in endpoints:
        path = e.path.split("?")[0]
        for method, template in routes:
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if method == e.method and re.match(pattern, path):
                covered.add((method, template))
    return routes - covered - set(ignore)


AUDITORS = frozenset({"auditor_city", "auditor_01"})


def audit_rows(service: str, stream: str, machine_key: str | None = None,
               log_readers: frozenset[str] = AUDITORS) -> list[tuple]:
    """A service's audit router (issue #21) for a matrix: ``stream`` is a district-12 stream, so a district-01
    auditor reads the service's log, verify and reads (of their own district) but not that stream."""
    base = f"/api/{service}/audit"
    rows = [
        ("audit events", "GET", f"{base}/streams/{stream}/events", {}, {"auditor_city"}),
        ("audit state", "GET", f"{base}/streams/{stream}/state", {}, {"auditor_city"}),
        ("audit log", "GET", f"{base}/log?limit=5", {}, AUDITORS),
        ("audit verify", "GET", f"{base}/verify", {}, AUDITORS),
        ("audit export", "GET", f"{base}/export?stream={stream}", {}, {"auditor_city"}),
        # the log of audit reads: auditors and the ecology bureau's city administrator
        ("audit reads", "GET", f"{base}/reads", {}, log_readers),
    ]
    if machine_key is not None:
        rows.append(("audit timeline", "GET", f"{base}/machines/{machine_key}/timeline", {}, AUDITORS))
    return rows
