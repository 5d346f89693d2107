"""Department event feeds, put together for one service process: storage, the in-memory hub, the router, the
webhook senders and the subscriptions (each in its own module)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nrmm_kernel.supervisor import Health

from ..domain.feeds import SOURCES
from .feed_hub import FeedHub
from .feed_router import FeedRouter
from .feed_store import FeedStore
from .subscriptions import Subscriptions
from .webhook_sender import WebhookSender


class Feeds:
    def __init__(self, runtime, settings, clock: Callable[[], datetime]):
        self.store = FeedStore(runtime.db)
        self.hub = FeedHub()
        self.webhooks = WebhookSender(self.store, self.hub, settings, clock)
        self.router = FeedRouter(self.store, self.hub, bootstrap=settings.kafka_bootstrap,
                                 topics={runtime.topic_of(service): service for service in SOURCES},
                                 group_id=f"{settings.namespace}.{settings.service_name}.feeds",
                                 on_items=self.webhooks.wake)
        self.subscriptions = Subscriptions(self.store, settings, clock, self._changed)

    async def start(self) -> None:
        await self.store.ensure_indexes()
        await self.router.reload()

    async def _changed(self) -> None:
        await self.router.reload()
        for sub in self.router.subscribers.values():
            if sub.webhook:
                self.webhooks.wake(sub.id)

    def supervise(self, runtime) -> None:
        # one router per service database (a lease): it numbers each feed's items from its own memory
        runtime.supervise("feed-router", self.router.run, health=self.router.health, leased=True)
        health = Health("feed-webhooks", needs_broker=False)
        runtime.supervise("feed-webhooks", lambda stop: self.webhooks.run(stop, health), health=health, leased=True)
