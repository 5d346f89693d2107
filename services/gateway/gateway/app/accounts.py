"""Accounts: owners (by SMS code), site admins (made by site registration), staff (by an administrator), the
first administrator; passwords changed and reset.

Accounts are credentials, kept as state documents in the gateway's database rather than as events: a password
hash must never reach an event topic (nor a log line). A username is taken by inserting the account under a unique
index (``nrmm_kernel.claims``); a password change writes a new ``credential_stamp``, which ends every session
opened under the old one (sessions.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

import ulid
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.auth import Principal
from nrmm_kernel.claims import claim
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Department, Role

from ..domain import rules
from ..domain.accounts import Account
from .passwords import Passwords
from .sms_codes import SmsCodes

log = get_logger("accounts")
ACCOUNTS = "accounts"


class AccountStore:
    def __init__(self, db: AsyncDatabase[Any]):
        self.coll = db[ACCOUNTS]

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("username", ASCENDING)], unique=True)
        await self.coll.create_index([("mobile", ASCENDING)])

    async def add(self, account: Account) -> bool:
        """False when the username is taken (the unique index decides between racing registrations)."""
        return await claim(self.coll, account.to_document())

    async def find(self, **query: Any) -> Account | None:
        doc = await self.coll.find_one(query)
        return Account.from_document(doc) if doc else None

    async def exists(self, username: str) -> bool:
        return await self.coll.find_one({"username": username}, projection={"_id": 1}) is not None

    async def set_password(self, account_id: str, password_hash: str, at: datetime) -> None:
        """One document write: the new hash and a new stamp (every session opened before ends)."""
        await self.coll.update_one({"_id": account_id}, {"$set": {
            "password_hash": password_hash, "credential_stamp": secrets.token_hex(8), "password_changed_at": at}})

    async def rehash(self, account: Account, password_hash: str) -> None:
        """A stronger hash of the same password: the stamp stays, and so do the sessions."""
        await self.coll.update_one({"_id": account.account_id, "password_hash": account.password_hash},
                                   {"$set": {"password_hash": password_hash}})


class Accounts:
    def __init__(self, store: AccountStore, passwords: Passwords, sms_codes: SmsCodes,
                 now: Callable[[], datetime] = utcnow):
        self.store = store
        self.passwords = passwords
        self.sms_codes = sms_codes
        self.now = now

    async def _create(self, *, username: str, password: str, role: Role, created_by: str | None,
                      department: Department | None = None, district: str | None = None, site_id: str | None = None,
                      mobile: str | None = None, name: str | None = None) -> Account:
        rules.check_password(password, staff=role in rules.STAFF_ACCOUNT_ROLES, user_inputs=(username, name or ""))
        account = Account(account_id=str(ulid.ULID()), username=username, role=role,
                          password_hash=await self.passwords.hash(password), credential_stamp=secrets.token_hex(8),
                          created_at=self.now(), created_by=created_by, department=department, district=district,
                          site_id=site_id, mobile=mobile, name=name)
        if not await self.store.add(account):
            raise Conflict("用户名已被使用 (username taken)", code="username_taken", field="username")
        log.info("account.created", account_id=account.account_id, role=role.value, by=created_by)
        return account

    async def register_owner(self, *, mobile: str, password: str, sms_code: str, name: str | None) -> Account:
        rules.check_password(password)  # before the code is spent
        # the code first: whether a number has an account is told only to whoever holds that phone
        await self.sms_codes.consume(mobile, "register", sms_code)
        try:
            return await self._create(username=mobile, password=password, role=Role.OWNER, created_by=None,
                                      mobile=mobile, name=name)
        except Conflict:
            raise Conflict("该手机号已注册 (mobile already registered)", code="username_taken", field="mobile") \
                from None

    async def create_site_admin(self, *, username: str, mobile: str, name: str | None, password: str, sms_code: str,
                                site_id: str, district: str) -> Account:
        """Made by site registration (rule E1): the SMS code proves the manager holds the mobile.

        The sites service asks only for a site it has not registered. An account already there for the same site
        and mobile is what a registration left when the site's own record failed after the account was made: the
        manager's phone takes it up again with the new password, so that a retry completes the registration."""
        rules.check_password(password)
        await self.sms_codes.consume(mobile, "register", sms_code)
        existing = await self.store.find(username=username)
        if existing is not None:
            if existing.role is not Role.SITE_ADMIN or existing.site_id != site_id or existing.mobile != mobile:
                raise Conflict("该场地已有管理员账户 (site already has an admin)", code="username_taken",
                               field="site_code")
            await self.set_password(existing.account_id, password)
            log.info("account.site_admin_taken_up", account_id=existing.account_id, site_id=site_id)
            return existing
        return await self._create(username=username, password=password, role=Role.SITE_ADMIN, created_by=None,
                                  mobile=mobile, name=name, site_id=site_id, district=district)

    async def create_staff(self, creator: Principal, *, username: str, password: str, role: Role,
                           department: Department | None, district: str | None, name: str | None,
                           site_id: str | None = None) -> Account:
        rules.may_create_staff(creator, role, department, district, site_id)
        return await self._create(username=rules.check_username(username), password=password, role=role,
                                  created_by=creator.account_id, department=department, district=district, name=name,
                                  site_id=site_id)

    async def create_supervision_engineer(self, *, username: str, password: str, name: str | None, site_id: str,
                                          district: str, created_by: str) -> Account:
        """Rule E6, asked by the sites service once it has judged that the administrator ``created_by`` governs the
        site: a supervision company's engineer, of no department, bound to the site and its district."""
        return await self._create(username=rules.check_username(username), password=password,
                                  role=Role.SUPERVISION_ENGINEER, created_by=created_by, department=None,
                                  district=district, name=name, site_id=site_id)

    async def bootstrap_admin(self, username: str, password: str) -> bool:
        """The first administrator (city level, ecology); False if the username exists already. Idempotent:
        several gateway processes starting at once make one account (the unique index decides)."""
        if await self.store.exists(username):
            return False
        try:
            await self._create(username=rules.check_username(username), password=password, role=Role.ADMIN,
                               created_by="bootstrap", department=Department.ECOLOGY, district=None,
                               name="administrator")
        except Conflict:
            return False
        return True

    async def owner_by_mobile(self, mobile: str) -> Account:
        """The owner account registered with this mobile (its username). Staff, site admins, disabled and unknown
        accounts are all "no owner": the registry hands machines over to owners only (rule C6)."""
        account = await self.store.find(username=mobile, role=Role.OWNER.value)
        if account is None or account.disabled:
            raise NotFound("该手机号未注册车主账户 (no owner account with this mobile)", code="owner_not_found",
                           field="mobile")
        return account

    async def account(self, account_id: str) -> Account:
        account = await self.store.find(_id=account_id)
        if account is None or account.disabled:
            raise Unauthenticated("账户不存在或已停用 (no such account)", code="invalid_token")
        return account

    async def change_password(self, who: Principal, old_password: str, new_password: str) -> None:
        account = await self.account(who.account_id)
        if not await self.passwords.verify(account, old_password):
            raise ValidationFailed("原密码错误", code="invalid_credentials", field="old_password")
        rules.check_password(new_password, field="new_password", staff=account.role in rules.STAFF_ACCOUNT_ROLES,
                             user_inputs=(account.username,))
        await self.set_password(account.account_id, new_password)

    async def reset_password(self, mobile: str, sms_code: str, new_password: str) -> None:
        rules.check_password(new_password, field="new_password")
        # the code first: only the holder of the phone learns whether the number has an account
        await self.sms_codes.consume(mobile, "reset_password", sms_code)
        account = await self.store.find(username=mobile, role=Role.OWNER.value)
        if account is None:
            raise NotFound("该手机号未注册", code="account_not_found", field="mobile")
        await self.set_password(account.account_id, new_password)

    async def set_password(self, account_id: str, password: str) -> None:
        """The new hash and a new stamp, which ends every session opened before (their refresh tokens are refused
        from now on: see ``Sessions.refresh``)."""
        await self.store.set_password(account_id, await self.passwords.hash(password), self.now())
        log.info("account.password_changed", account_id=account_id)
