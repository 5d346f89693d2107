"""Outbox relay: publishes committed events to the service's Kafka topic.

Progress (the commit's ``outbox`` mark) is recorded only after the broker acknowledged every event of the batch
(acks=all). A relay killed at any point leaves its batch unpublished and sends it again after a
restart: nothing is skipped, and consumers treat the repeats as the duplicates they are.
Run one relay per service database: two relays could interleave one stream's events.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from . import bus
from .aio import sleep_or_stop
from .eventstore import EventStore
from .logging import get_logger
from .metrics import RELAY_BACKLOG, RELAY_PUBLISHED

log = get_logger("relay")


class OutboxRelay:
    def __init__(self, store: EventStore, producer: AIOKafkaProducer, topic: str, *,
                 batch_size: int = 500, poll_seconds: float = 0.2):
        self.store = store
        self.producer = producer
        self.topic = topic
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished commits; returns how many events went out."""
        commits = await self.store.unpublished(self.batch_size)
        if not commits:
            RELAY_BACKLOG.labels(self.topic).set(0)
            return 0
        pending = []
        for commit in commits:
            for envelope in commit.events:
                key, value, headers = bus.encode(envelope)
                # send() enqueues in order; per partition the idempotent producer keeps that order.
                pending.append(await self.producer.send(self.topic, value=value, key=key, headers=headers))
        await asyncio.gather(*pending)  # raises if any send failed: nothing gets marked
        await self._send_watermarks(commits[-1].position)
        await self.store.mark_published(commits[-1].position)
        RELAY_PUBLISHED.labels(self.topic).inc(len(pending))
        log.debug("relay.published", topic=self.topic, commits=len(commits), events=len(pending))
        return len(pending)

    async def _send_watermarks(self, position: int) -> None:
        """After the batch is acknowledged: on every partition, "all commits up to here are ahead of this"."""
        partitions = sorted(await self.producer.partitions_for(self.topic))
        value, headers = bus.encode_watermark(position, len(partitions))
        sent = [await self.producer.send(self.topic, value=value, partition=p, headers=headers) for p in partitions]
        await asyncio.gather(*sent)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                sent = await self.publish_batch()
                if sent == 0:
                    RELAY_BACKLOG.labels(self.topic).set(await self.store.backlog())
                    await sleep_or_stop(stop, self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay.error", topic=self.topic)
                await sleep_or_stop(stop, 1.0)
