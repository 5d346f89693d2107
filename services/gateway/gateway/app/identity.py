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

from ..settings import Settings
from .accounts import Accounts, AccountStore
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
                   hasher: PasswordHasher | None = None) -> Identity:
    passwords = Passwords(hasher)
    account_store = AccountStore(db)
    sms_codes = SmsCodes(db, settings, notifications, now)
    throttle = LoginThrottle(db, settings)
    sessions = Sessions(SessionStore(db), account_store, passwords, throttle, verifier, settings, now)
    return Identity(Accounts(account_store, passwords, sms_codes, now), sms_codes, sessions, throttle)
