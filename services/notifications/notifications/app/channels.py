"""Message channels: one interface for every way a message leaves the platform.

``NRMM_MESSAGE_CHANNEL`` picks what carries outside messages:

- ``outbox`` (the default; development and tests): every message is kept in the ``outbox_messages`` collection,
  where the city-level ecology administrator (and an end-to-end test) reads it the way a phone would, at
  ``GET /api/notifications/outbox``. Nothing leaves the platform.
- ``sms`` / ``wechat``: real providers (app/providers.py): SMS through Alibaba Cloud's SMS API, WeChat subscription
  messages through ``wechatpy``. The named one must be configured (the service refuses to start otherwise); the
  other is used when configured, and a message for a channel without a provider is a dead letter.

A channel's ``send(message, dedup_key)`` returns the provider's id or raises ``DeliveryFailed`` (an error code the
provider answered, or a refusal that retrying cannot mend) or any other exception (retried).
"""

from __future__ import annotations

from typing import Protocol

import ulid
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.claims import claim
from nrmm_kernel.envelope import utcnow

from ..domain.messages import ChannelKind, Message

OUTBOX = "outbox_messages"


class DeliveryFailed(Exception):
    """The provider refused the message. ``permanent``: sending it again cannot succeed (a dead letter now)."""

    def __init__(self, code: str, message: str, *, permanent: bool = False):
        super().__init__(f"{code}: {message}")
        self.code, self.permanent = code, permanent


class MessageChannel(Protocol):
    async def send(self, message: Message, dedup_key: str) -> str: ...


class OutboxChannel:
    """Development: keeps each message once per deduplication key."""

    def __init__(self, db: AsyncDatabase):
        self._coll = db[OUTBOX]

    async def ensure_indexes(self) -> None:
        await self._coll.create_index([("to", 1), ("seq", -1)])  # a phone's messages, newest first (read)

    async def send(self, message: Message, dedup_key: str) -> str:
        # delivered before (at-least-once): kept once
        await claim(self._coll, {"_id": dedup_key, "seq": str(ulid.ULID()), **message.model_dump(mode="json"),
                                 "sent_at": utcnow()})
        return dedup_key

    async def read(self, *, to: str | None, channel: str | None, limit: int, template: str | None = None) -> list[dict]:
        query = {k: v for k, v in (("to", to), ("channel", channel), ("template", template)) if v}
        docs = await self._coll.find(query).sort("seq", DESCENDING).to_list(limit)
        return [{"message_id": d.pop("_id"), **{k: v for k, v in d.items() if k != "seq"}} for d in docs]


class NoProvider:
    def __init__(self, kind: str):
        self.kind = kind

    async def send(self, message: Message, dedup_key: str) -> str:
        raise DeliveryFailed("channel_not_configured", f"no {self.kind} provider is configured", permanent=True)


class ChannelNotConfigured(RuntimeError):
    pass


class Channels:
    """The channel for each kind of message (SMS, WeChat)."""

    def __init__(self, by_kind: dict[ChannelKind, MessageChannel], outbox: OutboxChannel | None):
        self.by_kind, self.outbox = by_kind, outbox

    def for_kind(self, kind: ChannelKind) -> MessageChannel:
        return self.by_kind[kind]


def make_channels(settings, db: AsyncDatabase) -> Channels:
    from .providers import AliyunSms, WeChatSubscriptions

    if settings.message_channel == "outbox":
        outbox = OutboxChannel(db)
        return Channels({ChannelKind.SMS: outbox, ChannelKind.WECHAT: outbox}, outbox)
    if settings.message_channel == "sms" and not settings.sms_configured:
        raise ChannelNotConfigured("NRMM_MESSAGE_CHANNEL=sms needs NRMM_SMS_ACCESS_KEY_ID, NRMM_SMS_ACCESS_KEY_SECRET "
                                   "and NRMM_SMS_SIGN_NAME (the provider's account and approved signature)")
    if settings.message_channel == "wechat" and not settings.wechat_configured:
        raise ChannelNotConfigured("NRMM_MESSAGE_CHANNEL=wechat needs NRMM_WECHAT_APPID and NRMM_WECHAT_SECRET")
    sms = AliyunSms(settings) if settings.sms_configured else NoProvider("sms")
    wechat = WeChatSubscriptions(settings, db) if settings.wechat_configured else NoProvider("wechat")
    return Channels({ChannelKind.SMS: sms, ChannelKind.WECHAT: wechat}, None)
