"""The scale benchmark over HTTP: the real services started on the generated city's data.

The sites service starts with an empty copy of the registry's codes and builds it from the registry's topic (the
relay published the generated history there): the projector's catch-up rate. Then gate entries of generated coded
machines (distinct machines, each entering once) against a bare FastAPI endpoint with the same token check: closed
loop (with the CPU each process of the stack spent per entry, its events' consumers included), at half its own
closed-loop rate, verify, and last at half the bare endpoint's closed-loop rate (beyond what the gate sustains:
queueing, whose backlog would spill into anything measured after it).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from common import ROOT  # bench/ is on sys.path

from nrmm_kernel import bus

from . import cpu, seed
from .measure import Figures

sys.path.insert(0, str(ROOT))
from tests.conftest import Infra  # noqa: E402
from tests.platform import Platform, free_port, start_platform  # noqa: E402
from tests.sites.conftest import ADMIN_PASSWORD, ADMIN_USER, SERVICES, Sites  # noqa: E402

WORKING_PERIOD = {"starts_on": "2026-11-28", "ends_on": "2027-06-30"}
# keep-alive shorter than uvicorn's 5 s: a connection the server is closing is never reused (httpx.ReadError)
def LIMITS(connections: int) -> httpx.Limits:  # noqa: N802 - reads as the constant it stands for
    return httpx.Limits(max_connections=connections, keepalive_expiry=4)


_used = 0  # the next machine to enter a site (each enters once; a run on a grown city starts past earlier runs')


def entries(count: int, size: int) -> list[dict]:
    """Entry bodies of ``count`` distinct coded machines not used yet."""
    global _used
    bodies = []
    while len(bodies) < count and _used < size:
        m = seed.machine(_used)
        _used += 1
        if m.code:
            machine = m.commits[0][0].data["machine"]
            bodies.append({"code": m.code, "working_period": WORKING_PERIOD, "machine_type": machine["category"],
                           "emission_stage": machine["emission_stage"]})  # rule E2
    return bodies


async def _post_all(url: str, headers: dict, bodies: list[dict], concurrency: int) -> tuple[int, float]:
    queue = iter(bodies)
    admitted = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal admitted
        for body in queue:
            try:
                response = await client.post(url, json=body, headers=headers)
            except httpx.TransportError:
                continue  # not admitted: counted by the rate
            admitted += response.status_code == 201

    async with httpx.AsyncClient(timeout=60, limits=LIMITS(concurrency)) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return admitted, time.perf_counter() - began


async def _at_rate(url: str, headers: dict, bodies: list[dict], rate: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0

    async def one(client: httpx.AsyncClient, body: dict) -> None:
        nonlocal failures
        began = time.perf_counter()
        try:
            response = await client.post(url, json=body, headers=headers)
        except httpx.TransportError:
            failures += 1
            return
        latencies.append((time.perf_counter() - began) * 1000)
        failures += response.status_code != 201

    async with httpx.AsyncClient(timeout=60, limits=LIMITS(200)) as client:
        tasks = []
        began = time.perf_counter()
        for i, body in enumerate(bodies):
            await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(client, body)))
        await asyncio.gather(*tasks)
    return latencies, failures


async def _verify(url: str, headers: dict, codes: list[str]) -> list[float]:
    samples = []
    async with httpx.AsyncClient(timeout=60) as client:
        for code in codes:
            began = time.perf_counter()
            response = await client.get(url, params={"code": code}, headers=headers)
            samples.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
    return samples


@asynccontextmanager
async def _offsets(kafka: str, topic: str) -> AsyncIterator[tuple[list[TopicPartition], AIOKafkaConsumer,
                                                                   AIOKafkaAdminClient]]:
    """A topic's partitions, a reader of its offsets (no group) and an admin client for the groups' offsets."""
    partitions = [TopicPartition(topic, p) for p in await bus.topic_partitions(kafka, topic)]
    reader = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=None, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await reader.start()
    await admin.start()
    try:
        yield partitions, reader, admin
    finally:
        await admin.close()
        await reader.stop()


async def _committed(kafka: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        return {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()}
    finally:
        await admin.close()


async def _wait_for_catch_up(kafka: str, namespace: str, began: float, figures: Figures, limit: float,
                             start: dict[TopicPartition, int]) -> None:
    """Until the sites service's consumer group has committed the registry topic's end (its offsets: counting the
    copy's documents would be a scan of the copy on FerretDB, every poll), or ``limit`` seconds: then the gate is
    measured while the copy goes on (the machines it admits come first in the topic)."""
    async with _offsets(kafka, f"{namespace}.registry.events") as (partitions, reader, admin):
        end = await reader.end_offsets(partitions)
        first = await reader.beginning_offsets(partitions)
        while True:
            committed = await admin.list_consumer_group_offsets(f"{namespace}.sites.from-registry")
            done = sum(committed[tp].offset - max(first[tp], start.get(tp, 0)) for tp in partitions
                       if tp in committed)  # applied in this run: from where the group stood
            if all(tp in committed and committed[tp].offset >= end[tp] for tp in partitions):
                break
            if time.perf_counter() - began > limit:
                figures.note("sites projector: still catching up when the gate was measured",
                             sum(end[tp] - (committed[tp].offset if tp in committed else first[tp])
                                 for tp in partitions), "messages left")
                break
            await asyncio.sleep(1)  # a benchmark's progress poll, not a test's synchronisation
    figures.rate("sites projector: registry topic messages applied", done, time.perf_counter() - began, "messages")


async def _settle(kafka: str, namespace: str, limit: float = 180) -> None:
    """Until every consumer group of the sites service's topic has committed the end it has now (at most ``limit``
    seconds): the events of the entries just made are through the projectors, notices and feeds."""
    async with _offsets(kafka, f"{namespace}.sites.events") as (partitions, reader, admin):
        end = await reader.end_offsets(partitions)
        groups = [g for g, _ in await admin.list_consumer_groups() if g.startswith(f"{namespace}.")]
        began = time.perf_counter()
        while time.perf_counter() - began < limit:
            behind = 0
            for group in groups:
                committed = await admin.list_consumer_group_offsets(group)
                if any(tp in committed for tp in partitions):
                    behind += sum(max(0, end[tp] - committed[tp].offset) for tp in partitions if tp in committed)
            if not behind:
                return
            await asyncio.sleep(0.5)  # a benchmark's progress poll, not a test's synchronisation


async def _skip_to_end(kafka: str, namespace: str) -> None:
    """The consumer groups of the registry's topic whose read models this benchmark does not read (the registry's
    own were rebuilt; the copies of notifications and the gateway, and the department feeds, are not used here)
    start at its end, so that the sites service's catch-up is measured alone, not against others replaying the same
    history. The groups are the ones named here and any other that has read the topic; a group's offsets on other
    topics are left as they are."""
    topic = f"{namespace}.registry.events"
    partitions = [TopicPartition(topic, p) for p in await bus.topic_partitions(kafka, topic)]
    groups = {f"{namespace}.registry.projections", f"{namespace}.notifications.from-registry",
              f"{namespace}.gateway.from-registry", f"{namespace}.notifications.feeds"}
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        for group, _ in await admin.list_consumer_groups():
            if group.startswith(f"{namespace}.") and any(
                    tp.topic == topic for tp in await admin.list_consumer_group_offsets(group)):
                groups.add(group)
    finally:
        await admin.close()
    for group in sorted(groups - {f"{namespace}.sites.from-registry"}):
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.commit(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()


def http_figures(figures: Figures, kafka: str, mongo: str, namespace: str, size: int, count: int,
                 catch_up_seconds: float = 360, entries_from: int = 0) -> None:
    global _used
    _used = max(_used, entries_from)
    asyncio.run(_skip_to_end(kafka, namespace))
    start = asyncio.run(_committed(kafka, f"{namespace}.sites.from-registry"))
    began = time.perf_counter()
    platform = start_platform(Infra(kafka, mongo, "bench"), SERVICES, {
        "NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER, "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "NRMM_LOG_LEVEL": "WARNING"}, joining=Platform(namespace=namespace, secret=_secret(namespace)))
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port),
                             "--no-access-log", "--log-level", "warning"], cwd=ROOT / "bench",
                            env={**os.environ, "NRMM_JWT_SECRET": platform.secret})
    try:
        spent = cpu.snapshot()
        asyncio.run(_wait_for_catch_up(kafka, namespace, began, figures, catch_up_seconds, start))
        applied = figures.rates["sites projector: registry topic messages applied"]["count"]
        if applied:
            figures.note("sites projector: CPU ms per message", cpu.per_item(spent, cpu.snapshot(), applied))
        site, admin = Sites(platform).register_site(district="04")
        gate = f"{platform.urls['sites']}/api/sites/sites/{site}/entries"
        bare_url = f"http://127.0.0.1:{bare_port}/entries"
        spent, statements = cpu.snapshot(), cpu.transactions()
        admitted, seconds = asyncio.run(_post_all(gate, admin, entries(count, size), 16))
        figures.rate("gate: entries admitted over HTTP, closed loop", admitted, seconds, "entries")
        asyncio.run(_settle(kafka, namespace))  # the entries' events through every consumer: their cost too
        figures.note("gate: CPU ms per entry (with its events' consumers)", cpu.per_item(spent, cpu.snapshot(),
                                                                                          admitted))
        figures.note("gate: PostgreSQL transactions per entry",
                     cpu.transactions_per_item(statements, cpu.transactions(), admitted))
        spent = cpu.snapshot()
        done, bare_seconds = asyncio.run(_post_all(bare_url, admin, entries(count, size), 16))
        figures.rate("bare endpoint (same token check), closed loop", done, bare_seconds, "requests")
        figures.note("bare endpoint: CPU ms per request", cpu.per_item(spent, cpu.snapshot(), done))
        own = max(1.0, admitted / seconds / 2)
        latencies, failures = asyncio.run(_at_rate(gate, admin, entries(int(own * 15), size), own))
        figures.latency("gate: entries at half its own closed-loop rate", latencies, failures, rate=round(own))
        asyncio.run(_settle(kafka, namespace))
        codes = [b["code"] for b in entries(300, size)]
        verify = asyncio.run(_verify(f"{platform.urls['registry']}/api/registry/verify", admin, codes))
        figures.latency("verify over HTTP", verify)
        # last: beyond the gate's closed-loop rate this is queueing, and its backlog would be in what followed
        rate = max(1.0, done / bare_seconds / 2)
        latencies, failures = asyncio.run(_at_rate(gate, admin, entries(int(rate * 15), size), rate))
        figures.latency("gate: entries at half the bare closed-loop rate", latencies, failures, rate=round(rate))
    finally:
        bare.terminate()
        platform.stop()


def _secret(namespace: str) -> str:
    # one signing key per benchmark namespace: the gateway's accounts there keep working from run to run
    return f"scale-bench-{namespace}-" + "k" * 32
