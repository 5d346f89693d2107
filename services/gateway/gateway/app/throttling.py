"""Login throttling: failed sign-ins per username and client address, per address, and per username from
everywhere; and the addresses each account signed in from (spared the per-username limit).

Every attempt is numbered (numbered.py) before it is judged, so racing wrong passwords get no more tries than the
limit. An address is "known" only under the account's current password (credential stamp): a sign-in with an old
password counts for nothing, so a new password leaves the old records to housekeeping."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.errors import AppError

from ..domain import rules
from ..domain.accounts import Account
from ..settings import Settings
from .numbered import Attempt, NumberedAttempts

LOGIN_ATTEMPTS = "login_attempts"  # numbered per username and client address, and per address
KNOWN_ADDRESSES = "login_known_addresses"  # username + client network that signed in, under which stamp, when
KNOWN_FOR = timedelta(days=90)
PURGE_MARGIN = timedelta(hours=1)
Counted = Callable[[list[dict[str, Any]]], list[datetime]]


@dataclass(frozen=True)
class Admitted:
    """A sign-in let through to the password check: its numbered attempts and where it comes from."""

    attempts: list[Attempt]
    known_id: str
    network: str  # the client's address (IPv6: its /64)


class KnownAddresses:
    def __init__(self, db: AsyncDatabase[Any]):
        self.coll = db[KNOWN_ADDRESSES]

    @staticmethod
    def id_for(network: str, username: str) -> str:
        return hashlib.sha256(f"{network}|{username}".encode()).hexdigest()

    async def knows(self, known_id: str, stamp: str, now: datetime) -> bool:
        return await self.coll.find_one({"_id": known_id, "at": {"$gte": now - KNOWN_FOR}, "stamp": stamp},
                                        projection={"_id": 1}) is not None

    async def remember(self, known_id: str, stamp: str, now: datetime) -> None:
        await self.coll.replace_one({"_id": known_id}, {"stamp": stamp, "at": now}, upsert=True)

    async def purge(self, now: datetime) -> None:
        await self.coll.delete_many({"at": {"$lt": now - KNOWN_FOR}})


class LoginThrottle:
    def __init__(self, db: AsyncDatabase[Any], settings: Settings):
        self.settings = settings
        self.attempts = NumberedAttempts(db[LOGIN_ATTEMPTS])
        self.known = KnownAddresses(db)

    async def ensure_indexes(self) -> None:
        await self.attempts.ensure_indexes()

    async def admit(self, username: str, address: str | None, account: Account | None, now: datetime) -> Admitted:
        """Number this sign-in under each limit; 429 ``too_many_attempts`` when one of them is reached."""
        network = rules.client_network(address)
        known_id = KnownAddresses.id_for(network, username)
        known = account is not None and await self.known.knows(known_id, account.credential_stamp, now)
        s = self.settings
        limits: list[tuple[str, Counted, int]] = [
            # the address first: it holds no "|", so no username makes another key's twin
            (f"login:{network}|{username}", rules.login_failures_that_count, s.login_max_failures),
            (f"address:{network}", rules.address_failures_that_count, s.login_max_failures_per_address),
        ]
        if not known:
            # from everywhere together: a higher limit, which only guessing from many addresses reaches; an
            # address this account signed in from before is spared it, so that guessing cannot lock its holder out
            limits.append((f"username:{username}", rules.login_failures_that_count,
                           s.login_max_failures_per_username))
        taken: list[Attempt] = []
        for key, counted, limit in limits:
            attempt = await self.attempts.take(key, now, since=now - timedelta(seconds=s.login_window_seconds))
            taken.append(attempt)
            retry_after = rules.login_retry_after(counted(attempt.earlier), now, max_failures=limit,
                                                  window_seconds=s.login_window_seconds)
            if retry_after is not None:
                await self._mark(taken, "refused")  # a refused attempt is no failure: it does not prolong the wait
                raise AppError(f"登录失败次数过多，请 {retry_after} 秒后再试", code="too_many_attempts", status=429,
                               field="username", details={"retry_after": retry_after})
        return Admitted(taken, known_id, network)

    async def failed(self, admitted: Admitted) -> None:
        await self._mark(admitted.attempts, "failed")

    async def succeeded(self, admitted: Admitted, account: Account, now: datetime) -> None:
        await self._mark(admitted.attempts, "succeeded")
        await self.known.remember(admitted.known_id, account.credential_stamp, now)

    async def _mark(self, attempts: list[Attempt], state: str) -> None:
        for attempt in attempts:
            await self.attempts.mark(attempt, state)

    async def purge_expired(self, now: datetime) -> None:
        await self.attempts.purge(now - timedelta(seconds=self.settings.login_window_seconds) - PURGE_MARGIN)
        await self.known.purge(now)
