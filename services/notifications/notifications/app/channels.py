"""Message channels. The outbox keeps messages in the database where an administrator (and an end-to-end
test) reads them the way a phone would; real SMS and WeChat providers plug in behind the same interface."""

from __future__ import annotations

import ulid
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.envelope import utcnow

from ..domain.messages import Message, MessageChannel

OUTBOX = "outbox_messages"


class OutboxChannel:
    def __init__(self, db: AsyncDatabase):
        self._coll = db[OUTBOX]

    async def send(self, message: Message) -> str:
        message_id = str(ulid.ULID())
        await self._coll.insert_one({"_id": message_id, **message.model_dump(mode="json"), "sent_at": utcnow()})
        return message_id

    async def read(self, *, to: str | None, channel: str | None, limit: int) -> list[dict]:
        query = {k: v for k, v in (("to", to), ("channel", channel)) if v}
        docs = await self._coll.find(query).sort("_id", DESCENDING).to_list(limit)
        return [{"message_id": d.pop("_id"), **d} for d in docs]


class UnconfiguredProvider:
    """SMS or WeChat delivery needs a provider account; until one is configured the service refuses to start."""

    def __init__(self, kind: str):
        raise RuntimeError(f"NRMM_MESSAGE_CHANNEL={kind} needs a provider, which is not configured in this "
                           "release; use NRMM_MESSAGE_CHANNEL=outbox")


def make_channel(kind: str, db: AsyncDatabase) -> MessageChannel:
    if kind == "outbox":
        return OutboxChannel(db)
    return UnconfiguredProvider(kind)
