"""The gateway's account handlers, without infrastructure: PyMongo's async API over mongomock, an injected clock (an
SMS code's expiry is a clock moved on, not a wait), and the notifications service as a stand-in that keeps the
codes it was asked to send. Over HTTP with the real database: the ``integration`` tests beside this file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher

from gateway.app import identity as identity_module
from gateway.settings import Settings
from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from nrmm_kernel.reference import Department, Role
from tests.memory_db import MemoryDatabase

SECRET = "unit-test-secret-of-at-least-32-characters"
MOBILE, PASSWORD = "13800138000", "Passw0rd-1-long"
SETTINGS = Settings(jwt_secret=SECRET, sms_code_ttl_seconds=300, sms_resend_seconds=60)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 2, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Phone:
    """The notifications service: the last code sent to each mobile."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    async def send_sms(self, mobile: str, template: str, params: dict) -> str:
        self.codes[mobile] = params["code"]
        return "delivery-1"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def phone() -> Phone:
    return Phone()


def handlers(made) -> SimpleNamespace:
    """The handlers by what they do: on one object (identity.py), or on accounts, SMS codes and sessions apart."""
    if hasattr(made, "sessions"):
        accounts, codes, sessions = made.accounts, made.sms_codes, made.sessions
        return SimpleNamespace(
            send_sms_code=codes.send, register_owner=accounts.register_owner, login=sessions.login,
            refresh=sessions.refresh, logout=sessions.logout, change_password=accounts.change_password,
            reset_password=accounts.reset_password, bootstrap_admin=accounts.bootstrap_admin,
            create_staff=accounts.create_staff, create_site_admin=accounts.create_site_admin,
            owner_by_mobile=accounts.owner_by_mobile, _find=accounts.store.by_username,
            admin=made.admin, store=accounts.store)
    return made


@pytest.fixture
async def identity(clock, phone) -> SimpleNamespace:
    verifier = TokenVerifier(SECRET, issuer=SETTINGS.jwt_issuer, audience=SETTINGS.jwt_audience)
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # argon2 still, at a unit test's cost
    build = getattr(identity_module, "build_identity", None) or identity_module.Identity
    made = build(MemoryDatabase(), verifier, SETTINGS, phone, now=clock, hasher=cheap)
    await made.ensure_indexes()
    return handlers(made)


async def code_for(identity: SimpleNamespace, phone: Phone, clock: Clock, mobile: str = MOBILE,
                   purpose: str = "register") -> str:
    clock.now += timedelta(seconds=SETTINGS.sms_resend_seconds)  # past the resend pause
    await identity.send_sms_code(mobile, purpose)
    return phone.codes[mobile]


async def test_an_owner_registers_with_an_sms_code_used_once_and_expiring(identity, phone, clock):
    code = await code_for(identity, phone, clock)
    clock.now += timedelta(seconds=SETTINGS.sms_code_ttl_seconds + 1)  # the code expires: the clock says so
    with pytest.raises(ValidationFailed) as expired:
        await identity.register_owner(mobile=MOBILE, password=PASSWORD, sms_code=code, name="张三")
    assert (expired.value.code, expired.value.field) == ("sms_code_expired", "sms_code")
    code = await code_for(identity, phone, clock)
    owner = await identity.register_owner(mobile=MOBILE, password=PASSWORD, sms_code=code, name="张三")
    assert owner.role is Role.OWNER and (await identity.owner_by_mobile(MOBILE)).account_id == owner.account_id
    with pytest.raises(ValidationFailed):  # used once
        await identity.register_owner(mobile=MOBILE, password=PASSWORD, sms_code=code, name="张三")
    with pytest.raises(Conflict) as taken:
        await identity.register_owner(mobile=MOBILE, password=PASSWORD, sms_code=await code_for(identity, phone, clock),
                                      name="张三")
    assert taken.value.code == "username_taken"


async def test_sign_in_refresh_rotation_logout_and_password_changes(identity, phone, clock):
    await identity.register_owner(mobile=MOBILE, password=PASSWORD, sms_code=await code_for(identity, phone, clock),
                                  name=None)
    with pytest.raises(Unauthenticated):
        await identity.login(MOBILE, "wrong-password-1")
    tokens = await identity.login(MOBILE, PASSWORD)
    rotated = await identity.refresh(tokens["refresh_token"])
    with pytest.raises(Unauthenticated):  # a refresh token used twice ends its session
        await identity.refresh(tokens["refresh_token"])
    with pytest.raises(Unauthenticated):
        await identity.refresh(rotated["refresh_token"])
    tokens = await identity.login(MOBILE, PASSWORD)
    await identity.logout(tokens["refresh_token"])
    with pytest.raises(Unauthenticated):
        await identity.refresh(tokens["refresh_token"])
    who = (await identity.owner_by_mobile(MOBILE)).principal
    await identity.change_password(who, PASSWORD, "Another-Passw0rd-2")
    await identity.login(MOBILE, "Another-Passw0rd-2")
    reset = await code_for(identity, phone, clock, purpose="reset_password")
    await identity.reset_password(MOBILE, reset, "Third-Passw0rd-3x")
    await identity.login(MOBILE, "Third-Passw0rd-3x")


async def test_administrators_staff_and_site_admins(identity, phone, clock):
    assert await identity.bootstrap_admin("admin", "Admin-Passw0rd-1") is True
    assert await identity.bootstrap_admin("admin", "Admin-Passw0rd-1") is False  # made once
    admin = (await identity._find("admin")).principal
    inspector = await identity.create_staff(admin, username="insp-yuzhong", password="Insp-Passw0rd-1",
                                            role=Role.INSPECTOR, department=Department.HOUSING, district="04",
                                            name="李检查")
    assert inspector.principal.district == "04"
    with pytest.raises(Forbidden):  # an inspector makes no accounts
        await identity.create_staff(inspector.principal, username="x-1", password="Insp-Passw0rd-1",
                                    role=Role.INSPECTOR, department=Department.HOUSING, district="04", name=None)
    site_admin = await identity.create_site_admin(username="S500104001", mobile="13900001111", name="王五",
                                                  password="Site-Passw0rd-1",
                                                  sms_code=await code_for(identity, phone, clock, "13900001111"),
                                                  site_id="S500104001", district="04")
    assert site_admin.principal.site_id == "S500104001"
    with pytest.raises(NotFound):  # a site admin's mobile names no owner (rule C6)
        await identity.owner_by_mobile("13900001111")
