"""Department event feeds, in memory: what the router has just written to each feed, for the Server-Sent Events
streams and the webhook senders of this process to take without asking the database. A stream that fell behind
what is kept here reads the database (feed_store.FeedStore.read)."""

from __future__ import annotations

import asyncio
from collections import deque

KEPT = 2048  # events kept per feed


class _Feed:
    __slots__ = ("latest", "recent", "changed")

    def __init__(self, latest: int):
        self.latest = latest
        self.recent: deque[tuple[int, str]] = deque(maxlen=KEPT)
        self.changed = asyncio.Event()


class FeedHub:
    def __init__(self):
        self._feeds: dict[str, _Feed] = {}

    def known(self, subscription_id: str, latest: int) -> None:
        """The router's word on where a feed stands when it takes the subscription up."""
        if subscription_id not in self._feeds:
            self._feeds[subscription_id] = _Feed(latest)

    def publish(self, subscription_id: str, items: list[tuple[int, str]]) -> None:
        feed = self._feeds.setdefault(subscription_id, _Feed(0))
        for seq, body in items:
            feed.recent.append((seq, body))
            feed.latest = max(feed.latest, seq)
        changed, feed.changed = feed.changed, asyncio.Event()
        changed.set()  # every waiter wakes; later waits use the fresh event

    def latest(self, subscription_id: str) -> int | None:
        feed = self._feeds.get(subscription_id)
        return None if feed is None else feed.latest

    def after(self, subscription_id: str, sequence: int, limit: int) -> list[tuple[int, str]] | None:
        """What follows ``sequence`` from memory; None when memory does not reach back that far."""
        feed = self._feeds.get(subscription_id)
        if feed is None:
            return None
        if sequence >= feed.latest:
            return []
        if not feed.recent or feed.recent[0][0] > sequence + 1:
            return None
        start = sequence + 1 - feed.recent[0][0]
        return [feed.recent[i] for i in range(start, min(start + limit, len(feed.recent)))]

    async def wait(self, subscription_id: str, sequence: int, seconds: float) -> None:
        """Until the feed moves past ``sequence`` (or ``seconds`` pass)."""
        feed = self._feeds.setdefault(subscription_id, _Feed(0))
        if feed.latest > sequence:
            return
        try:
            await asyncio.wait_for(feed.changed.wait(), seconds)
        except TimeoutError:
            pass
