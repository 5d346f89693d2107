"""The registry service as a real process on the real broker and database, reached over HTTP."""

from __future__ import annotations

import uuid

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

    def register_owner(self) -> tuple[str, str, dict]:
        """A real owner account, made at the gateway with an SMS code read from the outbox: (account id, mobile,
        the owner's token). Only for a registry started with ``with_accounts``."""
        mobile = f"139{uuid.uuid4().int % 10**8:08d}"
        asked = self.gateway.post("/api/auth/sms-codes", json={"mobile": mobile, "purpose": "register"})
        assert asked.status_code == 202, asked.text
        outbox = self.gateway.get("/api/notifications/outbox", params={"to": mobile}, headers=self.admin())
        code = str(outbox.json()[0]["params"]["code"])
        made = self.gateway.post("/api/auth/owners", json={"mobile": mobile, "password": "Owner-Passw0rd",
                                                           "sms_code": code, "name": "车主"})
        assert made.status_code == 201, made.text
        account_id = made.json()["account_id"]
        return account_id, mobile, self.owner(account_id)

    def admin(self) -> dict:
        token = self.gateway.post("/api/auth/token", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}


ADMIN_USER, ADMIN_PASSWORD = "root-admin", "Admin-Passw0rd"


def with_accounts(infra):
    """The registry with the gateway (accounts) and notifications (the SMS outbox) beside it, for owner changes."""
    platform = start_platform(infra, ["notifications", "gateway", "registry"], {
        "NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER, "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "NRMM_SMS_RESEND_SECONDS": "0"})
    try:
        client = RegistryClient(platform.urls["registry"], platform.namespace, platform.secret)
        client.gateway = httpx.Client(base_url=platform.urls["gateway"], timeout=30)
        yield client
    finally:
        platform.stop()


@pytest.fixture(scope="module")
def registry_service(infra):
    platform = start_platform(infra, ["registry"])
    try:
        yield RegistryClient(platform.urls["registry"], platform.namespace, platform.secret)
    finally:
        platform.stop()
