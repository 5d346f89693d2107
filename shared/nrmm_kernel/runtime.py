"""Composition of one service's infrastructure: database, event store, relay, projection runners.

A service with events of its own (its registry names at least one) gets an event store, a producer and the
outbox relay; a service without (the gateway, the notifications service) gets none of them, and touches the
broker only for the projections it runs (none: never)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from . import query_shapes
from .bus import BrokerProbe, ensure_topics, make_producer
from .envelope import EventRegistry
from .eventstore import EventStore
from .logging import get_logger
from .positions import PositionWaits
from .projector import Projection, ProjectionRunner
from .rebuild import rebuild, rebuild_from_topic
from .relay import OutboxRelay
from .settings import KernelSettings
from .supervisor import Health, supervise

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
        self.runner: ProjectionRunner | None = None
        self.foreign_runners: dict[str, ProjectionRunner] = {}
        self.health: dict[str, Health] = {}  # every supervised runner, as /readyz reports it
        self.broker = BrokerProbe(settings.kafka_bootstrap)  # readiness, for a process without a producer
        self.positions = PositionWaits()  # what the read models of this process have applied, per source service
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
            topics.add(s.topic)
        if topics:
            await ensure_topics(s.kafka_bootstrap, sorted(topics), s.topic_partitions, s.topic_replication_factor)
        if self.has_events:
            self.store = EventStore(self.db, max_commit_bytes=s.max_commit_bytes)
            await self.store.ensure_indexes()
            self.producer = make_producer(s.kafka_bootstrap)
            await self.producer.start()
            self.relay = OutboxRelay(self.store, self.producer, s.topic,
                                     batch_size=s.relay_batch_size, poll_seconds=s.relay_poll_seconds)
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
                self.supervise("relay", self.relay.run, health=self.relay.health)
            if self.runner is not None:
                self.supervise("projector", self.runner.run, health=self.runner.health)
            for service, foreign in self.foreign_runners.items():
                self.supervise(f"projector-from-{service}", foreign.run, health=foreign.health)
        log.info("runtime.started", database=s.database_name, topic=s.topic if self.has_events else None)

    def supervise(self, name: str, body: Callable[[asyncio.Event], Awaitable[None]], *, health: Health | None = None,
                  needs_broker: bool | None = None) -> Health:
        """Run ``body(stop)`` in the background for the process's life: restarted whenever it fails or ends, and
        reported by /readyz under ``name`` (``needs_broker``: whether a broker outage explains its quiet)."""
        health = health or Health(name)
        health.name = name
        if needs_broker is not None:
            health.needs_broker = needs_broker
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
        if self.producer is not None:
            await self.producer.stop()
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
        return self.producer is not None or self.runner is not None or bool(self.foreign_runners)

    async def _broker_ping(self) -> None:
        if self.producer is not None:
            await self.producer.client.fetch_all_metadata()
        else:  # consumers only: the broker is asked through the admin client's public metadata call
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
