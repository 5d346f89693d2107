"""Real service processes for HTTP tests: each a uvicorn subprocess on a free port, all sharing one namespace,
one signing key, and the real broker and database."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field

import httpx

from nrmm_kernel.auth import Principal, TokenVerifier
from nrmm_kernel.reference import Department, Role
from tests.conftest import ROOT
from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Platform:
    """Services started for one test module, and a way to mint tokens the way the gateway does."""

    namespace: str
    secret: str
    urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self):
        self.verifier = TokenVerifier(self.secret, issuer="nrmm-gateway", audience="nrmm")

    def client(self, service: str) -> httpx.Client:
        return httpx.Client(base_url=self.urls[service], timeout=30)

    def token(self, role: Role, account: str, *, district: str | None = None, department: Department | None = None,
              site_id: str | None = None) -> dict:
        if role in (Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.ADMIN) and department is None:
            department = Department.ECOLOGY
        principal = Principal(account_id=account, role=role, district=district, department=department,
                              site_id=site_id)
        return {"Authorization": f"Bearer {self.verifier.mint(principal)}"}

    def topic(self, service: str) -> str:
        return f"{self.namespace}.{service}.events"

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def start_platform(infra, services: list[str], extra_env: dict[str, str] | None = None, *,
                   joining: Platform | None = None, ports: dict[str, int] | None = None) -> Platform:
    """Start ``services`` in a namespace of their own, or in the namespace (and with the signing key) of the
    platform they are ``joining``: another process of a service already running there, say."""
    platform = Platform(namespace=joining.namespace if joining else f"p{uuid.uuid4().hex[:8]}",
                        secret=joining.secret if joining else secrets.token_urlsafe(32))
    ports = {s: (ports or {}).get(s) or free_port() for s in services}  # given ports: known to others beforehand
    platform.urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
    base_env = {
        **os.environ, "NRMM_KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "NRMM_MONGODB_URL": infra.mongodb_url,
        "NRMM_NAMESPACE": platform.namespace, "NRMM_JWT_SECRET": platform.secret, "NRMM_RELAY_POLL_SECONDS": "0.05",
        "NRMM_LEASE_SECONDS": "5",  # a killed instance's relay and jobs taken over in seconds
        "NRMM_LOG_LEVEL": "WARNING", "NRMM_OUTBOX_READABLE": "true",  # SMS codes read as a phone would
        "NRMM_SMS_MAX_PER_ADDRESS": "10000",  # every test sends from 127.0.0.1
        # where each service finds the others
        **{f"NRMM_{s.upper()}_URL": url for s, url in {**(joining.urls if joining else {}), **platform.urls}.items()},
        **(extra_env or {}),
    }
    try:
        for service in services:
            env = {**base_env, "NRMM_SERVICE_NAME": service}
            platform.processes[service] = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", f"{service}.main:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(ports[service]), "--no-access-log", "--no-proxy-headers"], cwd=ROOT, env=env)
        for service in services:
            _wait_ready(service, platform.urls[service], platform.processes[service])
    except BaseException:
        platform.stop()
        raise
    return platform


def _wait_ready(service: str, url: str, process: subprocess.Popen) -> None:
    last: list = ["no answer"]

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{service} exited during start-up")
        try:
            answer = httpx.get(f"{url}/readyz", timeout=2)
        except httpx.HTTPError as exc:
            last[0] = type(exc).__name__
            return False
        last[0] = f"{answer.status_code} {answer.text[:600]}"
        return answer.status_code == 200

    # a deadline: on two shared cores under other suites a start-up can take a minute or more
    wait_until(ready, timeout=float(os.environ.get("NRMM_TEST_START_SECONDS", "300")), what=f"{service} becoming ready",
               describe=lambda _: last[0])


def eventually(http: httpx.Client, path: str, headers: dict, until, attempts: int = 150) -> httpx.Response:
    """Reads go to projections fed through Kafka: poll until they show the expected state."""
    last: list = [None]

    def reached() -> httpx.Response | None:
        last[0] = response = http.get(path, headers=headers)
        return response if response.status_code == 200 and until(response.json()) else None

    return wait_until(reached, timeout=attempts / 10, what=f"{path} reaching the expected state",
                      describe=lambda _: f"{last[0].status_code} {last[0].text[:500]}")
