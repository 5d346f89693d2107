"""Composition of one service's infrastructure: database, event store, relay, projection runners.

A service with events of its own (its registry names at least one) gets an event store, a producer and the
outbox relay; a service without (the gateway, the notifications service) gets none of them, and touches the
broker only for the projections it runs (none: never).

Several instances of a service share its database and consumer groups: the projectors split the partitions (their
writes are guarded by write claims, batch_apply.py), and one instance at a time runs the relay and each job
started with ``leased=True`` (lease.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import ProducerFenced
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from . import query_shapes
from .bus import BrokerProbe, ensure_topics, make_producer
from .checkpoints import CheckpointPublisher, checkpoint_topic
from .envelope import EventRegistry
from .eventstore import EventStore
from .lease import Lease, instance_id, run_leased
from .logging import get_logger
from .positions import PositionWaits
from .projector import Projection, ProjectionRunner
from .rebuild import rebuild, rebuild_from_topic
from .relay import OutboxRelay
from .settings import KernelSettings
from .supervisor import Backoff, Health, supervise

log = get_logger("runtime")


# Operations one process runs at once on the database. FerretDB 1.24 deadlocks when its PostgreSQL pool
# (pool_max_conns in deploy/native.sh) is full of readers while an index or collection is created: the creator
# holds its metadata lock waiting for a connection, the readers hold the connections waiting for the lock
# (seen here with several platforms on one FerretDB). Small pools per process keep the sum below it.
MAX_POOL_SIZE = 24


def mongo_client(url: str) -> AsyncMongoClient[Any]:
    return AsyncMongoClient(url, tz_aware=True, uuidRepresentation="standard", serverSelectionTimeoutMS=5000,
                            maxPoolSize=MAX_POOL_SIZE, event_listeners=query_shapes.listeners())


class ServiceRuntime:
    """Starts and stops what a service needs; one per process."""

    def __init__(
        self,
        settings: KernelSettings,
        registry: EventRegistry,
        projections: Sequence[Projection] = (),
        subscribe_to: Sequence[str] | None = None,
        run_background: bool = True,
        foreign: Mapping[str, Sequence[Projection]] | None = None,
    ):
        self.settings = settings
        self.registry = registry
        self.has_events = bool(registry.types)
        self.projections = list(projections)
        # topics the projections read; by default the service's own
        self.subscribe_to = list(subscribe_to) if subscribe_to is not None else [settings.topic]
        # projections of other services' events, by service name: their own consumer group per service
        self.foreign = {service: list(ps) for service, ps in (foreign or {}).items()}
        self.run_background = run_background
        self.client: AsyncMongoClient[Any] | None = None
        self.store: EventStore | None = None
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.checkpoints: CheckpointPublisher | None = None
        self.runner: ProjectionRunner | None = None
        self.foreign_runners: dict[str, ProjectionRunner] = {}
        self.health: dict[str, Health] = {}  # every supervised runner, as /readyz reports it
        self.broker = BrokerProbe(settings.kafka_bootstrap)  # readiness, for a process without a producer
        self.positions = PositionWaits()  # what the read models of this process have applied, per source service
        self.instance = instance_id()  # this process among the service's instances (lease holder name)
        self.leases: dict[str, Lease] = {}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def db(self) -> AsyncDatabase[Any]:
        assert self.client is not None, "runtime not started"
        return self.client[self.settings.database_name]

    async def start(self) -> None:
        s = self.settings
        self.client = mongo_client(s.mongodb_url)
        foreign_topics = {service: self.topic_of(service) for service in self.foreign}
        topics = {*(self.subscribe_to if self.projections else ()), *foreign_topics.values()}
        if self.has_events:
            topics.update((s.topic, checkpoint_topic(s.namespace)))
        if topics:
            await ensure_topics(s.kafka_bootstrap, sorted(topics), s.topic_partitions, s.topic_replication_factor)
        if self.has_events:
            self.store = EventStore(self.db, max_commit_bytes=s.max_commit_bytes)
            await self.store.ensure_indexes()
            # the relay's producer is made by the instance that holds the relay lease (_run_relay)
            self.relay = OutboxRelay(self.store, None, s.topic,
                                     batch_size=s.relay_batch_size, poll_seconds=s.relay_poll_seconds,
                                     transactional=True)
            self.checkpoints = CheckpointPublisher(self.store, s.kafka_bootstrap, service=s.service_name,
                                                   topic=checkpoint_topic(s.namespace),
                                                   every_seconds=s.checkpoint_seconds)
        if self.projections:
            self.runner = ProjectionRunner(
                db=self.db, projections=self.projections, topics=self.subscribe_to,
                bootstrap=s.kafka_bootstrap, group_id=f"{s.namespace}.{s.service_name}.projections",
                registry=self.registry,
                source_service=s.service_name if self.subscribe_to == [s.topic] else None,
            )
            await self.runner.ensure_indexes()
            if self.subscribe_to == [s.topic]:
                self.positions.track(self.runner.watermarks)
        for service, projections in self.foreign.items():
            runner = ProjectionRunner(
                db=self.db, projections=projections, topics=[foreign_topics[service]], bootstrap=s.kafka_bootstrap,
                group_id=f"{s.namespace}.{s.service_name}.from-{service}", source_service=service,
            )
            await runner.ensure_indexes()
            self.positions.track(runner.watermarks)
            self.foreign_runners[service] = runner
        if self.run_background:
            if self.relay is not None:
                self.supervise("relay", self._run_relay, health=self.relay.health, leased=True)
            if self.checkpoints is not None:  # one instance at a time takes the checkpoints
                self.supervise("checkpoints", self.checkpoints.run, health=self.checkpoints.health, leased=True)
            if self.runner is not None:
                self.supervise("projector", self.runner.run, health=self.runner.health)
            for service, foreign in self.foreign_runners.items():
                self.supervise(f"projector-from-{service}", foreign.run, health=foreign.health)
        log.info("runtime.started", database=s.database_name, topic=s.topic if self.has_events else None)

    async def _run_relay(self, stop: asyncio.Event) -> None:
        """The relay, in the instance holding its lease: a transactional producer whose start fences the producer
        of any earlier holder (same ``transactional_id``), stopped when the lease is lost."""
        assert self.relay is not None
        s = self.settings
        backoff = Backoff()
        while not stop.is_set():
            producer = make_producer(s.kafka_bootstrap, transactional_id=f"{s.namespace}.{s.service_name}.relay")
            try:
                await producer.start()
                self.producer, self.relay.producer = producer, producer
                await self.relay.run(stop)  # returns at the stop; raises when a batch failed, or when fenced
            except (asyncio.CancelledError, ProducerFenced):
                raise  # fenced: the lease's next look finds the new holder
            except Exception as exc:  # noqa: BLE001 - the broker or the database: a fresh producer, after a pause
                self.relay.health.failed(exc)
                await backoff.wait(stop)
            finally:
                self.producer = None
                await _quietly(producer.stop())

    def supervise(self, name: str, body: Callable[[asyncio.Event], Awaitable[None]], *, health: Health | None = None,
                  needs_broker: bool | None = None, leased: bool = False) -> Health:
        """Run ``body(stop)`` in the background for the process's life: restarted whenever it fails or ends, and
        reported by /readyz under ``name`` (``needs_broker``: whether a broker outage explains its quiet).
        ``leased``: one instance of the service at a time runs it, the holder of the lease ``name`` (lease.py);
        the others stand by, healthy, and one takes over within the lease's time to live when the holder dies."""
        health = health or Health(name)
        health.name = name
        if needs_broker is not None:
            health.needs_broker = needs_broker
        if leased:
            lease = self.leases[name] = Lease(self.db, name, self.instance, ttl=self.settings.lease_seconds)
            job = body

            async def holding(stop: asyncio.Event) -> None:
                await run_leased(lease, job, stop, health)

            body = holding
        health.task = asyncio.create_task(supervise(health, body, self._stop), name=name)
        self.health[name] = health
        self._tasks.append(health.task)
        return health

    async def stop(self) -> None:
        self._stop.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
            for task in self._tasks:
                task.cancel()
        await self.broker.close()
        if self.client is not None:
            await self.client.close()
        log.info("runtime.stopped")

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, body). Not ready: the database is unreachable (no write can be taken), or a runner is dead or
        stuck for a reason a broker outage does not explain. A broker outage alone leaves the service ready, with
        ``degraded: ["kafka"]``: writes are taken and published once it is back. Parked commits or events
        degrade it too: an operator has something to look at."""
        checks: dict[str, str] = {}
        try:
            assert self.client is not None, "runtime not started"
            await asyncio.wait_for(self.client.admin.command("ping"), 3)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if self.uses_broker:
            try:
                await asyncio.wait_for(self._broker_ping(), 3)
                checks["broker"] = "ok"
            except Exception as exc:  # noqa: BLE001
                checks["broker"] = f"unreachable: {type(exc).__name__}"
        broker_down = checks.get("broker", "ok") != "ok"
        runners, failing = {}, []
        for name, health in self.health.items():
            healthy, runners[name] = health.report(self.settings.runner_stuck_seconds, broker_down)
            if not healthy:
                failing.append(name)
        degraded = ["kafka"] if broker_down else []
        if self.relay is not None and self.relay.parked_count:
            degraded.append("parked_commits")
        if any(r.parked for r in (self.runner, *self.foreign_runners.values()) if r is not None):
            degraded.append("parked_events")
        ready = checks["database"] == "ok" and not failing
        return ready, {"status": "ready" if ready else "not_ready", "checks": checks, "runners": runners,
                       "degraded": degraded, "failing": failing}

    @property
    def uses_broker(self) -> bool:
        return self.relay is not None or self.runner is not None or bool(self.foreign_runners)

    async def _broker_ping(self) -> None:
        # asked through the admin client's public metadata call (a standby instance holds no producer)
        await self.broker.ping()

    def topic_of(self, service: str) -> str:
        return f"{self.settings.namespace}.{service}.events"

    @property
    def all_projections(self) -> list[Projection]:
        return [*self.projections, *(p for ps in self.foreign.values() for p in ps)]

    async def rebuild(self, name: str, progress: bool = True) -> int:
        for service, projections in self.foreign.items():
            projection = next((p for p in projections if p.name == name), None)
            if projection is not None:
                return await rebuild_from_topic(self.db, self.settings.kafka_bootstrap, self.topic_of(service),
                                                projection, progress=progress)
        projection = next((p for p in self.projections if p.name == name), None)
        if projection is None:
            raise LookupError(f"unknown projection {name}; known: {[p.name for p in self.all_projections]}")
        if self.store is None or self.subscribe_to != [self.settings.topic]:
            # its events come from other services' topics, which this store does not hold
            raise LookupError(f"{name} reads other services' topics; it cannot be replayed from this store")
        assert self.store is not None, "runtime not started"
        return await rebuild(self.db, self.store, projection, registry=self.registry, progress=progress)


async def _quietly(closing: Awaitable[None]) -> None:
    """A producer's stop never ends the relay's loop: a broker that is down now is simply not told."""
    try:
        await closing
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        log.warning("relay.producer_stop_failed", error=type(exc).__name__)
