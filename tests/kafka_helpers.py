"""Reading a topic back in tests."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from nrmm_kernel import bus
from nrmm_kernel.envelope import EventEnvelope


async def read_topic(bootstrap: str, topic: str, *, at_least: int, timeout: float = 30.0) -> list[EventEnvelope]:
    """Every message on ``topic`` from the beginning, once ``at_least`` have arrived (or the timeout passed)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                isolation_level="read_committed", enable_auto_commit=False, group_id=None)
    await consumer.start()
    seen: list[EventEnvelope] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for messages in batch.values():
                seen.extend(bus.decode(m.value) for m in messages if not bus.is_control(m))
            if len(seen) >= at_least and not batch:
                break
    finally:
        await consumer.stop()
    return seen


def first_seen_versions(envelopes: list[EventEnvelope]) -> dict[str, list[int]]:
    """Per stream, versions in the order they first appeared (duplicates after a restart dropped)."""
    order: dict[str, list[int]] = {}
    for e in envelopes:
        versions = order.setdefault(e.streamid, [])
        if e.streamversion not in versions:
            versions.append(e.streamversion)
    return order
