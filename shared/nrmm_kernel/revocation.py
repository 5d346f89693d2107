"""Revoked access tokens: every service refuses a disabled account's tokens within seconds (issue #22).

The gateway publishes an account's standing (disabled, enabled, sessions revoked, role changed) as events; each
service projects them into its own ``account_revocations`` collection (one document per account that was ever
revoked: ``disabled`` and ``valid_from``, the lowest token version still honoured). An access token carries the
account's token version (claim ``tv``) when it was minted. ``current_principal`` asks here after the signature
check: a token of a disabled account, or older than ``valid_from``, is refused with 401.

Each answer is cached per account for at most ``CACHE_SECONDS``: the database is asked once per account per
period, and a disabling reaches every service within relay + consumer latency + this cache (well under 5 s)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from .errors import Unauthenticated

COLLECTION = "account_revocations"
CACHE_SECONDS = 2.0
CACHE_LIMIT = 50_000  # accounts remembered; the oldest answer is forgotten first
TOKEN_VERSION_CLAIM = "tv"


class TokenRevoked(Unauthenticated):
    code = "token_revoked"


class RevocationList:
    """What this service knows of revoked accounts, read through a short cache."""

    def __init__(self, db: AsyncDatabase[Any], *, clock: Callable[[], float] = time.monotonic,
                 cache_seconds: float = CACHE_SECONDS):
        self._coll = db[COLLECTION]
        self._clock = clock
        self._ttl = cache_seconds
        self._cache: OrderedDict[str, tuple[float, bool, int]] = OrderedDict()

    async def standing(self, account_id: str) -> tuple[bool, int]:
        """(disabled, valid_from) of the account; (False, 0) for an account never revoked."""
        now = self._clock()
        cached = self._cache.get(account_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1], cached[2]
        doc = await self._coll.find_one({"_id": account_id}, projection={"disabled": 1, "valid_from": 1})
        disabled, valid_from = bool((doc or {}).get("disabled")), int((doc or {}).get("valid_from") or 0)
        self._cache[account_id] = (now, disabled, valid_from)
        self._cache.move_to_end(account_id)
        if len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
        return disabled, valid_from

    async def check(self, account_id: str, token_version: int) -> None:
        disabled, valid_from = await self.standing(account_id)
        if disabled:
            raise TokenRevoked("账户已停用 (account disabled)", code="account_disabled")
        if token_version < valid_from:
            raise TokenRevoked("登录已失效，请重新登录 (token revoked)")


def revoked_document(doc: dict[str, Any] | None, *, disabled: bool | None, valid_from: int | None) -> dict[str, Any]:
    """The revocation document after an account event: the pure fold a consumer's projection uses."""
    doc = dict(doc or {})
    if disabled is not None:
        doc["disabled"] = disabled
    if valid_from is not None:
        doc["valid_from"] = max(int(doc.get("valid_from") or 0), valid_from)
    doc.setdefault("disabled", False)
    doc.setdefault("valid_from", 0)
    return doc
