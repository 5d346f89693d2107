"""``python -m gateway.main migrate-accounts``: accounts made before accounts were events (plain documents in the
``accounts`` collection) get their creation events, once.

For each old document whose stream does not exist yet: its credentials move to ``credentials``, its username to a
login key, and ``AccountRegistered`` (``migrated``, personal values sealed, the original creation time), then
``BoundToSite`` and ``AccountDisabled`` where they apply, are appended at expected version 0. Run again, it finds
every stream there and writes nothing: idempotent, and safe beside running gateways (a stream written meanwhile is a
version conflict, counted as done). The old collection is left as it was; drop it once the run reports no
failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.claims import claim
from nrmm_kernel.envelope import Actor
from nrmm_kernel.errors import ConcurrencyError
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Role

from ..domain.account_stream import AccountStream
from ..domain.events import AccountRegistered
from .account_store import AccountStore

log = get_logger("migration")
LEGACY = "accounts"
MIGRATION = Actor(account_id="migration", role="system")


@dataclass
class Migrated:
    written: int = 0
    present: int = 0
    failed: list[str] = field(default_factory=list)


async def migrate_accounts(db: AsyncDatabase[Any], store: AccountStore) -> Migrated:
    outcome = Migrated()
    async for doc in db[LEGACY].find({}):  # a one-off scan of the old collection
        account_id = str(doc["_id"])
        if await store.events.stream_version(store.repository.stream_id(account_id)):
            outcome.present += 1
            continue
        try:
            await _migrate(store, account_id, doc)
            outcome.written += 1
        except ConcurrencyError:
            outcome.present += 1
        except (KeyError, ValueError) as exc:
            log.warning("migration.failed", account_id=account_id, error=str(exc))
            outcome.failed.append(account_id)
    return outcome


async def _migrate(store: AccountStore, account_id: str, doc: dict[str, Any]) -> None:
    username, role = doc["username"], Role(doc["role"])
    taken = await claim(store.logins, {"_id": store.login_key(username), "account_id": account_id,
                                       "at": store.now()})
    if not taken:
        holder = await store.logins.find_one({"_id": store.login_key(username)})
        if holder is None or holder["account_id"] != account_id:
            raise ValueError("username taken by another account")
    await store.credentials.update_one({"_id": account_id}, {"$setOnInsert": {
        "password_hash": doc["password_hash"], "credential_stamp": doc.get("credential_stamp") or "migrated",
        "password_changed_at": doc.get("password_changed_at")}}, upsert=True)
    stream = AccountStream.create(account_id, AccountRegistered(
        username=(await store.seal(account_id, username) or "") if role is Role.OWNER else username,
        role=role.value, department=doc.get("department"), district=doc.get("district"),
        mobile=await store.seal(account_id, doc.get("mobile")), name=await store.seal(account_id, doc.get("name")),
        created_by=doc.get("created_by"), migrated=True, registered_at=doc.get("created_at")))
    if doc.get("site_id") and doc.get("district"):
        stream.bind_to_site(doc["site_id"], doc["district"])
    if doc.get("disabled"):
        stream.disable("migrated: disabled before accounts were events")
    await store.save(stream, MIGRATION)
