"""The registry service as a real process on the real broker and database, reached over HTTP."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from nrmm_kernel.auth import Principal, TokenVerifier
from nrmm_kernel.reference import Department, Role
from tests.conftest import ROOT
from tests.registry.fixtures import JPEG, PDF, PNG, REQUIRED_KINDS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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

    def eventually(self, path: str, headers: dict, until, attempts: int = 100) -> httpx.Response:
        """Reads go to projections fed through Kafka: poll until they show the expected state."""
        response = None
        for _ in range(attempts):
            response = self.http.get(path, headers=headers)
            if response.status_code == 200 and until(response.json()):
                return response
            time.sleep(0.1)
        raise AssertionError(f"{path} never reached the expected state: {response.status_code} {response.text[:500]}")


@pytest.fixture(scope="module")
def registry_service(infra):
    namespace = f"reg{uuid.uuid4().hex[:8]}"
    secret = secrets.token_urlsafe(32)
    port = _free_port()
    env = {**os.environ, "NRMM_KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "NRMM_MONGODB_URL": infra.mongodb_url,
           "NRMM_NAMESPACE": namespace, "NRMM_JWT_SECRET": secret, "NRMM_SERVICE_NAME": "registry",
           "NRMM_RELAY_POLL_SECONDS": "0.05", "NRMM_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "registry.main:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError("registry exited during start-up")
            time.sleep(0.1)
        else:
            raise RuntimeError("registry never became ready")
        yield RegistryClient(base, namespace, secret)
    finally:
        process.terminate()
        process.wait(timeout=20)
