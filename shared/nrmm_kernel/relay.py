"""Outbox relay: publishes committed events to the service's Kafka topic.

Progress (the commit's ``outbox`` mark) is recorded only after the broker acknowledged every event of the commit
(acks=all). A relay killed at any point leaves its batch unpublished and sends it again after a restart: nothing
is skipped, and consumers treat the repeats as the duplicates they are.

A commit the broker refuses for good (too large for it) is parked with a dead-letter record, and the later
commits of its stream are held behind it (outbox.py): the other streams keep flowing, and an operator re-drives it
(``python -m <service>.main outbox``). Any other error is retried with backoff, forever.

Several instances of a service: one relay publishes, the holder of the ``relay`` lease (lease.py, run by
runtime.py). Its producer is transactional with one ``transactional_id`` per service: each batch is one Kafka
transaction, and a new holder's producer fences the old one's (its epoch is bumped), so an old holder paused past
its lease can no longer publish, and a batch it left open is aborted. Consumers read ``read_committed``; the new
holder publishes from the watermark (outbox.py), so each stream's order on the topic holds across a takeover.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError, ProducerFenced, RecordTooLargeError

from . import bus
from .aio import wait_any
from .eventstore import Commit, EventStore
from .logging import get_logger
from .metrics import RELAY_BACKLOG, RELAY_PARKED, RELAY_PUBLISHED
from .outbox import Batch, Outbox
from .supervisor import Backoff, Health

log = get_logger("relay")
# the broker will never take these, however often they are sent
PERMANENT = (MessageSizeTooLargeError, RecordTooLargeError)


class OutboxRelay:
    def __init__(self, store: EventStore, producer: AIOKafkaProducer, topic: str, *,
                 batch_size: int = 500, poll_seconds: float = 0.2, health: Health | None = None,
                 transactional: bool = False):
        self.store = store
        self.transactional = transactional  # the producer has a transactional_id: one transaction per batch
        self.outbox = Outbox(store)
        self.producer = producer
        self.topic = topic
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.health = health or Health("relay")
        self.parked_count = 0

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished commits; returns how many events went out."""
        batch = await self.outbox.next_batch(self.batch_size)
        if not batch.commits:
            await self.outbox.advance(batch.through)  # past commits parked or held already, if any
            RELAY_BACKLOG.labels(self.topic).set(0)
            return 0
        blocked = await self.outbox.parked_streams()  # streams whose order waits behind a parked commit
        if not self.transactional:
            return await self._publish(batch, blocked)
        await self.producer.begin_transaction()
        try:
            return await self._publish(batch, blocked)
        except BaseException:
            if self.producer._txn_manager.is_in_transaction():  # noqa: SLF001 - aiokafka has no public probe
                await self._abort()
            raise

    async def _abort(self) -> None:
        try:
            await self.producer.abort_transaction()
        except ProducerFenced:
            raise
        except Exception as exc:  # noqa: BLE001 - the broker aborts it at its timeout, or the next holder's init
            log.warning("relay.abort_failed", topic=self.topic, error=type(exc).__name__)

    async def _publish(self, batch: Batch, blocked: dict[str, int]) -> int:
        commits = batch.commits
        sent: list[tuple[Commit, list[asyncio.Future[Any]]]] = []
        held: list[int] = []
        for commit in commits:
            if commit.stream_id in blocked:
                held.append(commit.position)
                continue
            futures = await self._send(commit)
            if isinstance(futures, BaseException):
                await self.outbox.park(commit, f"{type(futures).__name__}: {futures}")
                blocked[commit.stream_id] = commit.position
                continue
            sent.append((commit, futures))
        published, events = [], 0
        for commit, futures in sent:
            results = await asyncio.gather(*futures, return_exceptions=True)
            failure = next((r for r in results if isinstance(r, BaseException)), None)
            if commit.position > blocked.get(commit.stream_id, commit.position):
                held.append(commit.position)  # on the topic after a parked one: sent again after it
            elif isinstance(failure, PERMANENT) and self.transactional:
                # a refused record fails the whole transaction: nothing of it is read (read_committed); the
                # commit is parked and the rest goes out again in the next batch, behind it in order
                await self._abort()
                await self.outbox.park(commit, f"{type(failure).__name__}: {failure}")
                return 0
            elif isinstance(failure, PERMANENT):
                await self.outbox.park(commit, f"{type(failure).__name__}: {failure}")
                blocked[commit.stream_id] = commit.position
            elif failure is not None:
                raise failure  # a passing fault: nothing of this batch is marked, all of it is sent again
            else:
                published.append(commit.position)
                events += len(futures)
        if published:
            await self._send_watermarks(max(published))
        if self.transactional:
            await self.producer.commit_transaction()  # fenced if another holder's producer has started since
        await self.outbox.hold(held)
        await self.outbox.published(batch, published)
        RELAY_PUBLISHED.labels(self.topic).inc(events)
        self.parked_count = len(await self.outbox.parked()) if blocked else 0
        RELAY_PARKED.labels(self.topic).set(self.parked_count)
        log.debug("relay.published", topic=self.topic, commits=len(published), events=events, held=len(held))
        return events

    async def _send(self, commit: Commit) -> list[asyncio.Future[Any]] | BaseException:
        """Enqueue the commit's events (in order; per partition the idempotent producer keeps it); a refusal the
        producer knows at once (too large) is returned, not raised."""
        futures: list[asyncio.Future[Any]] = []
        for envelope in commit.events:
            key, value, headers = bus.encode(envelope)
            try:
                futures.append(await self.producer.send(self.topic, value=value, key=key, headers=headers))
            except PERMANENT as exc:
                refused: BaseException = exc
                return refused
        return futures

    async def _send_watermarks(self, position: int) -> None:
        """After the batch is acknowledged: on every partition, "all commits up to here are ahead of this"."""
        partitions = sorted(await self.producer.partitions_for(self.topic))
        value, headers = bus.encode_watermark(position, len(partitions))
        sent = [await self.producer.send(self.topic, value=value, partition=p, headers=headers) for p in partitions]
        await asyncio.gather(*sent)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        backoff = Backoff()
        while not stop.is_set():
            try:
                self.store.appended.clear()  # an append from here on wakes the idle wait below
                sent = await self.publish_batch()
                self.health.ok(lag=self.batch_size if sent >= self.batch_size else 0)
                backoff.reset()
                if sent == 0:
                    # woken at once by an append in this process; the poll is for other writers
                    await wait_any(stop, self.store.appended, seconds=self.poll_seconds)
            except (asyncio.CancelledError, ProducerFenced):
                raise  # fenced: another instance holds the relay now; this producer can publish no more
            except Exception as exc:  # noqa: BLE001 - the database or the broker: tried again, forever
                self.health.failed(exc)
                log.warning("relay.error", topic=self.topic, error=f"{type(exc).__name__}: {exc}"[:300])
                if self.transactional:
                    raise  # a transaction that failed may leave its producer unusable: the caller makes a new one
                await backoff.wait(stop)


