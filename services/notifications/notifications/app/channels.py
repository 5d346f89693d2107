"""Message channels: one interface for SMS and WeChat subscription messages, whatever delivers them.

``NRMM_MESSAGE_CHANNEL`` picks the implementation at start-up:

- ``outbox`` (the default; development and tests): every message is kept in the ``outbox_messages`` collection
  of the notifications database, where an administrator (and an end-to-end test) reads it the way a phone
  would, at ``GET /api/notifications/outbox``. Nothing leaves the platform.
- ``sms`` / ``wechat``: a real provider. Placeholders in this release: a carrier SMS gateway needs an account,
  an approved signature and approved template ids; WeChat subscription messages need the mini-program's
  AppID and AppSecret, an access-token cache and template ids the user subscribed to. Until one is written
  and configured, the service refuses to start with this setting rather than accept messages it cannot deliver.
"""

from __future__ import annotations

from typing import Protocol

import ulid
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.envelope import utcnow

from ..domain.messages import Message

OUTBOX = "outbox_messages"


class MessageChannel(Protocol):
    """Delivers a message; returns the delivery id. Raises on failure so the caller can tell its user."""

    async def send(self, message: Message) -> str: ...


class OutboxChannel:
    def __init__(self, db: AsyncDatabase):
        self._coll = db[OUTBOX]

    async def send(self, message: Message) -> str:
        message_id = str(ulid.ULID())  # time-ordered: newest first is by id
        await self._coll.insert_one({"_id": message_id, **message.model_dump(mode="json"), "sent_at": utcnow()})
        return message_id

    async def read(self, *, to: str | None, channel: str | None, limit: int) -> list[dict]:
        query = {k: v for k, v in (("to", to), ("channel", channel)) if v}
        docs = await self._coll.find(query).sort("_id", DESCENDING).to_list(limit)
        return [{"message_id": d.pop("_id"), **d} for d in docs]


class ChannelNotConfigured(RuntimeError):
    pass


class SmsProviderChannel:
    """Placeholder for a carrier SMS gateway (account, approved signature, approved template per ``template``)."""

    def __init__(self, settings):
        raise ChannelNotConfigured(
            "NRMM_MESSAGE_CHANNEL=sms needs an SMS provider (account, approved signature and templates), which "
            "this release does not include; use NRMM_MESSAGE_CHANNEL=outbox")

    async def send(self, message: Message) -> str:  # pragma: no cover - never constructed
        raise NotImplementedError


class WeChatSubscriptionChannel:
    """Placeholder for WeChat subscription messages (mini-program AppID/AppSecret, subscribed template ids)."""

    def __init__(self, settings):
        raise ChannelNotConfigured(
            "NRMM_MESSAGE_CHANNEL=wechat needs the mini-program's AppID, AppSecret and subscription templates, "
            "which this release does not include; use NRMM_MESSAGE_CHANNEL=outbox")

    async def send(self, message: Message) -> str:  # pragma: no cover - never constructed
        raise NotImplementedError


def make_channel(settings, db: AsyncDatabase) -> MessageChannel:
    kind = settings.message_channel
    if kind == "outbox":
        return OutboxChannel(db)
    if kind == "sms":
        return SmsProviderChannel(settings)
    return WeChatSubscriptionChannel(settings)
