"""SMS verification codes: sent within the limits (sms_limits.py), spent once.

Stored keyed (#14): an HMAC-SHA256 of the code under a server secret (``NRMM_SMS_CODE_SECRET``; by default one
derived from the token secret), so a reader of the database cannot reverse six digits by trying them all.

Concurrency: a code is spent by deleting it (``delete_one`` by ``_id``: of racing right answers one sees
``deleted_count == 1``); tries per code are numbered (numbered.py), so racing wrong answers get no more tries than
the limit."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import ulid
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.envelope import utcnow
from nrmm_kernel.errors import AppError, ValidationFailed
from nrmm_kernel.logging import get_logger

from ..domain import rules
from ..settings import Settings
from .messages import DeliveryUncertain, NotificationsClient
from .numbered import NumberedAttempts
from .sms_limits import SmsSendLimits

log = get_logger("sms_codes")
SMS_CODES, SMS_TRIES, SMS_SENDS = "sms_codes", "sms_code_tries", "sms_sends"  # tries per code; sends per mobile
PURGE_MARGIN = timedelta(hours=1)


def code_key(settings: Settings) -> bytes | None:
    """The server secret SMS codes are keyed with: its own setting, else derived from the token secret (None without
    either: a command line tool that sends no codes)."""
    if settings.sms_code_secret:
        return settings.sms_code_secret.encode()
    if not settings.jwt_secret:
        return None
    return hmac.new(settings.jwt_secret.encode(), b"nrmm sms codes", hashlib.sha256).digest()


def keyed(key: bytes, code_id: str, code: str) -> str:
    """What is hashed and compared in place of the code (rules.hash_code): a reader without the key has nothing to
    try six digits against."""
    return hmac.new(key, f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


class SmsCodeStore:
    """The codes sent (keyed hashes, with their expiry), newest first per mobile and purpose."""

    def __init__(self, db: AsyncDatabase[Any], key: bytes | None):
        self.coll = db[SMS_CODES]
        self._key = key

    @property
    def key(self) -> bytes:
        if self._key is None:
            raise RuntimeError("NRMM_SMS_CODE_SECRET or NRMM_JWT_SECRET must be set")
        return self._key

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("mobile", ASCENDING), ("purpose", ASCENDING)])

    async def add(self, *, code_id: str, mobile: str, purpose: str, code: str, expires_at: datetime,
                  sent_at: datetime) -> None:
        await self.coll.insert_one({"_id": code_id, "mobile": mobile, "purpose": purpose,
                                    "code_hash": rules.hash_code(keyed(self.key, code_id, code), code_id),
                                    "expires_at": expires_at,
                                    "sent_at": sent_at})

    async def newest(self, mobile: str, purpose: str) -> dict[str, Any] | None:
        found = await self.coll.find({"mobile": mobile, "purpose": purpose}).sort("_id", DESCENDING).limit(1) \
            .to_list(1)
        return found[0] if found else None

    async def spend(self, code_id: str) -> bool:
        """True for the one caller whose delete removed it."""
        return (await self.coll.delete_one({"_id": code_id})).deleted_count == 1

    async def purge(self, now: datetime, mobile: str | None = None) -> None:
        await self.coll.delete_many({"expires_at": {"$lt": now}, **({"mobile": mobile} if mobile else {})})


class SmsCodes:
    def __init__(self, db: AsyncDatabase[Any], settings: Settings, notifications: NotificationsClient,
                 now: Callable[[], datetime] = utcnow):
        self.settings = settings
        self.notifications = notifications
        self.now = now
        self.codes = SmsCodeStore(db, code_key(settings))
        self.sends = NumberedAttempts(db[SMS_SENDS], rules.TooManyRequests(
            "请稍后再获取验证码", code="sms_rate_limited", field="mobile", details={"retry_after": 1}))
        self.tries = NumberedAttempts(db[SMS_TRIES])  # per SMS code
        self.limits = SmsSendLimits(self.sends, settings)

    async def ensure_indexes(self) -> None:
        await self.codes.ensure_indexes()
        await self.sends.ensure_indexes()
        await self.tries.ensure_indexes()

    async def send(self, mobile: str, purpose: str, address: str | None = None) -> None:
        """``address``: the client's (believed from X-Forwarded-For only from NRMM_TRUSTED_PROXIES)."""
        now = self.now()
        send = await self.limits.take(mobile, address, now)
        code, code_id = rules.new_sms_code(), str(ulid.ULID())
        await self.codes.purge(now, mobile)  # housekeeping
        await self.codes.add(code_id=code_id, mobile=mobile, purpose=purpose, code=code, sent_at=now,
                             expires_at=now + timedelta(seconds=self.settings.sms_code_ttl_seconds))
        try:
            minutes = max(1, self.settings.sms_code_ttl_seconds // 60)
            await self.notifications.send_sms(mobile, "verification_code", {"code": code, "minutes": minutes})
        except DeliveryUncertain:
            # it may have reached the phone: the code stays usable, and the send counts against the limits
            await self.limits.mark(send, "uncertain")
            raise
        except AppError:
            # a code nobody received is no code, and does not count against the number's limits
            await self.codes.spend(code_id)
            await self.limits.mark(send, "failed")
            raise
        await self.limits.mark(send, "sent")
        log.info("sms_code.sent", purpose=purpose, code_id=code_id)

    async def consume(self, mobile: str, purpose: str, code: str) -> None:
        """The newest code sent for this purpose, used once: a second use, a wrong or an expired code fails."""
        stored = await self.codes.newest(mobile, purpose)
        now, tries = self.now(), 0
        if stored is not None and stored["expires_at"] > now:
            attempt = await self.tries.take(stored["_id"], now, since=stored.get("sent_at", now))
            tries = attempt.n
        given = keyed(self.codes.key, stored["_id"], code) if stored is not None else code
        check = rules.check_sms_code(stored, given, now, tries=tries, max_attempts=self.settings.sms_max_attempts)
        if not check.ok or stored is None:
            error = check.error or "sms_code_invalid"
            raise ValidationFailed(rules.SMS_MESSAGES[error], code=error, field="sms_code")
        if not await self.codes.spend(stored["_id"]):  # of racing right answers, one spends it
            raise ValidationFailed(rules.SMS_MESSAGES["sms_code_invalid"], code="sms_code_invalid", field="sms_code")

    async def purge_expired(self) -> None:
        now = self.now()
        await self.sends.purge(now - timedelta(days=1) - PURGE_MARGIN)
        await self.codes.purge(now)
        await self.tries.purge(now - timedelta(seconds=self.settings.sms_code_ttl_seconds) - PURGE_MARGIN)
