"""Projector throughput with 2 instances vs 1 on the same topic. Prints figures; asserts nothing.

    uv run python bench/instances_bench.py [--streams 2000] [--versions 5] [--partitions 6]

A store of ``streams`` x ``versions`` events is published once (transactional relay) to a topic; then one
projector process, and then two processes in one consumer group (each its own OS process, as two instances are),
apply it into fresh read models. Throughput counts from the first document written to the last event applied, so
process start and the group's first join are left out. Each instance writes with revision claims (revisions.py).

Endpoints: NRMM_KAFKA_BOOTSTRAP and NRMM_MONGODB_URL, else the native infrastructure (deploy/native.sh). Run it on a
stack of its own, not a shared one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from nrmm_kernel.bus import ensure_topics, make_producer
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.logging import configure_logging
from nrmm_kernel.projector import Projection, ProjectionRunner, on
from nrmm_kernel.relay import OutboxRelay
from nrmm_kernel.runtime import mongo_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import endpoints, line  # noqa: E402

from tests.sample import MachineMoved, MachineRegistered, registry  # noqa: E402


class Positions(Projection):
    name = "bench_positions"
    contract = registry

    @on(MachineRegistered, MachineMoved)
    def folded(self, doc: dict[str, Any] | None, event: Any, envelope: EventEnvelope) -> dict[str, Any]:
        return {"version": envelope.streamversion, "site": getattr(event, "site", None)}


async def publish(kafka: str, mongo: str, database: str, topic: str, streams: int, versions: int,
                  partitions: int) -> int:
    await ensure_topics(kafka, [topic], partitions=partitions)
    client = mongo_client(mongo)
    store = EventStore(client[database])
    await store.ensure_indexes()
    for s in range(streams):
        events = [MachineRegistered(code=f"4-N01{s:05d}", category="crane")]
        events += [MachineMoved(site=f"S-{v}") for v in range(2, versions + 1)]
        await store.append(f"machine-{s}", 0, [registry.wrap(e, stream_id=f"machine-{s}", stream_version=v)
                                               for v, e in enumerate(events, start=1)])
    producer = make_producer(kafka, transactional_id=f"{topic}.relay")
    await producer.start()
    try:
        relay, sent = OutboxRelay(store, producer, topic, batch_size=1000, transactional=True), 0
        while n := await relay.publish_batch():
            sent += n
    finally:
        await producer.stop()
        await client.close()
    return sent


async def runner(kafka: str, mongo: str, database: str, topic: str, group: str) -> None:
    """One instance: the projector until SIGTERM."""
    client = mongo_client(mongo)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    projector = ProjectionRunner(db=client[database], projections=[Positions()], topics=[topic], bootstrap=kafka,
                                 group_id=group)
    await projector.ensure_indexes()
    await projector.run(stop)
    await client.close()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(runners: list[int]) -> dict[str, float]:
    """CPU seconds so far: the projector processes' own (user + system), and the whole machine's busy and total
    time over every core (/proc/stat), so a run can tell whether the cores were the limit."""
    projectors = 0.0
    for pid in runners:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        projectors += (int(fields[11]) + int(fields[12])) / TICK
    cpu = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = cpu[3] + cpu[4]  # idle + iowait
    return {"projectors": projectors, "machine_busy": (sum(cpu) - idle) / TICK, "machine_total": sum(cpu) / TICK}


async def measure(mongo: str, database: str, streams: int, versions: int, instances: int, topic: str,
                  kafka: str) -> float:
    group = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "NRMM_KAFKA_BOOTSTRAP": kafka, "NRMM_MONGODB_URL": mongo}
    procs = [subprocess.Popen([sys.executable, __file__, "--runner", database, topic, group], env=env)  # noqa: ASYNC220
             for _ in range(instances)]
    client = mongo_client(mongo)
    collection = client[database][Positions.name]
    try:
        while await collection.count_documents({}) == 0:  # noqa: ASYNC110 - the first write: the group has formed
            await asyncio.sleep(0.01)
        began, cpu_before = time.perf_counter(), cpu_seconds([p.pid for p in procs])
        while await collection.count_documents({"version": versions}) < streams:  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - began
        cpu_after = cpu_seconds([p.pid for p in procs])
        used = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
        print(f"  while applying: the projectors used {used['projectors'] / seconds:.2f} cores; the machine was "
              f"{100 * used['machine_busy'] / used['machine_total']:.0f} % busy over its {os.cpu_count()} cores "
              f"(load average {os.getloadavg()[0]:.1f})")
        return seconds
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        await client.close()


async def main(args: argparse.Namespace) -> None:
    kafka, mongo = endpoints()
    configure_logging("WARNING")
    topic, source = f"bench.instances.{uuid.uuid4().hex[:8]}.events", f"bench_inst_{uuid.uuid4().hex[:8]}"
    events = await publish(kafka, mongo, source, topic, args.streams, args.versions, args.partitions)
    print(f"{events} events on {topic} ({args.partitions} partitions), {os.cpu_count()} cores")
    client = mongo_client(mongo)
    figures = {}
    try:
        for instances in (1, 2):
            database = f"{source}_{instances}"
            seconds = await measure(mongo, database, args.streams, args.versions, instances, topic, kafka)
            figures[instances] = events / seconds
            line(f"projector, {instances} instance(s), one consumer group", events, seconds, "events")
            await client.drop_database(database)
    finally:
        await client.drop_database(source)
        await client.close()
    print(f"2 instances / 1 instance: {figures[2] / figures[1]:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--runner":
        configure_logging("WARNING")
        asyncio.run(runner(os.environ["NRMM_KAFKA_BOOTSTRAP"], os.environ["NRMM_MONGODB_URL"], *sys.argv[2:5]))
    else:
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("--streams", type=int, default=2000)
        parser.add_argument("--versions", type=int, default=5)
        parser.add_argument("--partitions", type=int, default=6)
        asyncio.run(main(parser.parse_args()))
