"""The platform behind the browser tests: gateway (serving web/dist at /m/), registry, sites, notifications, as
real processes on the real broker and database; helpers that act through the API where a test needs a fact
made by someone else (a reviewer's approval, an issued code, a restricted zone)."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import httpx

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.reference import Role
from tests.conftest import ROOT
from tests.platform import Platform
from tests.registry.fixtures import PNG, credit_code, machine, registrant
from tests.waiting import wait_until

WEB = ROOT / "web"
DIST = WEB / "dist"
ADMIN_USER, ADMIN_PASSWORD = "root-admin", "Admin-Passw0rd"
SERVICES = ["notifications", "registry", "sites", "gateway"]
UPLOAD_KINDS = ("identity_proof", "machine_nameplate", "engine_nameplate", "environmental_label",
                "conformity_certificate", "photo_front", "photo_back", "photo_left", "photo_right")


def ensure_built() -> None:
    """The front end, built from the lock file when .ci/run (or make run) has not built it yet."""
    if (DIST / "index.html").is_file():
        return
    if not (WEB / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    subprocess.run(["npm", "run", "build"], cwd=WEB, check=True)


def new_mobile(prefix: str = "137") -> str:
    return f"{prefix}{uuid.uuid4().int % 10**8:08d}"


class WebPlatform:
    def __init__(self, platform: Platform):
        self.platform = platform
        self.url = platform.urls["gateway"]
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self._admin: dict | None = None

    def token(self, *args, **kwargs) -> dict:
        return self.platform.token(*args, **kwargs)

    def login(self, username: str, password: str) -> dict:
        answer = self.http.post("/api/auth/token", data={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    @property
    def admin(self) -> dict:
        self._admin = self._admin or self.login(ADMIN_USER, ADMIN_PASSWORD)
        return self._admin

    def read_sms(self, mobile: str) -> str:
        """The newest code sent to this number, from the development outbox (as the phone would show it)."""
        outbox = self.http.get("/api/notifications/outbox", params={"to": mobile}, headers=self.admin)
        assert outbox.status_code == 200 and outbox.json(), outbox.text
        text = " ".join(str(v) for v in outbox.json()[0]["params"].values())
        return re.search(r"\b(\d{6})\b", text).group(1)

    def sms_code(self, mobile: str) -> str:
        asked = self.http.post("/api/auth/sms-codes", json={"mobile": mobile, "purpose": "register"})
        assert asked.status_code == 202, asked.text
        return self.read_sms(mobile)

    @staticmethod
    def credit_code() -> str:
        return credit_code()

    def approve(self, machine_id: str) -> str:
        approved = self.http.post(f"/api/registry/applications/{machine_id}/approval", json={},
                                  headers=self.token(Role.REVIEWER, "web-reviewer"))
        assert approved.status_code == 200, approved.text
        return approved.json()["code"]

    def register_owner(self, password: str = "Owner-Passw0rd") -> str:
        mobile = new_mobile()
        made = self.http.post("/api/auth/owners", json={"mobile": mobile, "password": password,
                                                        "sms_code": self.sms_code(mobile), "name": "李四"})
        assert made.status_code == 201, made.text
        return mobile

    def reject(self, machine_id: str, reason: str) -> None:
        rejected = self.http.post(f"/api/registry/applications/{machine_id}/rejection", json={"reasons": [reason]},
                                  headers=self.token(Role.REVIEWER, "web-reviewer"))
        assert rejected.status_code == 200, rejected.text

    def apply(self, owner: dict, district: str, stage: str) -> str:
        """An application through the API, as ``owner``: its machine id."""
        return self.application(owner, district, stage).json()["machine_id"]

    def application(self, owner: dict, district: str, stage: str) -> httpx.Response:
        uploads = {}
        for kind in UPLOAD_KINDS:
            sent = self.http.post("/api/registry/uploads", headers=owner, data={"kind": kind},
                                  files={"file": ("f.png", PNG, "image/png")})
            assert sent.status_code == 201, sent.text
            uploads[kind] = [sent.json()["upload_id"]]
        body = {"registrant": registrant(), "uploads": uploads,
                "machine": machine(district=district, stage=stage, today=today_in_chongqing(),
                                   factory_serial=f"W-{uuid.uuid4().hex[:10]}")}
        applied = self.http.post("/api/registry/applications", json=body, headers=owner)
        assert applied.status_code == 201, applied.text
        return applied

    def issue_code(self, district: str, stage: str) -> str:
        """An owner applies and a reviewer approves, through the API: a code a gate can scan."""
        return self.approve(self.apply(self.token(Role.OWNER, f"web-owner-{uuid.uuid4().hex[:6]}"), district, stage))

    def register_site(self, district: str, street: str) -> tuple[str, str]:
        code, mobile = f"W-{uuid.uuid4().hex[:8].upper()}", new_mobile("139")
        body = {"site_code": code, "password": "Site-Passw0rd", "sms_code": self.sms_code(mobile), "details": {
            "name": f"网页测试工地 {code}", "company": {"name": "中建某局", "credit_code": credit_code()},
            "district": district, "category": "building", "address": {"street": street, "detail": "1 号"},
            "starts_on": "2026-01-01", "ends_on": "2027-12-31", "manager": {"name": "王五", "mobile": mobile}}}
        made = self.http.post("/api/sites/registrations", json=body)
        assert made.status_code == 201, made.text
        return code, "Site-Passw0rd"

    def zone(self, district: str, street: str) -> None:
        zone = {"name": "网页测试禁用区", "district": district, "kind": "streets", "streets": [street]}
        made = self.http.post("/api/sites/zones", headers=self.token(Role.REVIEWER, "web-ecology"), json=zone)
        assert made.status_code == 201, made.text

    def gate_knows(self, site: str, password: str, code: str, reason: str) -> None:
        """Wait until the sites service's copy of the registry's codes gives ``reason`` for ``code``."""
        headers = self.login(site, password)
        last: list = [None]

        def decided() -> bool:
            last[0] = answer = self.http.post(f"/api/sites/sites/{site}/scans", json={"code": code}, headers=headers)
            return answer.status_code == 200 and answer.json()["reason"] == reason

        wait_until(decided, timeout=20, what=f"{code} reaching {reason} at the gate", describe=lambda _: last[0].text)


def write_y4m(path: Path, text: str, width: int = 640, height: int = 480, frames: int = 10) -> Path:
    """A video file for Chromium's fake camera: a card's QR code, black on white, held still."""
    import qrcode
    from PIL import Image

    symbol = qrcode.make(text, box_size=10, border=4).get_image().convert("L")
    side = min(width, height) - 40
    symbol = symbol.resize((side, side), Image.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(symbol, ((width - side) // 2, (height - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path
