"""System clients (rule D5): registered by a city-level administrator, the secret shown once and kept hashed,
OAuth2 client credentials (form or HTTP Basic), the same 401 for every failure, revocation, no refresh."""

from __future__ import annotations

import base64

import jwt
import pytest

pytestmark = pytest.mark.integration


def token(gateway, **form):
    return gateway.http.post("/api/auth/oauth/token", data=form)


def test_a_client_gets_tokens_for_its_department_and_its_secret_is_kept_hashed(gateway):
    made = gateway.http.post("/api/auth/system-clients", headers=gateway.admin,
                             json={"name": "市特种设备信息平台", "department": "market"})
    assert made.status_code == 201, made.text
    client_id, secret = made.json()["client_id"], made.json()["client_secret"]
    stored = gateway.database("gateway")["system_clients"].find_one({"_id": client_id})
    assert secret not in str(stored) and stored["secret_hash"]

    issued = token(gateway, grant_type="client_credentials", client_id=client_id, client_secret=secret)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "bearer" and "refresh_token" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["role"], claims["dept"]) == (client_id, "system_client", "market")
    assert "district" not in claims
    me = gateway.http.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"account_id": client_id, "role": "system_client", "department": "market"}

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    by_basic = gateway.http.post("/api/auth/oauth/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}"})
    assert by_basic.status_code == 200, by_basic.text

    for form in ({"client_id": client_id, "client_secret": secret + "x"},
                 {"client_id": "sc-nobody", "client_secret": secret}):
        refused = token(gateway, grant_type="client_credentials", **form)
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_client")
    other_grant = token(gateway, grant_type="password", client_id=client_id, client_secret=secret)
    assert (other_grant.status_code, other_grant.json()["code"], other_grant.json()["field"]) == \
        (400, "unsupported_grant_type", "grant_type")
    missing = token(gateway, client_id=client_id, client_secret=secret)
    assert missing.status_code == 422 and missing.json()["field"] == "grant_type"

    listed = gateway.http.get("/api/auth/system-clients", headers=gateway.admin).json()
    assert any(c["client_id"] == client_id for c in listed)
    assert all("secret_hash" not in c and "client_secret" not in c for c in listed)

    revoked = gateway.http.post(f"/api/auth/system-clients/{client_id}/revocation", headers=gateway.admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = token(gateway, grant_type="client_credentials", client_id=client_id, client_secret=secret)
    assert (after.status_code, after.json()["code"]) == (401, "invalid_client")


def test_only_market_supervision_systems_are_clients(gateway):
    refused = gateway.http.post("/api/auth/system-clients", headers=gateway.admin,
                                json={"name": "住建系统", "department": "housing"})
    assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == \
        (422, "department_not_allowed", "department")
