"""Append -> visible in a read model (issue #15, point 4): appends at a fixed rate into an event store whose relay
and projector run in this process as a service runs them (the relay woken by the append, the poll as fallback), and
for each event the time from the append's return to the end of the bulk write that applied it (p50, p99).

The projector is timed where it writes: ``apply_batch`` (what ``ProjectionRunner`` calls per batch) is wrapped to
note when each applied event's write returned; nothing else changes.

Run by bench/scale_bench.py (``--lag-rates``; ``--lag-only`` for these figures alone).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

from nrmm_kernel import projector as projector_module
from nrmm_kernel.bus import ensure_topics, make_producer
from nrmm_kernel.envelope import DomainEvent, EventEnvelope, EventRegistry
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.projector import Projection, ProjectionRunner, on
from nrmm_kernel.relay import OutboxRelay
from nrmm_kernel.runtime import mongo_client

lag_events = EventRegistry(namespace="bench.lag", source="/nrmm/bench/lag")


@lag_events.register
class GateMovement(DomainEvent):
    site: str
    code: str


class Movements(Projection):
    name = "lag_movements"
    contract = lag_events

    @on(GateMovement)
    def moved(self, doc: dict[str, Any] | None, event: GateMovement, envelope: EventEnvelope) -> dict[str, Any]:
        return {"site": event.site, "code": event.code}


_visible: dict[str, float] = {}  # event id -> when the write that applied it returned
_applied: list[asyncio.Event] = []  # set after each write (made in the running loop)
_original_apply_batch = projector_module.apply_batch


async def _timed_apply_batch(*args: Any, **kwargs: Any) -> Any:
    applied = kwargs.get("applied")
    before = len(applied) if applied is not None else 0
    outcome = await _original_apply_batch(*args, **kwargs)
    now = time.perf_counter()
    for envelope in (applied or [])[before:]:
        _visible.setdefault(envelope.id, now)
    for event in _applied:
        event.set()
    return outcome


async def _until_visible(ids: list[str], within: float) -> None:
    """Until every id was applied (woken by each write), or ``within`` seconds."""
    arrived = asyncio.Event()
    _applied.append(arrived)
    deadline = time.perf_counter() + within
    try:
        while any(i not in _visible for i in ids) and (left := deadline - time.perf_counter()) > 0:
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), left)
            except TimeoutError:
                return
    finally:
        _applied.remove(arrived)


async def measure(mongo_url: str, kafka: str, rate: int, seconds: float) -> dict[str, float]:
    projector_module.apply_batch = _timed_apply_batch  # type: ignore[assignment]
    client = mongo_client(mongo_url)
    name = f"lag_{uuid.uuid4().hex[:8]}"
    db, topic = client[name], f"{name}.events"
    store = EventStore(db)
    await store.ensure_indexes()
    await ensure_topics(kafka, [topic], partitions=3)
    producer = make_producer(kafka)
    await producer.start()
    runner = ProjectionRunner(db=db, projections=[Movements()], topics=[topic], bootstrap=kafka,
                              group_id=f"{name}-group", registry=lag_events)
    await runner.ensure_indexes()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(OutboxRelay(store, producer, topic).run(stop)), asyncio.create_task(runner.run(stop))]
    appended: dict[str, float] = {}
    try:
        # warm: the consumer joins its group and the first batch goes through before the clock starts
        warm = lag_events.wrap(GateMovement(site="S-0", code="4-N01WARM0"), stream_id="warm", stream_version=1)
        await store.append("warm", 0, [warm])
        await _until_visible([warm.id], 120)
        count, began = int(rate * seconds), time.perf_counter()
        for i in range(count):
            due = began + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)  # the fixed arrival rate (open loop), not a synchronisation
            envelope = lag_events.wrap(GateMovement(site=f"S-{i % 50}", code=f"4-N01{i:05d}"),
                                       stream_id=f"presence-{uuid.uuid4().hex[:10]}", stream_version=1)
            await store.append(envelope.streamid, 0, [envelope])
            appended[envelope.id] = time.perf_counter()
        achieved = count / (time.perf_counter() - began)
        await _until_visible(list(appended), 120)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
        await client.drop_database(name)
        await client.close()
        projector_module.apply_batch = _original_apply_batch  # type: ignore[assignment]
    lags = [(_visible[i] - t) * 1000 for i, t in appended.items() if i in _visible]
    cuts = statistics.quantiles(lags, n=100)
    return {"rate_per_s": rate, "achieved_per_s": round(achieved, 1), "events": len(appended), "visible": len(lags),
            "p50_ms": round(cuts[49], 1), "p99_ms": round(cuts[98], 1), "max_ms": round(max(lags), 1)}
