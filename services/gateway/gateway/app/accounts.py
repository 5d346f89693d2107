"""Accounts: owners (by SMS code), site admins (made by site registration), staff (by an administrator), the
first administrator; passwords changed and reset.

Accounts are event streams (domain/events.py): who made whom what, and when, is kept. A password hash never reaches
an event (nor a log line): credentials stay beside the stream (account_store.py). A username is taken by inserting
its login key under a unique index (``nrmm_kernel.claims``); a password change writes a new ``credential_stamp``,
which ends every session opened under the old one (sessions.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import ulid

from nrmm_kernel.auth import Principal
from nrmm_kernel.envelope import Actor, utcnow
from nrmm_kernel.errors import ConcurrencyError, Conflict, NotFound, Unauthenticated, ValidationFailed
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Department, Role

from ..domain import rules
from ..domain.account_stream import AccountStream
from ..domain.accounts import Account
from ..domain.events import AccountRegistered
from .account_store import AccountStore
from .passwords import Passwords
from .sms_codes import SmsCodes

log = get_logger("accounts")
BOOTSTRAP = Actor(account_id="bootstrap", role="system")
RETRIES = 5  # a command meeting a concurrent change of the same account decides again on the newer state


async def change(store: AccountStore, account_id: str, actor: Actor | None,
                 decide: Callable[[AccountStream], Awaitable[None] | None]) -> AccountStream:
    """Load the account's stream, let ``decide`` record its events, append them with the expected version."""
    for attempt in range(RETRIES):
        stream = await store.stream(account_id)
        if stream is None:
            raise NotFound("账户不存在 (no such account)", code="account_not_found", field="account_id")
        pending = decide(stream)
        if pending is not None:
            await pending
        try:
            await store.save(stream, actor)
            return stream
        except ConcurrencyError:
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


class Accounts:
    def __init__(self, store: AccountStore, passwords: Passwords, sms_codes: SmsCodes,
                 now: Callable[[], datetime] = utcnow):
        self.store = store
        self.passwords = passwords
        self.sms_codes = sms_codes
        self.now = now

    async def _create(self, *, username: str, password: str, role: Role, actor: Actor | None, created_by: str | None,
                      department: Department | None = None, district: str | None = None, site_id: str | None = None,
                      mobile: str | None = None, name: str | None = None) -> Account:
        rules.check_password(password, staff=role in rules.STAFF_ACCOUNT_ROLES, user_inputs=(username, name or ""))
        account_id = str(ulid.ULID())
        password_hash = await self.passwords.hash(password)
        if not await self.store.claim_username(username, account_id):
            raise Conflict("用户名已被使用 (username taken)", code="username_taken", field="username")
        await self.store.set_credentials(account_id, password_hash)
        # personal values are born sealed under the account's own key (issue #14); an owner's username is the mobile
        stream = AccountStream.create(account_id, AccountRegistered(
            username=(await self.store.seal(account_id, username) or "") if role is Role.OWNER else username,
            role=role.value, department=department.value if department else None, district=district,
            mobile=await self.store.seal(account_id, mobile), name=await self.store.seal(account_id, name),
            created_by=created_by))
        if site_id is not None and district is not None:
            stream.bind_to_site(site_id, district)
        envelopes = await self.store.save(stream, actor or Actor(account_id=account_id, role=role.value))
        log.info("account.created", account_id=account_id, role=role.value, by=created_by)
        return Account(account_id=account_id, username=username, role=role, password_hash=password_hash,
                       credential_stamp="", created_at=envelopes[0].time, created_by=created_by,
                       department=department, district=district, site_id=site_id, mobile=mobile, name=name)

    async def register_owner(self, *, mobile: str, password: str, sms_code: str, name: str | None) -> Account:
        rules.check_password(password)  # before the code is spent
        # the code first: whether a number has an account is told only to whoever holds that phone
        await self.sms_codes.consume(mobile, "register", sms_code)
        try:
            return await self._create(username=mobile, password=password, role=Role.OWNER, actor=None,
                                      created_by=None, mobile=mobile, name=name)
        except Conflict:
            raise Conflict("该手机号已注册 (mobile already registered)", code="username_taken", field="mobile") \
                from None

    async def create_site_admin(self, *, username: str, mobile: str, name: str | None, password: str, sms_code: str,
                                site_id: str, district: str, actor: Actor | None = None) -> Account:
        """Made by site registration (rule E1): the SMS code proves the manager holds the mobile.

        The sites service asks only for a site it has not registered. An account already there for the same site
        and mobile is what a registration left when the site's own record failed after the account was made: the
        manager's phone takes it up again with the new password, so that a retry completes the registration."""
        rules.check_password(password)
        await self.sms_codes.consume(mobile, "register", sms_code)
        existing = await self.store.by_username(username)
        if existing is not None:
            if existing.role is not Role.SITE_ADMIN or existing.site_id != site_id or existing.mobile != mobile:
                raise Conflict("该场地已有管理员账户 (site already has an admin)", code="username_taken",
                               field="site_code")
            await self.set_password(existing.account_id, password, reason="site_registration",
                                    actor=existing.principal.as_actor())
            log.info("account.site_admin_taken_up", account_id=existing.account_id, site_id=site_id)
            return existing
        return await self._create(username=username, password=password, role=Role.SITE_ADMIN, actor=actor,
                                  created_by=None, mobile=mobile, name=name, site_id=site_id, district=district)

    async def create_staff(self, creator: Principal, *, username: str, password: str, role: Role,
                           department: Department | None, district: str | None, name: str | None,
                           site_id: str | None = None) -> Account:
        rules.may_create_staff(creator, role, department, district, site_id)
        return await self._create(username=rules.check_username(username), password=password, role=role,
                                  actor=creator.as_actor(), created_by=creator.account_id, department=department,
                                  district=district, name=name, site_id=site_id)

    async def create_supervision_engineer(self, *, username: str, password: str, name: str | None, site_id: str,
                                          district: str, created_by: str) -> Account:
        """Rule E6, asked by the sites service once it has judged that the administrator ``created_by`` governs the
        site: a supervision company's engineer, of no department, bound to the site and its district."""
        return await self._create(username=rules.check_username(username), password=password,
                                  role=Role.SUPERVISION_ENGINEER, actor=Actor(account_id=created_by, role="admin"),
                                  created_by=created_by, department=None, district=district, name=name,
                                  site_id=site_id)

    async def bootstrap_admin(self, username: str, password: str) -> bool:
        """The first administrator (city level, ecology); False if the username exists already. Idempotent:
        several gateway processes starting at once make one account (the unique index decides)."""
        if await self.store.exists(username):
            return False
        try:
            await self._create(username=rules.check_username(username), password=password, role=Role.ADMIN,
                               actor=BOOTSTRAP, created_by="bootstrap", department=Department.ECOLOGY, district=None,
                               name="administrator")
        except Conflict:
            return False
        return True

    async def owner_by_mobile(self, mobile: str) -> Account:
        """The owner account registered with this mobile (its username). Staff, site admins, disabled and unknown
        accounts are all "no owner": the registry hands machines over to owners only (rule C6)."""
        account = await self.store.by_username(mobile)
        if account is None or account.disabled or account.role is not Role.OWNER:
            raise NotFound("该手机号未注册车主账户 (no owner account with this mobile)", code="owner_not_found",
                           field="mobile")
        return account

    async def account(self, account_id: str) -> Account:
        account = await self.store.load(account_id)
        if account is None or account.disabled:
            raise Unauthenticated("账户不存在或已停用 (no such account)", code="invalid_token")
        return account

    async def change_password(self, who: Principal, old_password: str, new_password: str) -> None:
        account = await self.account(who.account_id)
        if not await self.passwords.verify(account, old_password):
            raise ValidationFailed("原密码错误", code="invalid_credentials", field="old_password")
        rules.check_password(new_password, field="new_password", staff=account.role in rules.STAFF_ACCOUNT_ROLES,
                             user_inputs=(account.username,))
        await self.set_password(account.account_id, new_password, reason="changed", actor=who.as_actor())

    async def reset_password(self, mobile: str, sms_code: str, new_password: str) -> None:
        rules.check_password(new_password, field="new_password")
        # the code first: only the holder of the phone learns whether the number has an account
        await self.sms_codes.consume(mobile, "reset_password", sms_code)
        account = await self.store.by_username(mobile)
        if account is None or account.role is not Role.OWNER:
            raise NotFound("该手机号未注册", code="account_not_found", field="mobile")
        await self.set_password(account.account_id, new_password, reason="reset",
                                actor=account.principal.as_actor())

    async def set_password(self, account_id: str, password: str, *, reason: str, actor: Actor) -> None:
        """The new hash and a new stamp, which ends every session opened before (their refresh tokens are refused
        from now on: see ``Sessions.refresh``); then the fact, without the hash."""
        await self.store.set_credentials(account_id, await self.passwords.hash(password))
        await change(self.store, account_id, actor, lambda stream: stream.password_changed(reason))
        log.info("account.password_changed", account_id=account_id)
