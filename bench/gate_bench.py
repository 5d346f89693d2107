"""Gate throughput over HTTP: entry registrations per second, and p50 / p99 latency at a fixed offered rate,
beside a bare FastAPI endpoint on the same machine in the same run. Prints figures; asserts nothing.

    uv run python bench/gate_bench.py [--entries 2000] [--concurrency 16] [--rate 50] [--seconds 20]

It starts the gateway, notifications, registry and sites as real processes on the real broker and database
(NRMM_KAFKA_BOOTSTRAP / NRMM_MONGODB_URL, else deploy/native.sh), registers a site through the gateway, and
sends entries of distinct machines with other provinces' codes (admitted by shape, rule C3: the same gate path
as a Chongqing code, one lookup in the sites service's own copy of codes). The load generator runs on the same
2 cores as the services, so both figures are lower bounds of the services alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, endpoints, line  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.conftest import Infra  # noqa: E402
from tests.platform import free_port, start_platform  # noqa: E402
from tests.sites.conftest import ADMIN_PASSWORD, ADMIN_USER, SERVICES, Sites, other_province_code  # noqa: E402

foreign_code = other_province_code  # a distinct well-formed code of province A for each n (rule C5 shape)


def body(n: int) -> dict:
    return {"code": foreign_code(n), "working_period": {"starts_on": "2026-11-28", "ends_on": "2027-06-30"},
            "machine_type": "excavator", "emission_stage": "4"}  # rule E2


async def closed_loop(url: str, headers: dict, start: int, count: int, concurrency: int) -> tuple[int, float]:
    """As fast as ``concurrency`` clients can: (admitted, seconds)."""
    counter = iter(range(start, start + count))
    admitted = 0

    async def worker(client: httpx.AsyncClient):
        nonlocal admitted
        for n in counter:
            response = await client.post(url, json=body(n), headers=headers)
            admitted += response.status_code == 201

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return admitted, time.perf_counter() - began


async def open_loop(url: str, headers: dict, start: int, rate: float, seconds: float) -> tuple[list[float], int]:
    """A request every 1/rate seconds whatever the answers do: latencies (ms) and failures."""
    latencies: list[float] = []
    failures = 0

    async def one(client: httpx.AsyncClient, n: int):
        nonlocal failures
        began = time.perf_counter()
        response = await client.post(url, json=body(n), headers=headers)
        latencies.append((time.perf_counter() - began) * 1000)
        failures += response.status_code != 201

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
        tasks = []
        total = int(rate * seconds)
        began = time.perf_counter()
        for i in range(total):
            await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(client, start + i)))
        await asyncio.gather(*tasks)
    return latencies, failures


async def read_lag(base: str, site: str, headers: dict, start: int, rate: float,
                   seconds: float) -> tuple[list[float], int]:
    """At a fixed rate, an entry and then its own stay read back with the entry's X-Position: how long the read
    waits for the read model (the append -> Kafka -> projector lag a user sees), in ms; and the reads that failed."""
    latencies: list[float] = []
    failures = 0

    async def one(client: httpx.AsyncClient, n: int):
        nonlocal failures
        entered = await client.post(f"{base}/api/sites/sites/{site}/entries", json=body(n), headers=headers)
        began = time.perf_counter()
        read = await client.get(f"{base}/api/sites/sites/{site}/movements", params={"code": foreign_code(n)},
                                headers={**headers, "X-Min-Position": entered.headers.get("X-Position", "")})
        latencies.append((time.perf_counter() - began) * 1000)
        failures += read.status_code != 200 or not read.json()

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
        tasks = []
        began = time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(client, start + i)))
        await asyncio.gather(*tasks)
    return latencies, failures


def percentiles(label: str, latencies: list[float], failures: int, rate: float) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{label:<48} offered {rate:5.0f}/s  p50 {cuts[49]:7.1f} ms  p99 {cuts[98]:7.1f} ms  "
          f"max {max(latencies):7.1f} ms  failures {failures}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    kafka, mongo = endpoints()
    platform = start_platform(Infra(kafka, mongo, "bench"), SERVICES, {
        "NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER, "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "NRMM_LOG_LEVEL": "WARNING"})
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port),
                             "--no-access-log", "--log-level", "warning"], cwd=ROOT / "bench",
                            env={**os.environ, "NRMM_JWT_SECRET": platform.secret})  # the same token check
    try:
        sites = Sites(platform)
        site, admin = sites.register_site(district="04")
        gate = f"{platform.urls['sites']}/api/sites/sites/{site}/entries"
        bare_url = f"http://127.0.0.1:{bare_port}/entries"
        for _ in range(100):
            try:
                httpx.post(bare_url, json=body(0), headers=admin)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"gate benchmark: namespace {platform.namespace}, site {site}, {args.concurrency} clients")
        asyncio.run(closed_loop(gate, admin, 10_000_000, 100, 4))  # warm-up
        admitted, gate_seconds = asyncio.run(closed_loop(gate, admin, 0, args.entries, args.concurrency))
        line("sites: entries admitted, closed loop", admitted, gate_seconds, "entries")
        count, bare_seconds = asyncio.run(closed_loop(bare_url, admin, 0, args.entries, args.concurrency))
        line("bare FastAPI endpoint, closed loop", count, bare_seconds, "requests")
        latencies, failures = asyncio.run(open_loop(gate, admin, 1_000_000, args.rate, args.seconds))
        percentiles("sites: entries at a fixed rate", latencies, failures, args.rate)
        latencies, failures = asyncio.run(open_loop(bare_url, admin, 0, args.rate, args.seconds))
        percentiles("bare FastAPI endpoint at a fixed rate", latencies, failures, args.rate)
        latencies, failures = asyncio.run(read_lag(platform.urls["sites"], site, admin, 2_000_000, args.rate,
                                                   args.seconds))
        percentiles("entry -> its stay readable (X-Min-Position)", latencies, failures, args.rate)
        per_day = admitted / gate_seconds * 86400
        print(f"at the closed-loop rate one gate service takes {per_day:,.0f} entries a day (design peak 100,000)")
    finally:
        bare.terminate()
        platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
