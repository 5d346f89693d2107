"""Department event feeds: the router. One Kafka consumer group over the registry, sites and inspection topics;
each event is routed (feed_routes), matched against every active subscription (the scoping rule,
domain.feeds.receives), masked for subscribers who may not see personal data, and appended to each matching
subscription's feed with the next sequence; then the in-memory hub hears of it (SSE streams, webhook senders).
Offsets are committed after the feeds are written; an event the broker brings again goes nowhere twice (its id is
looked up among the feeds first). Supervised like the projectors; one per service process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from nrmm_kernel import bus
from nrmm_kernel.envelope import EventEnvelope, utcnow
from nrmm_kernel.logging import correlation, get_logger
from nrmm_kernel.projector import POISON
from nrmm_kernel.supervisor import Backoff, Health

from ..domain.feeds import SOURCES, Scope, cloud_event, masked, receives
from .feed_hub import FeedHub
from .feed_routes import FeedContext
from .feed_store import FeedStore, item_id

log = get_logger("notifications.feeds")


@dataclass(frozen=True)
class Subscriber:
    id: str
    scope: Scope
    masked: bool
    webhook: bool


def subscriber(doc: dict) -> Subscriber:
    return Subscriber(doc["_id"], Scope(doc["department"], doc.get("district"), frozenset(doc["event_types"])),
                      bool(doc.get("masked", True)), bool(doc.get("webhook")))


class FeedRouter:
    def __init__(self, store: FeedStore, hub: FeedHub, *, bootstrap: str, topics: dict[str, str], group_id: str,
                 on_items: Callable[[str], None] = lambda _: None):
        self.store, self.hub, self.on_items = store, hub, on_items
        self.context = FeedContext(store.context)
        self.bootstrap, self.group_id = bootstrap, group_id
        self.topics = topics  # topic -> service
        self.subscribers: dict[str, Subscriber] = {}
        self.sequences: dict[str, int] = {}
        self._noted: dict[str, int] = {}
        self._reload_lock = asyncio.Lock()
        self.routed = 0
        self.health = Health("feed-router")

    async def reload(self) -> None:
        """Take up new subscriptions (from the sequence their feed stands at) and drop ended ones."""
        async with self._reload_lock:
            docs = await self.store.active()
            fresh = {}
            for doc in docs:
                fresh[doc["_id"]] = subscriber(doc)
                if doc["_id"] not in self.sequences:
                    self.sequences[doc["_id"]] = await self.store.last_sequence(doc)
                    self._noted[doc["_id"]] = self.sequences[doc["_id"]]
                    self.hub.known(doc["_id"], self.sequences[doc["_id"]])
            self.subscribers = fresh

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            consumer = None
            try:
                await self.reload()
                consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group_id,
                                            enable_auto_commit=False, auto_offset_reset="earliest",
                                            max_poll_records=500, isolation_level="read_committed")
                consumer.subscribe(list(self.topics))
                await consumer.start()
                await self._consume(consumer, stop, backoff)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - resumed from the last committed offsets: nothing skipped
                self.health.failed(exc)
                # a write that failed halfway may have used sequences: they are found again from the database
                self.sequences.clear()
                self._noted.clear()
                log.warning("feeds.router_error", error=f"{type(exc).__name__}: {exc}"[:300])
                await backoff.wait(stop)
            finally:
                if consumer is not None:
                    try:
                        await consumer.stop()
                    except Exception:  # noqa: BLE001
                        log.warning("feeds.router_close_failed")

    async def _consume(self, consumer: AIOKafkaConsumer, stop: asyncio.Event, backoff: Backoff) -> None:
        loop = asyncio.get_running_loop()
        last_reload = last_note = loop.time()
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=500)
            events = [(self.topics[tp.topic], bus.decode(message.value))
                      for tp, messages in batch.items() for message in messages if not bus.is_control(message)]
            if events:
                await self.route_batch(events)
            if batch:
                await consumer.commit()  # only now: the feeds hold everything fetched
            now = loop.time()
            if now - last_note > 5:  # a hint only: a restart probes past it
                await self._note()
                last_note = now
            if now - last_reload > 5:  # subscriptions ended or made by another process
                await self.reload()
                last_reload = now
            lag = 0
            for tp in consumer.assignment():
                high = consumer.highwater(tp)
                if high is not None:
                    lag += max(high - await consumer.position(tp), 0)
            self.health.ok(lag=lag)
            backoff.reset()

    async def route(self, service: str, envelope: EventEnvelope) -> int:
        return await self.route_batch([(service, envelope)])

    async def _match(self, service: str, envelope: EventEnvelope) -> tuple[EventEnvelope, list[Subscriber]] | None:
        contract = SOURCES[service]
        if not contract.knows(envelope.type):
            return None  # a type this build does not know: no subscription can have named it
        with correlation(envelope.correlationid, event_id=envelope.id, event_type=envelope.event_name):
            try:
                envelope = contract.upcast(envelope)
                route = await self.context.route(service, envelope)
            except POISON as exc:  # its data does not fit the contract: it can never be routed; the flow goes on
                log.error("feeds.event_unroutable", stream=envelope.streamid, version=envelope.streamversion,
                          error=f"{type(exc).__name__}: {exc}"[:300])
                return None
        matching = [s for s in self.subscribers.values() if receives(s.scope, envelope.type, route)]
        return (envelope, matching) if matching else None

    async def route_batch(self, events: list[tuple[str, EventEnvelope]]) -> int:
        """Append events, in order, to every feed that receives them, in one write; how many items."""
        matched = [m for service, envelope in events if (m := await self._match(service, envelope)) is not None]
        if not matched:
            return 0
        seen = await self.store.having_any([envelope.id for envelope, _ in matched])
        items, now = [], utcnow()
        for envelope, subs in matched:
            for sub in subs:
                if (sub.id, envelope.id) in seen:
                    continue  # brought again by the broker: already in this feed
                seen.add((sub.id, envelope.id))
                seq = self.sequences[sub.id] = self.sequences[sub.id] + 1
                data = masked(envelope.data) if sub.masked else envelope.data
                body = json.dumps(cloud_event(envelope, data, seq), ensure_ascii=False, separators=(",", ":"))
                items.append({"_id": item_id(sub.id, seq), "sub": sub.id, "seq": seq, "event_id": envelope.id,
                              "type": envelope.type, "body": body, "at": now,
                              "wh": "pending" if sub.webhook else None, "attempts": 0, "next_at": now})
        # a failed write leaves sequences used in memory: the runner clears them and probes the database again
        await self.store.append(items)
        woken = set()
        for item in items:
            self.hub.publish(item["sub"], [(item["seq"], item["body"])])
            if item["wh"] is not None and item["sub"] not in woken:
                woken.add(item["sub"])
                self.on_items(item["sub"])
        self.routed += len(items)
        return len(items)

    async def _note(self) -> None:
        changed = {k: v for k, v in self.sequences.items() if self._noted.get(k) != v}
        if changed:
            await self.store.note_sequences(changed)
            self._noted.update(changed)
