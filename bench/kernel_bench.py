"""Kernel throughput on the real broker and database, all in one run. Prints figures; asserts nothing.

    uv run python bench/kernel_bench.py [--scale 1.0]

Endpoints: NRMM_KAFKA_BOOTSTRAP and NRMM_MONGODB_URL, else the native infrastructure (deploy/native.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from nrmm_kernel.bus import ensure_topics, make_producer
from nrmm_kernel.envelope import DomainEvent, EventEnvelope, EventRegistry
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.logging import configure_logging
from nrmm_kernel.projector import Projection, ProjectionRunner, on
from nrmm_kernel.relay import OutboxRelay
from nrmm_kernel.runtime import mongo_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import endpoints, line  # noqa: E402

registry = EventRegistry(namespace="bench.nrmm", source="/nrmm/bench")


@registry.register
class MachineEntered(DomainEvent):
    site: str
    code: str


class SiteCount(Projection):
    name = "bench_machines"
    contract = registry

    @on(MachineEntered)
    def entered(self, doc, event: MachineEntered, envelope: EventEnvelope):
        doc = dict(doc or {"entries": 0})
        doc.update(entries=doc["entries"] + 1, site=event.site, code=event.code)
        return doc


def envelope(stream: str, version: int) -> EventEnvelope:
    return registry.wrap(MachineEntered(site=f"S-{version % 50}", code="4-N01ABCDE"),
                         stream_id=stream, stream_version=version)


async def bench_kafka(bootstrap: str, n: int) -> None:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], partitions=3)
    payload = envelope("machine-x", 1).model_dump_json().encode()
    producer = make_producer(bootstrap)
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send(topic, value=payload, key=f"m-{i % 500}".encode()) for i in range(n)]
    await asyncio.gather(*futures)
    line(f"kafka produce (acks=all, idempotent, {len(payload)} B)", n, time.perf_counter() - started, "msgs")
    await producer.stop()

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    started, seen = time.perf_counter(), 0
    while seen < n:
        batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
        seen += sum(len(v) for v in batch.values())
    line("kafka consume", seen, time.perf_counter() - started, "msgs")
    await consumer.stop()


async def bench_database(db, n: int) -> None:
    docs = [envelope(f"machine-{i}", 1).to_json_dict() for i in range(n)]
    started = time.perf_counter()
    for i in range(0, n, 1000):
        await db.raw_bulk.insert_many([dict(d) for d in docs[i:i + 1000]], ordered=False)
    line("database bulk insert (insert_many x1000)", n, time.perf_counter() - started, "docs")


async def bench_store(store: EventStore, sequential: int, writers: int, per_writer: int) -> None:
    started = time.perf_counter()
    for i in range(sequential):
        stream = f"seq-{i % 100}"
        version = i // 100
        await store.append(stream, version, [envelope(stream, version + 1)])
    line("event store append, sequential", sequential, time.perf_counter() - started, "commits")

    async def writer(w: int) -> None:
        for i in range(per_writer):
            stream = f"conc-{w}-{i % 10}"
            version = i // 10
            await store.append(stream, version, [envelope(stream, version + 1)])

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    line(f"event store append, {writers} concurrent writers", writers * per_writer,
         time.perf_counter() - started, "commits")


async def bench_pipeline(db, store: EventStore, bootstrap: str) -> None:
    topic = f"bench.store.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], partitions=3)
    total = await store.backlog()
    producer = make_producer(bootstrap)
    await producer.start()
    relay = OutboxRelay(store, producer, topic, batch_size=1000)
    started, sent = time.perf_counter(), 0
    while n := await relay.publish_batch():
        sent += n
    line("outbox relay publish", sent, time.perf_counter() - started, "events")
    await producer.stop()

    runner = ProjectionRunner(db=db, projections=[SiteCount()], topics=[topic], bootstrap=bootstrap,
                              group_id=f"bench-{uuid.uuid4().hex[:6]}", registry=registry)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(runner.run(stop))
    while runner.applied < total:
        await asyncio.sleep(0.05)
        if task.done():
            task.result()
    line("projector apply (Kafka -> read model)", runner.applied, time.perf_counter() - started, "events")
    stop.set()
    await task


async def main(scale: float) -> None:
    configure_logging("WARNING")
    bootstrap, url = endpoints()
    client = mongo_client(url)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    db = client[name]
    print(f"kafka={bootstrap} database={url} ({(await client.server_info()).get('ferretdbVersion', 'MongoDB')})")
    try:
        await bench_kafka(bootstrap, int(20000 * scale))
        await bench_database(db, int(20000 * scale))
        store = EventStore(db)
        await store.ensure_indexes()
        await bench_store(store, sequential=int(2000 * scale), writers=16, per_writer=int(100 * scale))
        await bench_pipeline(db, store, bootstrap)
    finally:
        await client.drop_database(name)
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every workload size")
    sys.exit(asyncio.run(main(parser.parse_args().scale)))
