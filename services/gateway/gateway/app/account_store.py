"""Where accounts live: their event streams (the decisions), the ``account_views`` projection (what sign-in reads),
credentials beside the events, and login keys.

- A login key is an HMAC of the username under a server secret (NRMM_ACCOUNT_LOOKUP_SECRET, else the JWT key): an
  owner's username is their mobile, so no plain mobile is kept to find an account by. ``account_logins`` holds
  one document per key (``_id``), inserted under the unique ``_id`` index: that insert takes the username
  (``nrmm_kernel.claims``), and sign-in finds the account by it, an equality lookup on ``_id`` (O(log N) on
  MongoDB and FerretDB alike).
- ``credentials``: the password hash and the credential stamp, by account id; never in an event.
- A command's events are applied to the account's view (and the gateway's revocation list) as soon as they are
  appended, so that sign-in and refresh see them at once; the projector applies them again from the topic,
  which changes nothing (stream versions guard), and catches up after a crash between the two.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.claims import claim
from nrmm_kernel.envelope import Actor, EventEnvelope, utcnow
from nrmm_kernel.personal import SubjectKeys
from nrmm_kernel.projection import apply_event
from nrmm_kernel.store_api import StreamStore

from ..domain.account_stream import AccountStream
from ..domain.accounts import Account
from ..domain.events import STREAM, registry
from ..projections.accounts import VIEWS, AccountViews
from ..projections.revocations import AccountRevocations

LOGINS = "account_logins"
CREDENTIALS = "credentials"
# a login key taken by a registration that never wrote its account (the process died in between) is given back
# after this long; a registration still under way is never that slow
STALE_CLAIM = timedelta(minutes=2)


class AccountStore:
    def __init__(self, db: AsyncDatabase[Any], events: StreamStore, keys: SubjectKeys, lookup_secret: str,
                 now: Callable[[], datetime] = utcnow):
        self.db = db
        self.views, self.logins, self.credentials = db[VIEWS], db[LOGINS], db[CREDENTIALS]
        self.events = events
        self.keys = keys
        self._secret = lookup_secret.encode()
        self.now = now
        self.repository = AggregateRepository(events, registry, AccountStream, STREAM)
        self._projections = [AccountViews(), AccountRevocations()]

    async def ensure_indexes(self) -> None:
        await self.logins.create_index([("account_id", ASCENDING)])

    def login_key(self, username: str) -> str:
        return hmac.new(self._secret, b"login:" + username.encode(), hashlib.sha256).hexdigest()

    # usernames --------------------------------------------------------------------------------------------------
    async def claim_username(self, username: str, account_id: str) -> bool:
        """False when the username is taken (the unique ``_id`` decides between racing registrations)."""
        key = self.login_key(username)
        doc = {"_id": key, "account_id": account_id, "at": self.now()}
        if await claim(self.logins, doc):
            return True
        holder = await self.logins.find_one({"_id": key})
        if holder is None or await self.events.stream_version(self.repository.stream_id(holder["account_id"])):
            return holder is None and await claim(self.logins, doc)
        if self.now() - holder["at"] < STALE_CLAIM:
            return False
        # taken by a registration that died before its first event: give it back, once
        await self.logins.delete_one({"_id": key, "account_id": holder["account_id"]})
        return await claim(self.logins, doc)

    async def release_username(self, username: str, account_id: str) -> None:
        await self.logins.delete_one({"_id": self.login_key(username), "account_id": account_id})

    async def drop_logins(self, account_id: str) -> int:
        return (await self.logins.delete_many({"account_id": account_id})).deleted_count

    async def account_id_for(self, username: str) -> str | None:
        doc = await self.logins.find_one({"_id": self.login_key(username)}, projection={"account_id": 1})
        return doc["account_id"] if doc else None

    # reading ----------------------------------------------------------------------------------------------------
    async def load(self, account_id: str) -> Account | None:
        view = await self.views.find_one({"_id": account_id})
        if view is None:
            return None
        credentials = await self.credentials.find_one({"_id": account_id})
        opened = {f: await self.keys.open(view.get(f)) for f in ("username", "mobile", "name")}
        return Account.from_parts(view, credentials, opened)

    async def by_username(self, username: str) -> Account | None:
        account_id = await self.account_id_for(username)
        return await self.load(account_id) if account_id else None

    async def exists(self, username: str) -> bool:
        return await self.account_id_for(username) is not None

    async def stream(self, account_id: str) -> AccountStream | None:
        return await self.repository.load(account_id)

    # writing ----------------------------------------------------------------------------------------------------
    async def seal(self, account_id: str, value: str | None) -> str | None:
        return await self.keys.seal(account_id, value) if value is not None else None

    async def save(self, stream: AccountStream, actor: Actor | None) -> list[EventEnvelope]:
        """Append the stream's new events (expected version: a concurrent change is a 409) and apply them."""
        _, envelopes = await self.repository.save(stream, actor=actor)
        await self.apply(envelopes)
        return envelopes

    async def apply(self, envelopes: list[EventEnvelope]) -> None:
        for envelope in envelopes:
            for projection in self._projections:
                await apply_event(self.db[projection.name], projection, envelope)

    async def set_credentials(self, account_id: str, password_hash: str) -> None:
        """The new hash and a new stamp (every session opened before ends), in one document write."""
        await self.credentials.update_one({"_id": account_id}, {"$set": {
            "password_hash": password_hash, "credential_stamp": secrets.token_hex(8),
            "password_changed_at": self.now()}}, upsert=True)

    async def new_stamp(self, account_id: str) -> None:
        """Every session of the account ends at its next refresh (the hash stays)."""
        await self.credentials.update_one({"_id": account_id}, {"$set": {"credential_stamp": secrets.token_hex(8)}})

    async def rehash(self, account: Account, password_hash: str) -> None:
        """A stronger hash of the same password: the stamp stays, and so do the sessions."""
        await self.credentials.update_one({"_id": account.account_id, "password_hash": account.password_hash},
                                          {"$set": {"password_hash": password_hash}})
