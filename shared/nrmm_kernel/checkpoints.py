"""Checkpoints of the store chain: at intervals each service publishes its store chain's head hash to the
checkpoint topic (``<namespace>.checkpoints``, keyed by service) and records it as an event of its own store
(stream ``checkpoint-<service>``).

The topic copy is out of the database administrator's reach: an edit followed by recomputing every later hash
(stream and store chain) still disagrees with a checkpoint taken before it (audit_verify.py). The event type is
the kernel's (``cn.cq.nrmm.audit.StoreCheckpointed``), in no service's contract: projections, rebuilds and feeds
pass it by.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from .aio import sleep_or_stop
from .bus import make_producer, topic_partitions
from .envelope import DomainEvent, EventRegistry
from .errors import ConcurrencyError
from .logging import get_logger
from .supervisor import Health

log = get_logger("checkpoints")


class StoreCheckpointed(DomainEvent):
    position: int  # the store's head when the checkpoint was taken
    store_hash: str  # the store chain's hash at that position
    topic: str  # where the same checkpoint was published


AUDIT_NAMESPACE = "cn.cq.nrmm.audit"
CHECKPOINT_TYPE = f"{AUDIT_NAMESPACE}.StoreCheckpointed"


def checkpoint_topic(namespace: str) -> str:
    return f"{namespace}.checkpoints"


class CheckpointPublisher:
    """A supervised runner: every ``every_seconds``, if the store moved since the last checkpoint, one checkpoint."""

    def __init__(self, store: Any, bootstrap: str, *, service: str, topic: str, every_seconds: float):
        self.store = store
        self.bootstrap = bootstrap
        self.producer: AIOKafkaProducer | None = None  # the runner's own, for its life; else one per checkpoint
        self.service = service
        self.topic = topic
        self.every_seconds = every_seconds
        self.stream_id = f"checkpoint-{service}"
        self.registry = EventRegistry(namespace=AUDIT_NAMESPACE, source=f"/nrmm/{service}")
        self.registry.register(StoreCheckpointed)
        self.health = Health("checkpoints")
        self._last_own: int | None = None  # the position of this runner's last checkpoint commit

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        self.health.ok()
        producer = make_producer(self.bootstrap)
        await producer.start()
        self.producer = producer
        try:
            while not stop.is_set():
                due = loop.time() + self.every_seconds
                while not stop.is_set() and loop.time() < due:  # alive between checkpoints, as /readyz should see
                    await sleep_or_stop(stop, min(5.0, max(due - loop.time(), 0.0)))
                    self.health.ok()
                if not stop.is_set():
                    await self.checkpoint()
        finally:
            self.producer = None
            await producer.stop()

    async def checkpoint(self) -> dict[str, Any] | None:
        """Take one checkpoint now (None: nothing new since the last one, or another instance took it)."""
        head = await self.store.head_position()
        if head == 0 or head == self._last_own:
            return None
        doc = await self.store.collection.find_one({"_id": head}, projection={"store_hash": 1, "stream_id": 1})
        if doc is None or doc.get("store_hash") is None:
            return None  # an unchained store: nothing to vouch for until the one-off chain command ran
        if doc["stream_id"] == self.stream_id:
            self._last_own = head  # the head is our own checkpoint: nothing happened since
            return None
        mark = {"service": self.service, "position": head, "store_hash": doc["store_hash"]}
        await self._publish(mark)
        version = await self.store.stream_version(self.stream_id)
        event = StoreCheckpointed(position=head, store_hash=doc["store_hash"], topic=self.topic)
        envelope = self.registry.wrap(event, stream_id=self.stream_id, stream_version=version + 1)
        try:
            commit = await self.store.append(self.stream_id, version, [envelope])
        except ConcurrencyError:
            return mark  # another instance recorded one at the same time: published all the same
        self._last_own = commit.position
        log.info("checkpoint.taken", position=head, store_hash=doc["store_hash"][:12], recorded_at=commit.position)
        return mark


    async def _publish(self, mark: dict[str, Any]) -> None:
        value, key = json.dumps(mark, separators=(",", ":")).encode(), self.service.encode()
        if self.producer is not None:
            await self.producer.send_and_wait(self.topic, key=key, value=value)
            return
        producer = make_producer(self.bootstrap)  # a checkpoint taken from the command line
        await producer.start()
        try:
            await producer.send_and_wait(self.topic, key=key, value=value)
        finally:
            await producer.stop()


async def read_checkpoints(bootstrap: str, topic: str, service: str, seconds: float = 10.0) -> dict[int, str]:
    """Every checkpoint the topic holds for ``service``: position -> store hash (read up to the end it had)."""
    tps = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic)]
    if not tps:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: dict[int, str] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if loop.time() > deadline:
                raise TimeoutError(f"the checkpoint topic {topic} was not read to its end in {seconds}s")
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                for message in messages:
                    if message.key == service.encode():
                        body = json.loads(message.value)
                        found[int(body["position"])] = str(body["store_hash"])
        return found
    finally:
        await consumer.stop()
