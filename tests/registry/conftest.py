"""The registry service as a real process on the real broker and database, reached over HTTP."""

from __future__ import annotations

import httpx
import pytest

from nrmm_kernel.auth import Principal, TokenVerifier
from nrmm_kernel.reference import Department, Role
from tests.platform import eventually, start_platform
from tests.registry.fixtures import JPEG, PDF, PNG, REQUIRED_KINDS


class RegistryClient:
    """HTTP client of one running registry, minting tokens the way the gateway will."""

    def __init__(self, base_url: str, namespace: str, secret: str):
        self.base_url, self.namespace = base_url, namespace
        self.topic = f"{namespace}.registry.events"
        self.database = f"{namespace}_registry"
        self.verifier = TokenVerifier(secret, issuer="nrmm-gateway", audience="nrmm")
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def token(self, role: Role, account: str, district: str | None = None,
              department: Department | None = None) -> dict:
        if role in (Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_VIEWER) and department is None:
            department = Department.ECOLOGY
        principal = Principal(account_id=account, role=role, district=district, department=department)
        return {"Authorization": f"Bearer {self.verifier.mint(principal)}"}

    def owner(self, account: str = "owner-1") -> dict:
        return self.token(Role.OWNER, account)

    def reviewer(self, account: str = "reviewer-1", district: str | None = None) -> dict:
        return self.token(Role.REVIEWER, account, district)

    def upload(self, headers: dict, kind: str, content: bytes = PNG, name: str = "photo.png") -> httpx.Response:
        return self.http.post("/api/registry/uploads", headers=headers, data={"kind": kind},
                              files={"file": (name, content, "application/octet-stream")})

    def upload_all(self, headers: dict) -> dict[str, list[str]]:
        contents = {"identity_proof": PDF, "conformity_certificate": PDF, "machine_nameplate": JPEG}
        result = {}
        for kind in REQUIRED_KINDS:
            response = self.upload(headers, kind, contents.get(kind, PNG))
            assert response.status_code == 201, response.text
            result[kind] = [response.json()["upload_id"]]
        return result

    def eventually(self, path: str, headers: dict, until) -> httpx.Response:
        return eventually(self.http, path, headers, until)


@pytest.fixture(scope="module")
def registry_service(infra):
    platform = start_platform(infra, ["registry"])
    try:
        yield RegistryClient(platform.urls["registry"], platform.namespace, platform.secret)
    finally:
        platform.stop()
