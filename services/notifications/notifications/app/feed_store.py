"""Department event feeds, storage: subscriptions and each subscription's feed.

``feed_subscriptions``: one document per subscription (its scope, its webhook and signing secrets, ``seq``: a hint
of the last sequence written). ``feed_items``: one document per event a subscription receives, ``_id``
``<subscription>.<sequence>`` with gapless sequences per subscription, so a feed is read from any cursor by exact ids
(equality lookups, served by indexes on MongoDB and FerretDB alike). The item is also the webhook delivery: status
``wh`` (pending, sent, dead), attempts, next attempt. Sequences are given by the one feed router of the service
(one process per service, README "Known limits"); a router that died after writing items but before noting ``seq``
finds them again by probing the next ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

SUBSCRIPTIONS, ITEMS, CONTEXT = "feed_subscriptions", "feed_items", "feed_context"


def item_id(subscription_id: str, sequence: int) -> str:
    return f"{subscription_id}.{sequence}"


class FeedStore:
    def __init__(self, db: AsyncDatabase):
        self.subs, self.items, self.context = db[SUBSCRIPTIONS], db[ITEMS], db[CONTEXT]

    async def ensure_indexes(self) -> None:
        # an event is in a subscription's feed once, whatever the broker redelivers
        await self.items.create_index([("sub", ASCENDING), ("event_id", ASCENDING)], unique=True)
        await self.items.create_index("event_id")
        await self.items.create_index([("sub", ASCENDING), ("wh", ASCENDING)])
        await self.subs.create_index("status")

    # subscriptions ----------------------------------------------------------------------------------------------
    async def active(self) -> list[dict]:
        return await self.subs.find({"status": "active"}).to_list(None)

    async def get(self, subscription_id: str) -> dict | None:
        return await self.subs.find_one({"_id": subscription_id[:40]})

    async def last_sequence(self, subscription: dict) -> int:
        """The last sequence written: the noted hint, then whatever was written after it."""
        seq = int(subscription.get("seq", 0))
        while True:
            ahead = await self.items.find({"_id": {"$in": [item_id(subscription["_id"], seq + i)
                                                            for i in range(1, 65)]}}, {"seq": 1}).to_list(None)
            if not ahead:
                return seq
            top = max(d["seq"] for d in ahead)
            if top == seq:
                return seq
            seq = top

    async def note_sequences(self, sequences: dict[str, int]) -> None:
        for subscription_id, seq in sequences.items():
            await self.subs.update_one({"_id": subscription_id, "seq": {"$lt": seq}}, {"$set": {"seq": seq}})

    # feeds ------------------------------------------------------------------------------------------------------
    async def having_any(self, event_ids: list[str]) -> set[tuple[str, str]]:
        """(subscription, event id) of these events already in feeds."""
        docs = self.items.find({"event_id": {"$in": event_ids}}, {"sub": 1, "event_id": 1})
        return {(d["sub"], d["event_id"]) async for d in docs}

    async def append(self, items: list[dict]) -> None:
        if items:
            await self.items.insert_many(items, ordered=False)

    async def read(self, subscription_id: str, after: int, limit: int) -> list[dict]:
        """Items after sequence ``after``, in order, at most ``limit``: by exact ids."""
        ids = [item_id(subscription_id, after + i) for i in range(1, limit + 1)]
        docs = await self.items.find({"_id": {"$in": ids}}, {"seq": 1, "body": 1}).to_list(None)
        docs.sort(key=lambda d: d["seq"])
        out, expected = [], after + 1
        for doc in docs:  # stop at a hole (cannot happen with one router; never skip past one)
            if doc["seq"] != expected:
                break
            out.append(doc)
            expected += 1
        return out

    # webhook deliveries -----------------------------------------------------------------------------------------
    async def pending(self, subscription_id: str, limit: int) -> list[dict]:
        return await self.items.find({"sub": subscription_id, "wh": "pending"}).sort("seq", ASCENDING).limit(
            limit).to_list(None)

    async def mark_sent(self, ids: Iterable[str], at: datetime) -> None:
        ids = list(ids)
        if ids:
            await self.items.update_many({"_id": {"$in": ids}}, {"$set": {"wh": "sent", "sent_at": at}})

    async def dead_letters(self, subscription_id: str, limit: int) -> list[dict]:
        return await self.items.find({"sub": subscription_id, "wh": "dead"}, {"body": 0}).sort(
            "seq", ASCENDING).limit(limit).to_list(None)
