"""Accounts as events (issue #22), without infrastructure: the gateway's handlers over the in-memory event store and
mongomock. Who made whom what is in the events; no hash and no plain mobile is; a disabled account cannot sign in
or refresh; an erased person's account is disabled and cannot be found; the migration writes creation events once.
The same over HTTP with every service on the real broker and database: test_accounts_revocation_http.py."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher

from gateway.app.erasure import ErasureWorker, PersonErasures
from gateway.app.identity import build_identity
from gateway.app.migration import migrate_accounts
from gateway.domain.events import account_stream
from gateway.projections.revocations import AccountRevocations
from gateway.settings import Settings
from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.envelope import Actor
from nrmm_kernel.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from nrmm_kernel.memory_store import InMemoryEventStore
from nrmm_kernel.personal import ERASED, is_sealed
from nrmm_kernel.projection import apply_event
from nrmm_kernel.reference import Department, Role
from nrmm_kernel.revocation import COLLECTION, RevocationList, TokenRevoked
from registry.contracts import PersonErased
from registry.contracts import events as registry_events
from tests.memory_db import MemoryDatabase

SECRET = "unit-test-secret-of-at-least-32-characters"
SETTINGS = Settings(jwt_secret=SECRET)
MOBILE = "13800138000"


class NoPhone:
    async def send_sms(self, mobile: str, template: str, params: dict) -> str:
        return "delivery-1"


@pytest.fixture
async def made():
    db = MemoryDatabase()
    events = InMemoryEventStore()
    verifier = TokenVerifier(SECRET, issuer=SETTINGS.jwt_issuer, audience=SETTINGS.jwt_audience)
    identity = build_identity(db, verifier, SETTINGS, NoPhone(), hasher=PasswordHasher(time_cost=1, memory_cost=64,
                                                                                          parallelism=1),
                              events=events)
    await identity.ensure_indexes()
    return db, events, identity


async def admin_and_staff(identity):
    await identity.accounts.bootstrap_admin("admin", "Admin-Passw0rd-1")
    admin = (await identity.accounts.store.by_username("admin")).principal
    staff = await identity.accounts.create_staff(admin, username="insp-04", password="Insp-Passw0rd-1x",
                                                 role=Role.INSPECTOR, department=Department.ECOLOGY, district="04",
                                                 name="李检查")
    return admin, staff


async def test_who_made_whom_a_reviewer_and_who_disabled_them_is_in_the_events(made):
    db, events, identity = made
    admin, staff = await admin_and_staff(identity)
    granted = await identity.admin.grant_role(admin, staff.account_id, Role.REVIEWER, Department.ECOLOGY, "04")
    assert granted["role"] == "reviewer" and granted["token_version"] == 1
    tokens = await identity.sessions.login("insp-04", "Insp-Passw0rd-1x")
    assert (await identity.sessions.refresh(tokens["refresh_token"]))["access_token"]
    await identity.admin.disable(admin, staff.account_id, "离职")
    stream = await events.read_stream(account_stream(staff.account_id))
    assert [(e.event_name, e.actorid) for e in stream] == [
        ("AccountRegistered", admin.account_id), ("RoleGranted", admin.account_id),
        ("AccountDisabled", admin.account_id)]
    assert "Passw0rd" not in json.dumps([e.to_json_dict() for e in stream], default=str)
    assert "hash" not in json.dumps([e.data for e in stream])
    # the name is sealed in the event; the view opens it
    assert is_sealed(stream[0].data["name"]) and (await identity.accounts.store.load(staff.account_id)).name == "李检查"
    # refused at once at the gateway: sign-in and refresh
    with pytest.raises(Unauthenticated):
        await identity.sessions.login("insp-04", "Insp-Passw0rd-1x")
    with pytest.raises(Unauthenticated):
        await identity.sessions.refresh(tokens["refresh_token"])
    # the revocation list every service keeps refuses its access tokens
    revocations = RevocationList(db, cache_seconds=0)
    with pytest.raises(TokenRevoked) as refused:
        await revocations.check(staff.account_id, 1)
    assert refused.value.code == "account_disabled"
    # disabling twice records nothing more; enabling brings sign-in back but not the old tokens
    await identity.admin.disable(admin, staff.account_id, "离职")
    assert await events.stream_version(account_stream(staff.account_id)) == 3
    await identity.admin.enable(admin, staff.account_id, None)
    fresh = await identity.sessions.login("insp-04", "Insp-Passw0rd-1x")
    assert fresh["access_token"]
    with pytest.raises(TokenRevoked):
        await revocations.check(staff.account_id, 1)
    await revocations.check(staff.account_id, 2)  # minted after the disabling: honoured
    with pytest.raises(Unauthenticated):  # a session from before the disabling stays ended
        await identity.sessions.refresh(tokens["refresh_token"])


async def test_revoking_sessions_ends_refresh_and_older_tokens(made):
    db, events, identity = made
    admin, staff = await admin_and_staff(identity)
    tokens = await identity.sessions.login("insp-04", "Insp-Passw0rd-1x")
    await identity.admin.revoke_sessions(admin, staff.account_id, "设备丢失")
    with pytest.raises(Unauthenticated):
        await identity.sessions.refresh(tokens["refresh_token"])
    again = await identity.sessions.login("insp-04", "Insp-Passw0rd-1x")
    verifier = identity.sessions.verifier
    assert verifier.verify(again["access_token"]).token_version == 1
    assert verifier.verify(tokens["access_token"]).token_version == 0


async def test_only_the_ecology_bureau_manages_accounts_within_its_jurisdiction(made):
    db, events, identity = made
    admin, staff = await admin_and_staff(identity)
    housing_admin = await identity.accounts.create_staff(admin, username="adm-housing", password="Adm-Passw0rd-1x",
                                                         role=Role.ADMIN, department=Department.HOUSING,
                                                         district=None, name=None)
    district_admin = await identity.accounts.create_staff(admin, username="adm-eco-05", password="Adm-Passw0rd-1x",
                                                          role=Role.ADMIN, department=Department.ECOLOGY,
                                                          district="05", name=None)
    with pytest.raises(Forbidden):
        await identity.admin.disable(housing_admin.principal, staff.account_id, "x")
    with pytest.raises(Forbidden) as outside:
        await identity.admin.disable(district_admin.principal, staff.account_id, "x")
    assert outside.value.code == "outside_jurisdiction"
    with pytest.raises(Forbidden):
        await identity.admin.disable(admin, admin.account_id, "x")
    with pytest.raises(Forbidden):  # a district administrator grants nothing at city level
        await identity.admin.grant_role(district_admin.principal, staff.account_id, Role.REVIEWER,
                                        Department.ECOLOGY, None)
    with pytest.raises(ValidationFailed) as blank:
        await identity.admin.disable(admin, staff.account_id, "   ")
    assert blank.value.field == "reason"
    with pytest.raises(NotFound):
        await identity.admin.disable(admin, "no-such-account", "x")
    assert await events.stream_version(account_stream(staff.account_id)) == 1  # nothing half-written


async def test_an_owner_is_found_by_a_keyed_hash_and_an_erased_person_is_gone(made):
    db, events, identity = made
    await identity.accounts.bootstrap_admin("admin", "Admin-Passw0rd-1")
    admin = (await identity.accounts.store.by_username("admin")).principal
    owner = await identity.accounts._create(username=MOBILE, password="Owner-Passw0rd-1", role=Role.OWNER,
                                            actor=None, created_by=None, mobile=MOBILE, name="张三")
    assert (await identity.accounts.owner_by_mobile(MOBILE)).account_id == owner.account_id
    stored = json.dumps([d async for d in db["account_logins"].find({})] +
                        [d async for d in db["account_views"].find({})], default=str)
    assert MOBILE not in stored and "张三" not in stored  # no plain mobile or name kept
    registered = (await events.read_stream(account_stream(owner.account_id)))[0]
    assert is_sealed(registered.data["username"]) and is_sealed(registered.data["mobile"])
    # the registry's PersonErased, as the projection and the worker take it
    erased = PersonErased(subject_id=owner.account_id, reason="PIPL art. 47", erased_by_account_id=admin.account_id,
                          erased_at=datetime.now(UTC))
    envelope = registry_events.wrap(erased, stream_id=f"person-{owner.account_id}", stream_version=1,
                                    actor=admin.as_actor())
    await apply_event(db["person_erasures"], PersonErasures(), envelope)
    worker = ErasureWorker(db, identity.accounts.store)
    stop = asyncio.Event()
    stop.set()  # one round, then the loop ends
    await worker.run(stop)
    assert worker.health.last_success is not None  # /readyz: each round is a success, or it would turn "stuck"
    assert await worker.run_once() == 0  # done once
    with pytest.raises(NotFound):
        await identity.accounts.owner_by_mobile(MOBILE)
    with pytest.raises(Unauthenticated):
        await identity.sessions.login(MOBILE, "Owner-Passw0rd-1")
    stream = await events.read_stream(account_stream(owner.account_id))
    assert (stream[-1].event_name, stream[-1].data["reason"], stream[-1].actorid) == (
        "AccountDisabled", "personal_data_erased", admin.account_id)
    view = await identity.accounts.store.load(owner.account_id)
    assert view is not None and view.mobile == ERASED and view.name == ERASED


async def test_the_migration_writes_creation_events_once(made):
    db, events, identity = made
    password_hash = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("Legacy-Passw0rd-1")
    at = datetime(2025, 1, 2, tzinfo=UTC)
    await db["accounts"].insert_many([
        {"_id": "01LEGACYOWNER", "username": MOBILE, "role": "owner", "password_hash": password_hash,
         "credential_stamp": "s1", "created_at": at, "mobile": MOBILE, "name": "张三"},
        {"_id": "01LEGACYSITE", "username": "S500104009", "role": "site_admin", "password_hash": password_hash,
         "credential_stamp": "s2", "created_at": at, "mobile": "13900001111", "site_id": "S500104009",
         "district": "04", "disabled": True},
    ])
    first = await migrate_accounts(db, identity.accounts.store)
    again = await migrate_accounts(db, identity.accounts.store)
    assert (first.written, first.present, again.written, again.present) == (2, 0, 0, 2)
    site = await events.read_stream(account_stream("01LEGACYSITE"))
    assert [e.event_name for e in site] == ["AccountRegistered", "BoundToSite", "AccountDisabled"]
    assert site[0].data["migrated"] is True and site[0].actorid == "migration"
    owner = await identity.sessions.login(MOBILE, "Legacy-Passw0rd-1")
    assert owner["access_token"]
    assert (await identity.accounts.store.load("01LEGACYOWNER")).created_at == at


async def test_the_revocation_projection_folds_and_the_list_caches():
    db = MemoryDatabase()
    projection = AccountRevocations()
    from gateway.domain.events import AccountDisabled, AccountEnabled, registry

    stream = account_stream("A1")
    for version, event in enumerate([AccountDisabled(reason="x", token_version=1), AccountEnabled()], start=1):
        envelope = registry.wrap(event, stream_id=stream, stream_version=version, actor=Actor(account_id="adm",
                                                                                             role="admin"))
        await apply_event(db[COLLECTION], projection, envelope)
        await apply_event(db[COLLECTION], projection, envelope)  # twice: nothing changes
    doc = await db[COLLECTION].find_one({"_id": "A1"})
    assert (doc["disabled"], doc["valid_from"]) == (False, 1)
    now = [0.0]
    revocations = RevocationList(db, clock=lambda: now[0], cache_seconds=2)
    await revocations.check("A1", 1)
    await db[COLLECTION].update_one({"_id": "A1"}, {"$set": {"disabled": True}})
    await revocations.check("A1", 1)  # cached
    now[0] = 2.0
    with pytest.raises(TokenRevoked):
        await revocations.check("A1", 1)
