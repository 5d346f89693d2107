"""The gateway's identity, composed: accounts, SMS codes, sessions (sign-in, tokens) and login throttling, each
with its own store (accounts.py, sms_codes.py, sessions.py, throttling.py). This module only wires them and runs
their housekeeping.

Concurrency. FerretDB applies a conditional update by reading and writing back, so two concurrent callers can both
"win"; every check that matters under concurrency rests on an insert under a unique index
(``nrmm_kernel.claims``) or a delete by ``_id``, on MongoDB and FerretDB alike: a username is taken by inserting
the account; an SMS code is spent by deleting it; login attempts, SMS sends and tries per code are numbered
(numbered.py); a refresh token is spent by inserting its hash; a session is ended by inserting its id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.memory_store import InMemoryEventStore
from nrmm_kernel.personal import SubjectKeys
from nrmm_kernel.store_api import StreamStore

from ..settings import Settings
from .account_admin import AccountAdmin
from .account_store import AccountStore
from .accounts import Accounts
from .messages import NotificationsClient
from .passwords import Passwords
from .sessions import Sessions, SessionStore
from .sms_codes import SmsCodes
from .throttling import LoginThrottle


@dataclass(frozen=True)
class Identity:
    accounts: Accounts
    sms_codes: SmsCodes
    sessions: Sessions
    throttle: LoginThrottle
    admin: AccountAdmin

    async def ensure_indexes(self) -> None:
        await self.accounts.store.ensure_indexes()
        await self.sms_codes.ensure_indexes()
        await self.sessions.store.ensure_indexes()
        await self.throttle.ensure_indexes()

    async def purge_expired(self) -> None:
        """Records that no longer decide anything (FerretDB has no TTL indexes, so this runs periodically)."""
        await self.throttle.purge_expired(self.sessions.now())
        await self.sms_codes.purge_expired()
        await self.sessions.purge_expired()


def build_identity(db: AsyncDatabase[Any], verifier: TokenVerifier, settings: Settings,
                   notifications: NotificationsClient, now: Callable[[], datetime] = utcnow,
                   hasher: PasswordHasher | None = None, events: StreamStore | None = None,
                   keys: SubjectKeys | None = None) -> Identity:
    """``events``: the gateway's event store (unit tests: one in memory); ``keys``: its data subjects' keys."""
    passwords = Passwords(hasher)
    lookup_secret = settings.account_lookup_secret or settings.jwt_secret
    if not lookup_secret:
        raise RuntimeError("no NRMM_ACCOUNT_LOOKUP_SECRET or NRMM_JWT_SECRET: accounts cannot be looked up")
    account_store = AccountStore(db, events if events is not None else InMemoryEventStore(), keys or SubjectKeys(db),
                                 lookup_secret, now)
    sms_codes = SmsCodes(db, settings, notifications, now)
    throttle = LoginThrottle(db, settings)
    sessions = Sessions(SessionStore(db), account_store, passwords, throttle, verifier, settings, now)
    return Identity(Accounts(account_store, passwords, sms_codes, now), sms_codes, sessions, throttle,
                    AccountAdmin(account_store))
