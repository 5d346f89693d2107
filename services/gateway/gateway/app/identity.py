"""Accounts, passwords, SMS verification codes and tokens.

Accounts are credentials, kept as state documents in the gateway's database rather than as events: a
password hash, an SMS code or a refresh token must never reach an event topic (nor a log line).

Concurrency. FerretDB applies a conditional update (``update_one({_id, revoked: false}, ...)``,
``find_one_and_update`` with ``$inc``) by reading and writing back, so two concurrent callers can both "win";
only an insert under a unique index and a delete by ``_id`` are decided by one database row. Every check that
matters under concurrency therefore rests on one of those two, on MongoDB and FerretDB alike:

- a username is taken by inserting the account (unique index);
- an SMS code is spent by deleting it (``delete_one`` by ``_id``: one caller sees ``deleted_count == 1``);
- login attempts per username and client address (and per address), SMS sends per number and tries per SMS code
  are numbered, a number taken by a unique insert, and each is judged against every attempt below it
  (app/numbered.py): racing requests are served in one order, and no more than the limit is ever let through;
- a refresh token is spent by inserting its hash into ``refresh_spent`` (unique ``_id``); a second use, even a
  concurrent one, finds it there and ends the session;
- a session (a refresh-token family) is ended by inserting its id into ``revoked_families``; a password change
  writes a new ``credential_stamp`` in the account document, and every session opened under the old stamp is
  refused at its next refresh.
"""

from __future__ import annotations

import asyncio
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
from ..domain.accounts import Account
from ..settings import Settings
from .messages import DeliveryUncertain, NotificationsClient
from .numbered import NumberedAttempts
from .sms_limits import SmsSendLimits

log = get_logger("identity")
ACCOUNTS = "accounts"
REFRESH = "refresh_tokens"  # live refresh tokens, by SHA-256 of the token
SPENT = "refresh_spent"  # refresh tokens used once (rotated) or logged out, by the same hash
REVOKED_FAMILIES = "revoked_families"  # ended sessions
LOGIN_ATTEMPTS = "login_attempts"  # numbered per username and client address, and per address (app/numbered.py)
SMS_SENDS = "sms_sends"  # numbered per mobile
# username + client network that signed in, under which password (credential stamp), and when: a new password
# makes the old records count for nothing, so they are left to housekeeping
KNOWN_ADDRESSES = "login_known_addresses"
KNOWN_FOR = timedelta(days=90)
SMS_CODES, SMS_TRIES = "sms_codes", "sms_code_tries"  # tries numbered per code
MAX_USERNAME = 64
PURGE_MARGIN = timedelta(hours=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public(account: Account) -> dict:
    return account.public()


class RefreshRevoked(Unauthenticated):
    code = "refresh_token_revoked"

    def __init__(self):
        super().__init__("刷新令牌已失效，请重新登录 (refresh token revoked)")


class Identity:
    def __init__(self, db: AsyncDatabase, verifier: TokenVerifier, settings: Settings,
                 notifications: NotificationsClient, now=utcnow, hasher: PasswordHasher | None = None):
        self.db = db
        self.verifier = verifier
        self.settings = settings
        self.notifications = notifications
        self.now = now
        self.hasher = hasher or PasswordHasher()
        self.accounts = db[ACCOUNTS]
        self.logins = NumberedAttempts(db[LOGIN_ATTEMPTS])
        self.sends = NumberedAttempts(db[SMS_SENDS], rules.TooManyRequests(
            "请稍后再获取验证码", code="sms_rate_limited", field="mobile", details={"retry_after": 1}))
        self.tries = NumberedAttempts(db[SMS_TRIES])  # per SMS code
        self.send_limits = SmsSendLimits(self.sends, settings)
        self._dummy_hash: str | None = None

    async def ensure_indexes(self) -> None:
        await self.accounts.create_index([("username", ASCENDING)], unique=True)
        await self.accounts.create_index([("mobile", ASCENDING)])
        await self.db[REFRESH].create_index([("family", ASCENDING)])
        await self.db[REFRESH].create_index([("account_id", ASCENDING)])
        await self.logins.ensure_indexes()
        await self.sends.ensure_indexes()
        await self.db[SMS_CODES].create_index([("mobile", ASCENDING), ("purpose", ASCENDING)])
        await self.tries.ensure_indexes()

    # passwords: argon2 is slow on purpose, so it runs off the event loop --------------------------
    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def _verify(self, account: Account | None, password: str) -> bool:
        """Unknown accounts cost the same time as known ones: the answer does not tell which usernames exist."""
        if account is None or account.disabled:
            if self._dummy_hash is None:
                self._dummy_hash = await self._hash(secrets.token_urlsafe(16))
            await asyncio.to_thread(self._check, self._dummy_hash, password)
            return False
        return await asyncio.to_thread(self._check, account.password_hash, password)

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _rehash_if_needed(self, account: Account, password: str) -> None:
        """Hashes made with weaker parameters than today's are replaced at the next successful login."""
        if self.hasher.check_needs_rehash(account.password_hash):
            await self.accounts.update_one({"_id": account.account_id, "password_hash": account.password_hash},
                                           {"$set": {"password_hash": await self._hash(password)}})

    # accounts ------------------------------------------------------------------------------------
    async def _create(self, *, username: str, password: str, role: Role, created_by: str | None,
                      department: Department | None = None, district: str | None = None, site_id: str | None = None,
                      mobile: str | None = None, name: str | None = None) -> Account:
        rules.check_password(password, staff=role in rules.STAFF_ACCOUNT_ROLES, user_inputs=(username, name or ""))
        account = Account(account_id=str(ulid.ULID()), username=username, role=role,
                          password_hash=await self._hash(password), credential_stamp=secrets.token_hex(8),
                          created_at=self.now(), created_by=created_by, department=department, district=district,
                          site_id=site_id, mobile=mobile, name=name)
        try:
            await self.accounts.insert_one(account.to_document())
        except DuplicateKeyError:
            raise Conflict("用户名已被使用 (username taken)", code="username_taken", field="username") from None
        log.info("account.created", account_id=account.account_id, role=role.value, by=created_by)
        return account

    async def _find(self, **query) -> Account | None:
        doc = await self.accounts.find_one(query)
        return Account.from_document(doc) if doc else None

    async def register_owner(self, *, mobile: str, password: str, sms_code: str, name: str | None) -> Account:
        rules.check_password(password)  # before the code is spent
        # the code first: whether a number has an account is told only to whoever holds that phone
        await self.consume_sms_code(mobile, "register", sms_code)
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
        await self.consume_sms_code(mobile, "register", sms_code)
        existing = await self._find(username=username)
        if existing is not None:
            if existing.role is not Role.SITE_ADMIN or existing.site_id != site_id or existing.mobile != mobile:
                raise Conflict("该场地已有管理员账户 (site already has an admin)", code="username_taken",
                               field="site_code")
            await self._set_password(existing.account_id, password)
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

    async def bootstrap_admin(self, username: str, password: str) -> bool:
        """The first administrator (city level, ecology); False if the username exists already. Idempotent:
        several gateway processes starting at once make one account (the unique index decides)."""
        if await self.accounts.find_one({"username": username}, projection={"_id": 1}):
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
        account = await self._find(username=mobile, role=Role.OWNER.value)
        if account is None or account.disabled:
            raise NotFound("该手机号未注册车主账户 (no owner account with this mobile)", code="owner_not_found",
                           field="mobile")
        return account

    async def account(self, account_id: str) -> Account:
        account = await self._find(_id=account_id)
        if account is None or account.disabled:
            raise Unauthenticated("账户不存在或已停用 (no such account)", code="invalid_token")
        return account

    # SMS codes -----------------------------------------------------------------------------------
    async def send_sms_code(self, mobile: str, purpose: str, address: str | None = None) -> None:
        """``address``: the client's (believed from X-Forwarded-For only from NRMM_TRUSTED_PROXIES)."""
        now = self.now()
        send = await self.send_limits.take(mobile, address, now)
        code, code_id = rules.new_sms_code(), str(ulid.ULID())
        await self.db[SMS_CODES].delete_many({"mobile": mobile, "expires_at": {"$lt": now}})  # housekeeping
        await self.db[SMS_CODES].insert_one({
            "_id": code_id, "mobile": mobile, "purpose": purpose, "code_hash": rules.hash_code(code, code_id),
            "expires_at": now + timedelta(seconds=self.settings.sms_code_ttl_seconds), "sent_at": now,
        })
        try:
            minutes = max(1, self.settings.sms_code_ttl_seconds // 60)
            await self.notifications.send_sms(mobile, "verification_code", {"code": code, "minutes": minutes})
        except DeliveryUncertain:
            # it may have reached the phone: the code stays usable, and the send counts against the limits
            await self.send_limits.mark(send, "uncertain")
            raise
        except AppError:
            # a code nobody received is no code, and does not count against the number's limits
            await self.db[SMS_CODES].delete_one({"_id": code_id})
            await self.send_limits.mark(send, "failed")
            raise
        await self.send_limits.mark(send, "sent")
        log.info("sms_code.sent", purpose=purpose, code_id=code_id)

    async def consume_sms_code(self, mobile: str, purpose: str, code: str) -> None:
        """The newest code sent for this purpose, used once: a second use, a wrong or an expired code fails."""
        codes = self.db[SMS_CODES]
        newest = await codes.find({"mobile": mobile, "purpose": purpose}).sort("_id", DESCENDING).limit(1).to_list(1)
        stored = newest[0] if newest else None
        now, tries = self.now(), 0
        if stored is not None and stored["expires_at"] > now:
            attempt = await self.tries.take(stored["_id"], now, since=stored.get("sent_at", now))
            tries = attempt.n
        check = rules.check_sms_code(stored, code, now, tries=tries, max_attempts=self.settings.sms_max_attempts)
        if not check.ok:
            raise ValidationFailed(rules.SMS_MESSAGES[check.error], code=check.error, field="sms_code")
        # spent by deleting it: of racing right answers, one sees deleted_count == 1
        deleted = await codes.delete_one({"_id": stored["_id"]})
        if deleted.deleted_count != 1:
            raise ValidationFailed(rules.SMS_MESSAGES["sms_code_invalid"], code="sms_code_invalid", field="sms_code")

    # login and tokens ----------------------------------------------------------------------------
    async def login(self, username: str, password: str, address: str | None = None) -> dict:
        """``address``: the client's (taken from X-Forwarded-For only when a proxy of NRMM_TRUSTED_PROXIES sent it)."""
        if len(username) > MAX_USERNAME or not username.isprintable():  # nobody has such a name; not worth a record
            raise Unauthenticated("用户名或密码错误 (invalid credentials)", code="invalid_credentials")
        now = self.now()
        window = timedelta(seconds=self.settings.login_window_seconds)
        address = rules.client_network(address)
        known_id = _token_hash(f"{address}|{username}")
        account = await self._find(username=username)
        # known only under the account's current password: a sign-in with the old one counts for nothing
        known = account is not None and await self.db[KNOWN_ADDRESSES].find_one(
            {"_id": known_id, "at": {"$gte": now - KNOWN_FOR}, "stamp": account.credential_stamp},
            projection={"_id": 1}) is not None
        limits = [
            # the address first: it holds no "|", so no username makes another key's twin
            (f"login:{address}|{username}", rules.login_failures_that_count, self.settings.login_max_failures),
            (f"address:{address}", rules.address_failures_that_count, self.settings.login_max_failures_per_address),
        ]
        if not known:
            # from everywhere together: a higher limit, which only guessing from many addresses reaches; an
            # address this account signed in from before is spared it, so that guessing cannot lock its holder out
            limits.append((f"username:{username}", rules.login_failures_that_count,
                           self.settings.login_max_failures_per_username))
        attempts = []
        for key, counted, limit in limits:
            attempt = await self.logins.take(key, now, since=now - window)
            attempts.append(attempt)
            retry_after = rules.login_retry_after(counted(attempt.earlier), now, max_failures=limit,
                                                  window_seconds=self.settings.login_window_seconds)
            if retry_after is not None:
                for taken in attempts:  # a refused attempt is no failure: it does not prolong the wait
                    await self.logins.mark(taken, "refused")
                raise AppError(f"登录失败次数过多，请 {retry_after} 秒后再试", code="too_many_attempts", status=429,
                               field="username", details={"retry_after": retry_after})
        if not await self._verify(account, password):
            for attempt in attempts:
                await self.logins.mark(attempt, "failed")
            log.info("login.failed", account_id=account.account_id if account else None, address=address)
            raise Unauthenticated("用户名或密码错误 (invalid credentials)", code="invalid_credentials")
        for attempt in attempts:
            await self.logins.mark(attempt, "succeeded")
        await self.db[KNOWN_ADDRESSES].replace_one(
            {"_id": known_id}, {"stamp": account.credential_stamp, "at": now}, upsert=True)
        await self._rehash_if_needed(account, password)
        return await self._issue(account, family=str(ulid.ULID()), stamp=account.credential_stamp)

    async def _issue(self, account: Account, *, family: str, stamp: str) -> dict:
        ttl = timedelta(minutes=self.settings.access_token_minutes)
        refresh = secrets.token_urlsafe(32)
        now = self.now()
        await self.db[REFRESH].insert_one({
            "_id": _token_hash(refresh), "account_id": account.account_id, "family": family, "stamp": stamp,
            "created_at": now, "expires_at": now + timedelta(days=self.settings.refresh_token_days),
        })
        return {"access_token": self.verifier.mint(account.principal, ttl=ttl), "token_type": "bearer",
                "expires_in": int(ttl.total_seconds()), "refresh_token": refresh}

    async def refresh(self, refresh_token: str) -> dict:
        token_hash = _token_hash(refresh_token)
        live = await self.db[REFRESH].find_one({"_id": token_hash})
        if live is None:
            spent = await self.db[SPENT].find_one({"_id": token_hash})
            if spent is None:
                raise Unauthenticated("刷新令牌无效 (invalid refresh token)", code="invalid_refresh_token")
            # a spent token presented again: someone kept a copy; end the whole session
            await self._end_session(spent["family"], reason="reuse", account_id=spent["account_id"])
            raise RefreshRevoked()
        if await self.db[REVOKED_FAMILIES].find_one({"_id": live["family"]}, projection={"_id": 1}):
            raise RefreshRevoked()
        if live["expires_at"] <= self.now():
            await self.db[REFRESH].delete_one({"_id": token_hash})
            raise Unauthenticated("登录已过期，请重新登录 (refresh token expired)", code="refresh_token_expired")
        account = await self._find(_id=live["account_id"])
        if account is None or account.disabled or account.credential_stamp != live.get("stamp"):
            # the password changed since this session began (or the account is gone)
            await self._end_session(live["family"], reason="credentials_changed", account_id=live["account_id"])
            raise RefreshRevoked()
        try:  # spend it: one insert decides between concurrent uses
            await self.db[SPENT].insert_one({"_id": token_hash, "account_id": live["account_id"],
                                             "family": live["family"], "spent_at": self.now(),
                                             "expires_at": live["expires_at"]})
        except DuplicateKeyError:
            await self._end_session(live["family"], reason="reuse", account_id=live["account_id"])
            raise RefreshRevoked() from None
        await self.db[REFRESH].delete_one({"_id": token_hash})
        return await self._issue(account, family=live["family"], stamp=live["stamp"])

    async def _end_session(self, family: str, *, reason: str, account_id: str | None = None) -> None:
        try:
            # kept while a token of the family could still be alive, then purged
            await self.db[REVOKED_FAMILIES].insert_one({
                "_id": family, "at": self.now(), "reason": reason,
                "expires_at": self.now() + timedelta(days=self.settings.refresh_token_days)})
            log.info("session.ended", account_id=account_id, family=family, reason=reason)
        except DuplicateKeyError:
            pass  # ended already
        # the family's tokens stay until they expire, so that each is answered "revoked" rather than "unknown"

    async def logout(self, refresh_token: str) -> None:
        token_hash = _token_hash(refresh_token)
        stored = await self.db[REFRESH].find_one({"_id": token_hash}) or \
            await self.db[SPENT].find_one({"_id": token_hash})
        if stored is not None:
            await self._end_session(stored["family"], reason="logout", account_id=stored["account_id"])

    async def change_password(self, who: Principal, old_password: str, new_password: str) -> None:
        account = await self.account(who.account_id)
        if not await self._verify(account, old_password):
            raise ValidationFailed("原密码错误", code="invalid_credentials", field="old_password")
        rules.check_password(new_password, field="new_password", staff=account.role in rules.STAFF_ACCOUNT_ROLES,
                             user_inputs=(account.username,))
        await self._set_password(account.account_id, new_password)

    async def reset_password(self, mobile: str, sms_code: str, new_password: str) -> None:
        rules.check_password(new_password, field="new_password")
        # the code first: only the holder of the phone learns whether the number has an account
        await self.consume_sms_code(mobile, "reset_password", sms_code)
        account = await self._find(username=mobile, role=Role.OWNER.value)
        if account is None:
            raise NotFound("该手机号未注册", code="account_not_found", field="mobile")
        await self._set_password(account.account_id, new_password)

    async def _set_password(self, account_id: str, password: str) -> None:
        """One document write: the new hash and a new stamp, which ends every session opened before (their
        refresh tokens are refused from now on: see ``refresh``)."""
        await self.accounts.update_one({"_id": account_id}, {"$set": {
            "password_hash": await self._hash(password), "credential_stamp": secrets.token_hex(8),
            "password_changed_at": self.now()}})
        log.info("account.password_changed", account_id=account_id)

    # housekeeping --------------------------------------------------------------------------------
    async def purge_expired(self) -> None:
        """Records that no longer decide anything (FerretDB has no TTL indexes, so this runs periodically)."""
        now = self.now()
        await self.logins.purge(now - timedelta(seconds=self.settings.login_window_seconds) - PURGE_MARGIN)
        await self.sends.purge(now - timedelta(days=1) - PURGE_MARGIN)
        await self.db[SMS_CODES].delete_many({"expires_at": {"$lt": now}})
        await self.tries.purge(now - timedelta(seconds=self.settings.sms_code_ttl_seconds) - PURGE_MARGIN)
        await self.db[REFRESH].delete_many({"expires_at": {"$lt": now}})
        await self.db[SPENT].delete_many({"expires_at": {"$lt": now}})
        await self.db[REVOKED_FAMILIES].delete_many({"expires_at": {"$lt": now}})
        await self.db[KNOWN_ADDRESSES].delete_many({"at": {"$lt": now - KNOWN_FOR}})
