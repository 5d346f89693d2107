"""System clients: another department's system signing in with OAuth2 client credentials (RFC 6749 §4.4).

Market supervision's special-equipment platform pushes its records to the inspection service (rule D5) as a
client of its own: an administrator registers it, its secret is shown once and kept as a SHA-256 hash (a secret of
256 random bits needs no slow hash: it cannot be guessed from a dictionary), and its access tokens carry the role
``system_client`` and its department, which each service's own authorization judges. No refresh token: the client
asks again with its credentials (§4.4.3). A revoked client gets no new token; tokens already issued end with their
short lifetime.

Clients are state documents in the gateway's database, like accounts: a secret's hash never reaches a topic.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import ulid
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.auth import Principal, TokenVerifier
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import AppError, Forbidden, NotFound, Unauthenticated
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Department, Role

log = get_logger("system_clients")
CLIENTS = "system_clients"
# rule D5: market supervision shares its special-equipment data; other departments' systems are not foreseen
CLIENT_DEPARTMENTS = frozenset({Department.MARKET})
SHOWN = ("client_id", "name", "department", "created_at", "created_by", "revoked_at")


class InvalidClient(Unauthenticated):
    code = "invalid_client"


def secret_hash(client_id: str, secret: str) -> str:
    return hashlib.sha256(f"{client_id}:{secret}".encode()).hexdigest()


def shown(doc: dict) -> dict:
    out = {k: doc.get(k) for k in SHOWN}
    out["client_id"] = doc["_id"]
    return out


def require_city_admin(who: Principal) -> None:
    if who.role is not Role.ADMIN or who.district is not None:
        raise Forbidden("仅市级管理员可管理系统客户端 (city-level administrators only)", code="city_admin_only")


def may_manage(who: Principal, department: Department) -> None:
    """City-level administrators of the ecology bureau (which runs the platform) or of the client's department."""
    require_city_admin(who)
    if who.department not in (Department.ECOLOGY, department):
        raise Forbidden("只能管理本部门的系统客户端 (another department's client)", code="department_not_allowed",
                        field="department")


class SystemClients:
    def __init__(self, db: AsyncDatabase, verifier: TokenVerifier, token_minutes: int, now=utcnow):
        self.clients = db[CLIENTS]
        self.verifier = verifier
        self.ttl = timedelta(minutes=token_minutes)
        self.now = now

    async def ensure_indexes(self) -> None:
        await self.clients.create_index([("department", ASCENDING)])

    async def register(self, who: Principal, *, name: str, department: Department) -> dict:
        require_city_admin(who)
        if department not in CLIENT_DEPARTMENTS:
            raise AppError("该部门不能注册系统客户端 (only market supervision's systems, rule D5)",
                           code="department_not_allowed", field="department", status=422)
        may_manage(who, department)
        client_id = f"sc-{str(ulid.ULID()).lower()}"
        secret = secrets.token_urlsafe(32)
        doc = {"_id": client_id, "name": name, "department": department.value, "created_at": self.now(),
               "created_by": who.account_id, "secret_hash": secret_hash(client_id, secret), "revoked_at": None}
        await self.clients.insert_one(doc)
        log.info("system_client.registered", client_id=client_id, department=department.value, by=who.account_id)
        return {**shown(doc), "client_secret": secret}  # shown this once

    async def list(self, who: Principal) -> list[dict]:
        require_city_admin(who)
        query = {} if who.department is Department.ECOLOGY else {"department": who.department.value
                                                                 if who.department else None}
        return [shown(d) for d in await self.clients.find(query).sort("_id", ASCENDING).to_list(500)]

    async def revoke(self, who: Principal, client_id: str) -> dict:
        require_city_admin(who)
        doc = await self.clients.find_one({"_id": client_id})
        if doc is None:
            raise NotFound("系统客户端不存在 (no such client)", code="client_not_found", field="client_id")
        may_manage(who, Department(doc["department"]))
        if doc.get("revoked_at") is None:
            await self.clients.update_one({"_id": client_id}, {"$set": {"revoked_at": self.now()}})
            log.info("system_client.revoked", client_id=client_id, by=who.account_id)
        return shown(await self.clients.find_one({"_id": client_id}))

    async def token(self, client_id: str, client_secret: str) -> dict:
        """RFC 6749 §4.4: an access token for a client that proves its secret; the same answer for an unknown
        client, a wrong secret and a revoked client."""
        doc = await self.clients.find_one({"_id": client_id})
        expected = doc["secret_hash"] if doc else secret_hash("none", "none")
        matches = hmac.compare_digest(expected, secret_hash(client_id, client_secret))
        if doc is None or not matches or doc.get("revoked_at") is not None:
            log.info("system_client.refused", client_id=client_id[:64])
            raise InvalidClient("客户端认证失败 (client authentication failed)", field="client_id")
        principal = Principal(account_id=client_id, role=Role.SYSTEM_CLIENT, department=Department(doc["department"]))
        return {"access_token": self.verifier.mint(principal, ttl=self.ttl), "token_type": "bearer",
                "expires_in": int(self.ttl.total_seconds())}
