"""The sites service with everything it stands on: registry (codes arrive through Kafka), gateway (site-admin
accounts, SMS codes) and notifications (the development SMS outbox), as real processes."""

from __future__ import annotations

import re
import uuid

import pytest

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.reference import Role
from tests.platform import Platform, eventually, start_platform
from tests.registry.fixtures import PDF, PNG, credit_code, machine, registrant
from tests.waiting import wait_until

ADMIN_USER, ADMIN_PASSWORD = "root-admin", "Admin-Passw0rd"
SERVICES = ["notifications", "registry", "sites", "gateway"]


@pytest.fixture(scope="module")
def platform(infra):
    platform = start_platform(infra, SERVICES, {"NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
                                                "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
                                                "NRMM_SMS_RESEND_SECONDS": "0"})  # a manager may ask twice
    yield Sites(platform)
    platform.stop()


class Sites:
    """Test client: the gateway for accounts, the services directly for everything else."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.gateway = platform.client("gateway")
        self.sites = platform.client("sites")
        self.registry = platform.client("registry")
        self._admin = None

    def token(self, *args, **kwargs) -> dict:
        return self.platform.token(*args, **kwargs)

    def login(self, username: str, password: str) -> dict:
        response = self.gateway.post("/api/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    @property
    def admin(self) -> dict:
        if self._admin is None:
            self._admin = self.login(ADMIN_USER, ADMIN_PASSWORD)
        return self._admin

    def sms_code(self, mobile: str) -> str:
        """Ask for a code and read it from the development outbox, as the phone would."""
        asked = self.gateway.post("/api/auth/sms-codes", json={"mobile": mobile, "purpose": "register"})
        assert asked.status_code == 202, asked.text
        outbox = self.gateway.get("/api/notifications/outbox", params={"to": mobile, "template": "verification_code"},
                                  headers=self.admin)
        assert outbox.status_code == 200, outbox.text
        text = " ".join(str(v) for v in outbox.json()[0]["params"].values())
        return re.search(r"\b(\d{6})\b", text).group(1)

    def register_owner(self) -> tuple[str, str, dict]:
        """A real owner account at the gateway: (account id, mobile, headers)."""
        mobile = f"137{uuid.uuid4().int % 10**8:08d}"
        made = self.gateway.post("/api/auth/owners", json={"mobile": mobile, "password": "Owner-Passw0rd",
                                                           "sms_code": self.sms_code(mobile), "name": "车主"})
        assert made.status_code == 201, made.text
        return made.json()["account_id"], mobile, self.login(mobile, "Owner-Passw0rd")

    def register_site(self, district: str = "04", street: str = "解放碑街道", code: str | None = None,
                      mobile: str | None = None, **details) -> tuple[str, dict]:
        """Register a site through the gateway; returns its code and its admin's headers."""
        code = code or f"S-{uuid.uuid4().hex[:8].upper()}"
        mobile = mobile or f"139{uuid.uuid4().int % 10**8:08d}"
        body = {
            "site_code": code, "password": "Site-Passw0rd", "sms_code": self.sms_code(mobile),
            "details": {
                "name": f"测试工地 {code}", "company": {"name": "中建某局", "credit_code": credit_code()},
                "district": district, "category": "building", "address": {"street": street, "detail": "1 号"},
                "starts_on": "2026-01-01", "ends_on": "2027-12-31", "manager": {"name": "王五", "mobile": mobile},
                **details,
            },
        }
        response = self.gateway.post("/api/sites/registrations", json=body)
        assert response.status_code == 201, response.text
        headers = self.login(code, "Site-Passw0rd")
        eventually(self.sites, f"/api/sites/sites/{code}", headers, lambda d: d["status"] == "in_construction")
        return code, headers

    def application(self, owner_headers: dict, district: str = "04", stage: str = "4", **overrides) -> dict:
        """An application's body, its documents and photos uploaded by the owner."""
        uploads = {}
        for kind in ("identity_proof", "machine_nameplate", "engine_nameplate", "environmental_label",
                     "conformity_certificate", "photo_front", "photo_back", "photo_left", "photo_right"):
            content = PDF if kind in ("identity_proof", "conformity_certificate") else PNG
            uploaded = self.registry.post("/api/registry/uploads", headers=owner_headers, data={"kind": kind},
                                          files={"file": ("f", content, "application/octet-stream")})
            assert uploaded.status_code == 201, uploaded.text
            uploads[kind] = [uploaded.json()["upload_id"]]
        fuel = "electric" if stage == "D" else "diesel"
        return {"registrant": registrant(), "uploads": uploads,
                "machine": machine(district=district, stage=stage, today=today_in_chongqing(), fuel=fuel,
                                   factory_serial=f"F-{uuid.uuid4().hex[:10]}", **overrides)}

    def issue_code(self, owner: str = "owner-gate", district: str = "04", stage: str = "4", **overrides) -> str:
        """An owner applies, a reviewer approves: the registry issues a code."""
        owner_headers = self.token(Role.OWNER, owner)
        body = self.application(owner_headers, district, stage, **overrides)
        applied = self.registry.post("/api/registry/applications", json=body, headers=owner_headers)
        assert applied.status_code == 201, applied.text
        approved = self.registry.post(f"/api/registry/applications/{applied.json()['machine_id']}/approval",
                                      headers=self.token(Role.REVIEWER, "rev-gate"), json={})
        assert approved.status_code == 200, approved.text
        return approved.json()["code"]

    def known_at_gate(self, site: str, headers: dict, code: str, until=lambda d: d["reason"] != "unknown_code"):
        """Wait until the sites service's copy of the registry's codes has the code."""
        last: list = [None]

        def known() -> dict | None:
            last[0] = response = self.sites.post(f"/api/sites/sites/{site}/scans", json={"code": code},
                                                 headers=headers)
            return response.json() if response.status_code == 200 and until(response.json()) else None

        return wait_until(known, timeout=15, what=f"{code} reaching the gate", describe=lambda _: last[0].text)


def period() -> dict:
    today = today_in_chongqing().isoformat()
    return {"starts_on": today, "ends_on": "2027-06-30"}


SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def other_province_code(n: int, province: str = "A", stage: str = "4") -> str:
    """A distinct well-formed code of another province for each n (rule C5 shape; rule C3: admitted on its shape)."""
    chars = []
    for _ in range(7):
        n, digit = divmod(n, len(SERIAL_ALPHABET))
        chars.append(SERIAL_ALPHABET[digit])
    return f"{stage}-{province}{''.join(reversed(chars))}"


def reported(stage: str = "4", machine_type: str = "excavator") -> dict:
    """What a site reports with an entry (rule E2): working period, machine type, emission stage."""
    return {"working_period": period(), "machine_type": machine_type, "emission_stage": stage}
