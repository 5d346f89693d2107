"""Accounts, passwords, SMS verification codes and tokens.

Accounts are credentials, kept as state documents in the gateway's database rather than as events: a
password hash, an SMS code or a refresh token must never reach an event topic. Every check that matters
under concurrency rests on a single-document operation (a unique username, a deleted SMS code, a
conditional update of a refresh token), which MongoDB and FerretDB both make atomic.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import ulid
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from nrmm_kernel.auth import Principal, TokenVerifier
from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import AppError, Conflict, NotFound, Unauthenticated, ValidationFailed
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Department, Role

from ..domain import rules
from ..settings import Settings
from .messages import NotificationsClient

log = get_logger("identity")
ACCOUNTS, REFRESH, FAILURES, SMS_CODES, SMS_SENDS = (
    "accounts", "refresh_tokens", "login_failures", "sms_codes", "sms_sends")
SMS_PURPOSES = ("register", "reset_password")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(account: dict) -> Principal:
    return Principal(account_id=account["_id"], role=Role(account["role"]),
                     department=Department(account["department"]) if account.get("department") else None,
                     district=account.get("district"), site_id=account.get("site_id"))


def public(account: dict) -> dict:
    return {"account_id": account["_id"], **{k: account.get(k) for k in (
        "username", "role", "department", "district", "site_id", "name", "mobile", "created_at")}}


class Identity:
    def __init__(self, db: AsyncDatabase, verifier: TokenVerifier, settings: Settings,
                 notifications: NotificationsClient, now=utcnow):
        self.db = db
        self.verifier = verifier
        self.settings = settings
        self.notifications = notifications
        self.now = now
        self.hasher = PasswordHasher()
        self.accounts = db[ACCOUNTS]

    async def ensure_indexes(self) -> None:
        await self.accounts.create_index([("username", ASCENDING)], unique=True)
        await self.db[REFRESH].create_index([("account_id", ASCENDING)])
        await self.db[REFRESH].create_index([("family", ASCENDING)])
        await self.db[FAILURES].create_index([("username", ASCENDING), ("at", ASCENDING)])
        await self.db[SMS_CODES].create_index([("mobile", ASCENDING), ("purpose", ASCENDING)])
        await self.db[SMS_SENDS].create_index([("mobile", ASCENDING), ("at", ASCENDING)])

    # accounts ------------------------------------------------------------------------------------
    async def _create(self, *, username: str, password: str, role: Role, created_by: str | None, **fields) -> dict:
        rules.check_password(password)
        account = {"_id": str(ulid.ULID()), "username": username, "role": role.value,
                   "password_hash": self.hasher.hash(password), "created_at": self.now(), "created_by": created_by,
                   **{k: (v.value if isinstance(v, Department) else v) for k, v in fields.items()}}
        try:
            await self.accounts.insert_one(account)
        except DuplicateKeyError:
            raise Conflict("用户名已被使用 (username taken)", code="username_taken", field="username") from None
        log.info("account.created", account_id=account["_id"], role=role.value, by=created_by)
        return account

    async def register_owner(self, *, mobile: str, password: str, sms_code: str, name: str | None) -> dict:
        rules.check_password(password)  # before the code is spent
        if await self.accounts.find_one({"username": mobile}, projection={"_id": 1}):
            raise Conflict("该手机号已注册 (mobile already registered)", code="username_taken", field="mobile")
        await self.consume_sms_code(mobile, "register", sms_code)
        return await self._create(username=mobile, password=password, role=Role.OWNER, created_by=None,
                                  mobile=mobile, name=name)

    async def create_site_admin(self, *, username: str, mobile: str, name: str | None, password: str, sms_code: str,
                                site_id: str, district: str) -> dict:
        """Made by site registration (rule E1): the SMS code proves the manager holds the mobile."""
        rules.check_password(password)
        if await self.accounts.find_one({"username": username}, projection={"_id": 1}):
            raise Conflict("该场地已有管理员账户 (site already has an admin)", code="username_taken",
                           field="site_code")
        await self.consume_sms_code(mobile, "register", sms_code)
        return await self._create(username=username, password=password, role=Role.SITE_ADMIN, created_by=None,
                                  mobile=mobile, name=name, site_id=site_id, district=district)

    async def create_staff(self, creator: Principal, *, username: str, password: str, role: Role,
                           department: Department | None, district: str | None, name: str | None) -> dict:
        rules.may_create_staff(creator, role, department, district)
        return await self._create(username=rules.check_username(username), password=password, role=role,
                                  created_by=creator.account_id, department=department, district=district, name=name)

    async def bootstrap_admin(self, username: str, password: str) -> bool:
        """The first administrator (city level, ecology); False if the username exists already."""
        if await self.accounts.find_one({"username": username}, projection={"_id": 1}):
            return False
        await self._create(username=rules.check_username(username), password=password, role=Role.ADMIN,
                           created_by="bootstrap", department=Department.ECOLOGY, district=None, name="administrator")
        return True

    async def account(self, account_id: str) -> dict:
        account = await self.accounts.find_one({"_id": account_id})
        if account is None or account.get("disabled"):
            raise Unauthenticated("账户不存在或已停用 (no such account)", code="invalid_token")
        return account

    # SMS codes -----------------------------------------------------------------------------------
    async def send_sms_code(self, mobile: str, purpose: str) -> None:
        now = self.now()
        sent = [d["at"] async for d in self.db[SMS_SENDS].find(
            {"mobile": mobile, "at": {"$gte": now - timedelta(days=1)}}, projection={"at": 1})]
        rules.check_sms_rate(sent, now, resend_seconds=self.settings.sms_resend_seconds,
                             daily_limit=self.settings.sms_daily_limit)
        code, code_id = rules.new_sms_code(), str(ulid.ULID())
        await self.db[SMS_SENDS].insert_one({"mobile": mobile, "at": now})
        await self.db[SMS_CODES].insert_one({
            "_id": code_id, "mobile": mobile, "purpose": purpose, "code_hash": rules.hash_code(code, code_id),
            "expires_at": now + timedelta(seconds=self.settings.sms_code_ttl_seconds), "attempts": 0,
        })
        try:
            minutes = max(1, self.settings.sms_code_ttl_seconds // 60)
            await self.notifications.send_sms(mobile, "verification_code", {"code": code, "minutes": minutes})
        except AppError:
            await self.db[SMS_CODES].delete_one({"_id": code_id})  # a code nobody received is no code
            raise

    async def consume_sms_code(self, mobile: str, purpose: str, code: str) -> None:
        """The newest code sent for this purpose, used once: a second use, a wrong or an expired code fails."""
        stored = await self.db[SMS_CODES].find({"mobile": mobile, "purpose": purpose}).sort("_id", DESCENDING) \
            .limit(1).to_list(1)
        check = rules.check_sms_code(stored[0] if stored else None, code, self.now(),
                                     max_attempts=self.settings.sms_max_attempts)
        if check.spend_attempt:
            await self.db[SMS_CODES].update_one({"_id": stored[0]["_id"]}, {"$inc": {"attempts": 1}})
        if not check.ok:
            raise ValidationFailed(rules.SMS_MESSAGES[check.error], code=check.error, field="sms_code")
        deleted = await self.db[SMS_CODES].delete_one({"_id": stored[0]["_id"]})
        if deleted.deleted_count != 1:  # used by a concurrent request a moment ago
            raise ValidationFailed(rules.SMS_MESSAGES["sms_code_invalid"], code="sms_code_invalid", field="sms_code")

    # login and tokens ----------------------------------------------------------------------------
    async def login(self, username: str, password: str) -> dict:
        now = self.now()
        window = timedelta(seconds=self.settings.login_window_seconds)
        failures = [d["at"] async for d in self.db[FAILURES].find(
            {"username": username, "at": {"$gte": now - window}}, projection={"at": 1})]
        retry_after = rules.login_retry_after(failures, now, max_failures=self.settings.login_max_failures,
                                              window_seconds=self.settings.login_window_seconds)
        if retry_after is not None:
            raise AppError(f"登录失败次数过多，请 {retry_after} 秒后再试", code="too_many_attempts", status=429,
                           field="username", details={"retry_after": retry_after})
        account = await self.accounts.find_one({"username": username})
        if account is None or account.get("disabled") or not self._verify(account, password):
            await self.db[FAILURES].insert_one({"username": username, "at": now})
            raise Unauthenticated("用户名或密码错误 (invalid credentials)", code="invalid_credentials")
        await self.db[FAILURES].delete_many({"username": username})
        return await self._issue(account, family=str(ulid.ULID()))

    def _verify(self, account: dict, password: str) -> bool:
        try:
            self.hasher.verify(account["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return False
        return True

    async def _issue(self, account: dict, *, family: str) -> dict:
        ttl = timedelta(minutes=self.settings.access_token_minutes)
        refresh = secrets.token_urlsafe(32)
        await self.db[REFRESH].insert_one({
            "_id": _token_hash(refresh), "account_id": account["_id"], "family": family, "revoked": False,
            "created_at": self.now(), "expires_at": self.now() + timedelta(days=self.settings.refresh_token_days),
        })
        return {"access_token": self.verifier.mint(principal_of(account), ttl=ttl), "token_type": "bearer",
                "expires_in": int(ttl.total_seconds()), "refresh_token": refresh}

    async def refresh(self, refresh_token: str) -> dict:
        stored = await self.db[REFRESH].find_one({"_id": _token_hash(refresh_token)})
        if stored is None:
            raise Unauthenticated("刷新令牌无效 (invalid refresh token)", code="invalid_refresh_token")
        if stored["revoked"]:
            # a revoked token used again: someone kept a copy; end the whole session
            await self.db[REFRESH].update_many({"family": stored["family"]}, {"$set": {"revoked": True}})
            raise Unauthenticated("刷新令牌已失效，请重新登录 (refresh token revoked)", code="refresh_token_revoked")
        if stored["expires_at"] <= self.now():
            raise Unauthenticated("登录已过期，请重新登录 (refresh token expired)", code="refresh_token_expired")
        rotated = await self.db[REFRESH].update_one({"_id": stored["_id"], "revoked": False},
                                                    {"$set": {"revoked": True, "rotated_at": self.now()}})
        if rotated.modified_count != 1:
            raise Unauthenticated("刷新令牌已失效，请重新登录 (refresh token revoked)", code="refresh_token_revoked")
        return await self._issue(await self.account(stored["account_id"]), family=stored["family"])

    async def logout(self, refresh_token: str) -> None:
        stored = await self.db[REFRESH].find_one({"_id": _token_hash(refresh_token)})
        if stored is not None:
            await self.db[REFRESH].update_many({"family": stored["family"]}, {"$set": {"revoked": True}})

    async def change_password(self, who: Principal, old_password: str, new_password: str) -> None:
        account = await self.account(who.account_id)
        if not self._verify(account, old_password):
            raise ValidationFailed("原密码错误", code="invalid_credentials", field="old_password")
        rules.check_password(new_password, field="new_password")
        await self._set_password(account["_id"], new_password)

    async def reset_password(self, mobile: str, sms_code: str, new_password: str) -> None:
        rules.check_password(new_password, field="new_password")
        account = await self.accounts.find_one({"mobile": mobile, "role": Role.OWNER.value})
        if account is None:
            raise NotFound("该手机号未注册", field="mobile")
        await self.consume_sms_code(mobile, "reset_password", sms_code)
        await self._set_password(account["_id"], new_password)

    async def _set_password(self, account_id: str, password: str) -> None:
        await self.accounts.update_one({"_id": account_id}, {"$set": {
            "password_hash": self.hasher.hash(password), "password_changed_at": self.now()}})
        # every session of the account ends (rule: a changed password revokes refresh tokens)
        await self.db[REFRESH].update_many({"account_id": account_id}, {"$set": {"revoked": True}})


