"""The inspection service with everything it stands on (registry and sites topics, the gateway for accounts and
as the single entry point, notifications for SMS codes), as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.reference import Role
from tests.conftest import ROOT
from tests.platform import Platform, _wait_ready, eventually, start_platform
from tests.registry.fixtures import PDF, PNG
from tests.sites.conftest import ADMIN_PASSWORD, ADMIN_USER, Sites, reported
from tests.waiting import wait_until

SERVICES = ["notifications", "registry", "sites", "inspection", "gateway"]
ENV = {"NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER, "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
       "NRMM_SMS_RESEND_SECONDS": "0", "NRMM_SCHEDULER_POLL_SECONDS": "0.3"}
__all__ = ["PDF", "PNG"]


@pytest.fixture(scope="module")
def platform(infra):
    platform = start_platform(infra, SERVICES, ENV)
    yield Inspection(platform, infra)
    platform.stop()


class Inspection(Sites):
    """Test client: everything over the gateway, as the mini-program and the console would call it."""

    def __init__(self, platform: Platform, infra):
        super().__init__(platform)
        self.infra = infra
        self.api = self.gateway  # /api/inspection is forwarded by the gateway

    @property
    def database(self) -> str:
        return f"{self.platform.namespace}_inspection"

    def inspector(self, district: str = "04", account: str | None = None, **kwargs) -> dict:
        return self.token(Role.INSPECTOR, account or f"insp-{district}", district=district, **kwargs)

    def upload(self, headers: dict, kind: str = "evidence_photo", content: bytes = PNG):
        return self.api.post("/api/inspection/uploads", headers=headers, data={"kind": kind},
                             files={"file": ("f", content, "application/octet-stream")})

    def photo(self, headers: dict, kind: str = "evidence_photo") -> str:
        response = self.upload(headers, kind)
        assert response.status_code == 201, response.text
        return response.json()["upload_id"]

    def issue_code(self, owner: str = "owner-gate", district: str = "04", stage: str = "4",
                   factory_serial: str | None = None, **overrides) -> str:
        """An owner applies (with photos), a reviewer approves: the registry issues a code."""
        owner_headers = self.token(Role.OWNER, owner)
        body = self.application(owner_headers, district, stage, **overrides)
        body["machine"]["factory_serial"] = factory_serial or serial()
        applied = self.registry.post("/api/registry/applications", json=body, headers=owner_headers)
        assert applied.status_code == 201, applied.text
        approved = self.registry.post(f"/api/registry/applications/{applied.json()['machine_id']}/approval",
                                      headers=self.token(Role.REVIEWER, "rev-insp"), json={})
        assert approved.status_code == 200, approved.text
        return approved.json()["code"]

    def enter(self, site: str, admin: dict, code: str, machine_type: str = "excavator") -> str:
        self.known_at_gate(site, admin, code)
        entered = self.sites.post(f"/api/sites/sites/{site}/entries", headers=admin,
                                  json={"code": code, **reported(code[0], machine_type)})
        assert entered.status_code == 201, entered.text
        return entered.json()["stay_id"]

    def scanned(self, inspector: dict, site: str, code: str, until=lambda d: True) -> dict:
        """Wait until the inspection service's copies know the site and the code (they arrive through Kafka)."""
        last: list = [None]

        def scanned() -> dict | None:
            last[0] = response = self.api.post("/api/inspection/scans", headers=inspector,
                                               json={"site_code": site, "code": code})
            return response.json() if response.status_code == 200 and until(response.json()) else None

        return wait_until(scanned, timeout=20, what=f"{code} at {site} reaching the inspection service",
                          describe=lambda _: last[0].text)

    def site_known(self, inspector: dict, site: str) -> None:
        """The inspection service's copy of the sites knows this one (a foreign code is valid without the registry)."""
        self.scanned(inspector, site, "3-A12B3C4D")

    def violation(self, headers: dict, violation_id: str, until=lambda d: True) -> dict:
        return eventually(self.api, f"/api/inspection/violations/{violation_id}", headers, until).json()

    def stop_inspection(self) -> None:
        process = self.platform.processes["inspection"]
        process.terminate()
        process.wait(timeout=20)

    def start_inspection(self) -> None:
        """Start the inspection service again on its port (the gateway still forwards there)."""
        url = self.platform.urls["inspection"]
        port = url.rsplit(":", 1)[1]
        env = {**os.environ, "NRMM_KAFKA_BOOTSTRAP": self.infra.kafka_bootstrap,
               "NRMM_MONGODB_URL": self.infra.mongodb_url, "NRMM_NAMESPACE": self.platform.namespace,
               "NRMM_JWT_SECRET": self.platform.secret, "NRMM_RELAY_POLL_SECONDS": "0.05", "NRMM_LOG_LEVEL": "WARNING",
               "NRMM_SERVICE_NAME": "inspection", **ENV,
               **{f"NRMM_{s.upper()}_URL": u for s, u in self.platform.urls.items()}}
        process = subprocess.Popen([sys.executable, "-m", "uvicorn", "inspection.main:create_app", "--factory",
                                    "--host", "127.0.0.1", "--port", port, "--no-access-log"], cwd=ROOT, env=env)
        self.platform.processes["inspection"] = process
        _wait_ready("inspection", url, process)


def serial() -> str:
    return f"HL-{uuid.uuid4().hex[:10].upper()}"


def today() -> str:
    return today_in_chongqing().isoformat()
