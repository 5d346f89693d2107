"""Sessions: sign-in (throttled), access tokens, refresh tokens rotated once, sign-out.

A session is a refresh-token family. A refresh token is spent by inserting its hash into ``refresh_spent``
(``nrmm_kernel.claims``: a unique ``_id``); a second use, even a concurrent one, finds it there and ends the
session. A session is ended by inserting its id into ``revoked_families``; a password change or an administrator's
revocation writes a new credential stamp, and every session opened under the old stamp is refused at its next
refresh; a disabled account's refresh tokens are refused at once (its view is updated as the event is appended)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import ulid
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.claims import claim
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import Unauthenticated
from nrmm_kernel.logging import get_logger

from ..domain.accounts import Account
from ..settings import Settings
from .account_store import AccountStore
from .passwords import Passwords
from .throttling import LoginThrottle

log = get_logger("sessions")
REFRESH = "refresh_tokens"  # live refresh tokens, by SHA-256 of the token
SPENT = "refresh_spent"  # refresh tokens used once (rotated) or logged out, by the same hash
REVOKED_FAMILIES = "revoked_families"  # ended sessions
MAX_USERNAME = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshRevoked(Unauthenticated):
    code = "refresh_token_revoked"

    def __init__(self) -> None:
        super().__init__("刷新令牌已失效，请重新登录 (refresh token revoked)")


class SessionStore:
    def __init__(self, db: AsyncDatabase[Any]):
        self.live, self.spent, self.revoked = db[REFRESH], db[SPENT], db[REVOKED_FAMILIES]

    async def ensure_indexes(self) -> None:
        await self.live.create_index([("family", ASCENDING)])
        await self.live.create_index([("account_id", ASCENDING)])
        for coll in (self.live, self.spent, self.revoked):  # the purge of expired ones (purge)
            await coll.create_index([("expires_at", ASCENDING)])

    async def add(self, token_id: str, *, account_id: str, family: str, stamp: str, now: datetime,
                  expires_at: datetime) -> None:
        await self.live.insert_one({"_id": token_id, "account_id": account_id, "family": family, "stamp": stamp,
                                    "created_at": now, "expires_at": expires_at})

    async def find_live(self, token_id: str) -> dict[str, Any] | None:
        return await self.live.find_one({"_id": token_id})

    async def find_spent(self, token_id: str) -> dict[str, Any] | None:
        return await self.spent.find_one({"_id": token_id})

    async def spend(self, token_id: str, live: dict[str, Any], now: datetime) -> bool:
        """True for the one use that spent it; then the live record goes."""
        if not await claim(self.spent, {"_id": token_id, "account_id": live["account_id"], "family": live["family"],
                                        "spent_at": now, "expires_at": live["expires_at"]}):
            return False
        await self.live.delete_one({"_id": token_id})
        return True

    async def drop_live(self, token_id: str) -> None:
        await self.live.delete_one({"_id": token_id})

    async def ended(self, family: str) -> bool:
        return await self.revoked.find_one({"_id": family}, projection={"_id": 1}) is not None

    async def end(self, family: str, *, reason: str, now: datetime, keep_until: datetime) -> bool:
        """False when it had ended already. Kept while a token of the family could still be alive."""
        return await claim(self.revoked, {"_id": family, "at": now, "reason": reason, "expires_at": keep_until})

    async def purge(self, now: datetime) -> None:
        for coll in (self.live, self.spent, self.revoked):
            await coll.delete_many({"expires_at": {"$lt": now}})


class Sessions:
    def __init__(self, store: SessionStore, accounts: AccountStore, passwords: Passwords, throttle: LoginThrottle,
                 verifier: TokenVerifier, settings: Settings, now: Callable[[], datetime] = utcnow):
        self.store = store
        self.accounts = accounts
        self.passwords = passwords
        self.throttle = throttle
        self.verifier = verifier
        self.settings = settings
        self.now = now

    async def login(self, username: str, password: str, address: str | None = None) -> dict[str, Any]:
        """``address``: the client's (taken from X-Forwarded-For only when a proxy of NRMM_TRUSTED_PROXIES sent it)."""
        if len(username) > MAX_USERNAME or not username.isprintable():  # nobody has such a name; not worth a record
            raise Unauthenticated("用户名或密码错误 (invalid credentials)", code="invalid_credentials")
        now = self.now()
        account = await self.accounts.by_username(username)
        admitted = await self.throttle.admit(username, address, account, now)
        verified = await self.passwords.verify(account, password)  # an unknown account takes as long
        if account is None or not verified:
            await self.throttle.failed(admitted)
            log.info("login.failed", account_id=account.account_id if account else None, address=admitted.network)
            raise Unauthenticated("用户名或密码错误 (invalid credentials)", code="invalid_credentials")
        await self.throttle.succeeded(admitted, account, now)
        if self.passwords.needs_rehash(account.password_hash):
            await self.accounts.rehash(account, await self.passwords.hash(password))
        return await self._issue(account, family=str(ulid.ULID()), stamp=account.credential_stamp)

    async def _issue(self, account: Account, *, family: str, stamp: str) -> dict[str, Any]:
        ttl = timedelta(minutes=self.settings.access_token_minutes)
        refresh = secrets.token_urlsafe(32)
        now = self.now()
        await self.store.add(token_hash(refresh), account_id=account.account_id, family=family, stamp=stamp, now=now,
                             expires_at=now + timedelta(days=self.settings.refresh_token_days))
        return {"access_token": self.verifier.mint(account.principal, ttl=ttl), "token_type": "bearer",
                "expires_in": int(ttl.total_seconds()), "refresh_token": refresh}

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        token_id = token_hash(refresh_token)
        live = await self.store.find_live(token_id)
        if live is None:
            spent = await self.store.find_spent(token_id)
            if spent is None:
                raise Unauthenticated("刷新令牌无效 (invalid refresh token)", code="invalid_refresh_token")
            # a spent token presented again: someone kept a copy; end the whole session
            await self._end(spent["family"], reason="reuse", account_id=spent["account_id"])
            raise RefreshRevoked()
        if await self.store.ended(live["family"]):
            raise RefreshRevoked()
        if live["expires_at"] <= self.now():
            await self.store.drop_live(token_id)
            raise Unauthenticated("登录已过期，请重新登录 (refresh token expired)", code="refresh_token_expired")
        account = await self.accounts.load(live["account_id"])
        if account is None or account.disabled or account.credential_stamp != live.get("stamp"):
            # the password changed or the sessions were revoked since this one began, or the account is disabled
            await self._end(live["family"], reason="credentials_changed", account_id=live["account_id"])
            raise RefreshRevoked()
        if not await self.store.spend(token_id, live, self.now()):  # one insert decides between concurrent uses
            await self._end(live["family"], reason="reuse", account_id=live["account_id"])
            raise RefreshRevoked()
        return await self._issue(account, family=live["family"], stamp=live["stamp"])

    async def _end(self, family: str, *, reason: str, account_id: str | None = None) -> None:
        now = self.now()
        if await self.store.end(family, reason=reason, now=now,
                                keep_until=now + timedelta(days=self.settings.refresh_token_days)):
            log.info("session.ended", account_id=account_id, family=family, reason=reason)
        # the family's tokens stay until they expire, so that each is answered "revoked" rather than "unknown"

    async def logout(self, refresh_token: str) -> None:
        token_id = token_hash(refresh_token)
        stored = await self.store.find_live(token_id) or await self.store.find_spent(token_id)
        if stored is not None:
            await self._end(stored["family"], reason="logout", account_id=stored["account_id"])

    async def purge_expired(self) -> None:
        await self.store.purge(self.now())
