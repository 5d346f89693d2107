"""The gateway with the services behind it, as real processes; a client that talks to the gateway only."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

import httpx
import pymongo
import pymongo.database
import pytest

from tests.platform import free_port, start_platform

ADMIN_USER, ADMIN_PASSWORD = "root-admin", "Admin-Passw0rd"
SMS_TTL_SECONDS = 300  # the expiry itself is unit-tested with an injected clock (test_identity_unit.py)
SMS_DAILY_LIMIT = 4
LOGIN_MAX_FAILURES = 3
LOGIN_MAX_FAILURES_PER_ADDRESS = 30  # the tests all log in from 127.0.0.1
LOGIN_MAX_FAILURES_PER_USERNAME = 6
MAX_REQUEST_BYTES = 11 * 1024 * 1024
GATEWAY_ENV = {
    "NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER, "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "NRMM_SMS_CODE_TTL_SECONDS": str(SMS_TTL_SECONDS), "NRMM_SMS_RESEND_SECONDS": "0",
    "NRMM_SMS_DAILY_LIMIT": str(SMS_DAILY_LIMIT), "NRMM_LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
    "NRMM_LOGIN_MAX_FAILURES_PER_ADDRESS": str(LOGIN_MAX_FAILURES_PER_ADDRESS),
    "NRMM_LOGIN_MAX_FAILURES_PER_USERNAME": str(LOGIN_MAX_FAILURES_PER_USERNAME),
    "NRMM_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
    "NRMM_CORS_ORIGINS": '["https://console.example.cn"]',
    "NRMM_TRUSTED_PROXIES": '["127.0.0.1"]',  # the tests stand in for a proxy on this host (X-Forwarded-For)
}


def nowhere() -> str:
    """The URL of a port nobody listens on: a service that is down."""
    return f"http://127.0.0.1:{free_port()}"


def running_gateway(infra, services: list[str], env: dict[str, str]):
    """A gateway test client over a platform of ``services``, stopped when the module is done."""
    platform = start_platform(infra, services, {**GATEWAY_ENV, **env})
    try:
        gateway = Gateway(platform, infra)
        yield gateway
        gateway.close()
    finally:
        platform.stop()


@pytest.fixture(scope="module")
def gateway(infra):
    # sites and inspection are not started: the gateway must answer for them when they are down
    yield from running_gateway(infra, ["notifications", "registry", "gateway"],
                               {"NRMM_SITES_URL": nowhere(), "NRMM_INSPECTION_URL": nowhere()})


def new_mobile() -> str:
    return f"138{uuid.uuid4().int % 10**8:08d}"


class Gateway:
    def __init__(self, platform, infra):
        self.platform = platform
        self.infra = infra
        self.http: httpx.Client = platform.client("gateway")
        self._clients: list[pymongo.MongoClient] = []

    def database(self, service: str) -> pymongo.database.Database:
        """A service's own database, read directly to check what was (not) kept."""
        client = pymongo.MongoClient(self.infra.mongodb_url, tz_aware=True)
        self._clients.append(client)
        return client[f"{self.platform.namespace}_{service}"]

    def accounts_named(self, username: str) -> int:
        """How many accounts hold this username: its login key (an HMAC under the platform's key, as the gateway
        keys it) names at most one, and that account's view must be there."""
        key = hmac.new(self.platform.secret.encode(), b"login:" + username.encode(), hashlib.sha256).hexdigest()
        db = self.database("gateway")
        return sum(db["account_views"].count_documents({"_id": login["account_id"]})
                   for login in db["account_logins"].find({"_id": key}))

    def close(self) -> None:
        self.http.close()
        for client in self._clients:
            client.close()

    def login(self, username: str, password: str, address: str | None = None) -> httpx.Response:
        """``address``: the client's, as a trusted proxy on this host would pass it on (X-Forwarded-For)."""
        return self.http.post("/api/auth/token", data={"username": username, "password": password},
                              headers={"X-Forwarded-For": address} if address else None)

    def bearer(self, username: str, password: str) -> dict:
        response = self.login(username, password)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    @property
    def admin(self) -> dict:
        return self.bearer(ADMIN_USER, ADMIN_PASSWORD)

    def sms_code(self, mobile: str, purpose: str = "register") -> str:
        asked = self.http.post("/api/auth/sms-codes", json={"mobile": mobile, "purpose": purpose})
        assert asked.status_code == 202, asked.text
        return self.read_sms(mobile)

    def read_sms(self, mobile: str) -> str:
        """The newest message to this number in the development outbox, read as a phone would."""
        outbox = self.http.get("/api/notifications/outbox", params={"to": mobile, "template": "verification_code"},
                               headers=self.admin)
        assert outbox.status_code == 200, outbox.text
        return re.fullmatch(r"\d{6}", str(outbox.json()[0]["params"]["code"])).group(0)

    def register_owner(self, mobile: str | None = None, password: str = "Owner-Passw0rd") -> tuple[str, str]:
        mobile = mobile or new_mobile()
        response = self.http.post("/api/auth/owners", json={"mobile": mobile, "password": password,
                                                            "sms_code": self.sms_code(mobile), "name": "张三"})
        assert response.status_code == 201, response.text
        return mobile, password
