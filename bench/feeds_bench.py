"""Department feeds: webhook fan-out to 100 loopback subscribers (signed deliveries per second), and 500 concurrent
Server-Sent Events streams (each event at every stream: p50 / p99 / max delay from its publication). Prints figures;
asserts nothing.

    uv run python bench/feeds_bench.py [--subscribers 100] [--events 30] [--streams 500] [--sse-events 20]

It starts the notifications service as a real process on the real broker and database (NRMM_KAFKA_BOOTSTRAP /
NRMM_MONGODB_URL, else deploy/native.sh) with webhooks to loopback allowed, and puts MachineEntered events of one
housing site of district 05 on the sites topic as the sites service's relay would. The receivers (an asyncio HTTP
server on one port per subscriber, checking each request's signature on a sample with the `standardwebhooks`
package) and the SSE clients run on the same 2 cores as the service and the database: the figures are lower bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, endpoints, line  # noqa: E402

sys.path.insert(0, str(ROOT))
from standardwebhooks.webhooks import Webhook  # noqa: E402

from nrmm_kernel import bus  # noqa: E402
from nrmm_kernel.reference import Department  # noqa: E402
from sites import contracts as sites  # noqa: E402
from tests.conftest import Infra  # noqa: E402
from tests.feeds import events as ev  # noqa: E402
from tests.feeds.conftest import FEED_ENV, admin  # noqa: E402
from tests.platform import start_platform  # noqa: E402


class Receivers:
    """One tiny HTTP/1.1 server per subscriber: reads a request, answers 204, notes when."""

    def __init__(self):
        self.count, self.done, self.target = 0, asyncio.Event(), 0
        self.samples: list[tuple[int, bytes, dict]] = []
        self.servers = []

    async def start(self, n: int) -> list[str]:
        urls = []
        for i in range(n):
            server = await asyncio.start_server(lambda r, w, i=i: self._serve(i, r, w), "127.0.0.1", 0)
            self.servers.append(server)
            urls.append(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook/{i}")
        return urls

    async def _serve(self, i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for raw in head.decode().split("\r\n")[1:]:
                    if ":" in raw:
                        k, v = raw.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                self.count += 1
                if len(self.samples) < 5:
                    self.samples.append((i, body, headers))
                if self.count >= self.target:
                    self.done.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def publish(infra: Infra, namespace: str, site: str, n: int, pace: float = 0.0) -> list[float]:
    """Put n MachineEntered events on the sites topic; when each was sent (time.time())."""
    producer = bus.make_producer(infra.kafka_bootstrap, linger_ms=0)
    await producer.start()
    sent = []
    try:
        for _ in range(n):
            stay = ev.entered(site, "05", "housing", ev.new_code("05"))
            envelope = sites.events.wrap(stay, stream_id=f"presence-{stay.machine.code[2:]}", stream_version=1)
            key, value, headers = bus.encode(envelope)
            if pace:  # one at a time, each measured from its own publication
                await producer.send_and_wait(f"{namespace}.sites.events", value=value, key=key, headers=headers)
                await asyncio.sleep(pace)
            else:  # a burst, as the relay publishes a batch
                await producer.send(f"{namespace}.sites.events", value=value, key=key, headers=headers)
            sent.append(time.time())
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def fan_out(platform, infra: Infra, subscribers: int, events: int) -> None:
    http = httpx.AsyncClient(base_url=platform.urls["notifications"], timeout=60)
    housing = admin(platform, Department.HOUSING, "05")
    receivers = Receivers()
    urls = await receivers.start(subscribers)
    secrets, ids = {}, []
    for i, url in enumerate(urls):
        made = await http.post("/api/notifications/subscriptions", headers=housing, json={
            "name": f"bench {i}", "department": "housing", "district": "05", "event_types": [ev.ENTERED],
            "webhook_url": url})
        made.raise_for_status()
        secrets[i] = made.json()["secret"]
        ids.append(made.json()["subscription_id"])
    await asyncio.sleep(3)  # the dispatcher has started every subscriber's sender (it looks every 2 s)
    receivers.target = subscribers * events
    started = time.perf_counter()
    await publish(infra, platform.namespace, "BENCH-SITE", events)
    await asyncio.wait_for(receivers.done.wait(), 600)
    elapsed = time.perf_counter() - started
    line(f"webhook fan-out: {events} events x {subscribers} subscribers", receivers.count, elapsed, "deliveries")
    for i, body, headers in receivers.samples:
        Webhook(secrets[i]).verify(body, headers)
    print(f"  signatures of {len(receivers.samples)} sampled deliveries verified with standardwebhooks", flush=True)
    for server in receivers.servers:
        server.close()
    for sub_id in ids:  # ended: the SSE part measures the streams alone
        (await http.delete(f"/api/notifications/subscriptions/{sub_id}", headers=housing)).raise_for_status()
    await http.aclose()


async def sse(platform, infra: Infra, streams: int, events: int) -> None:
    http = httpx.AsyncClient(base_url=platform.urls["notifications"], timeout=60)
    housing = admin(platform, Department.HOUSING, "05")
    subs = []
    for i in range(10):
        made = await http.post("/api/notifications/subscriptions", headers=housing, json={
            "name": f"sse {i}", "department": "housing", "district": "05", "event_types": [ev.ENTERED]})
        made.raise_for_status()
        subs.append(made.json()["subscription_id"])
    host, port = platform.urls["notifications"].removeprefix("http://").split(":")
    delays: list[float] = []
    received = [0] * streams
    ready = [asyncio.Event() for _ in range(streams)]

    async def stream(n: int) -> None:
        sub = subs[n % len(subs)]
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /api/notifications/feeds/{sub}/stream HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: {housing['Authorization']}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        try:
            while received[n] < events:
                raw = await reader.readline()
                if not raw:
                    return
                if raw.startswith(b": connected"):
                    ready[n].set()
                elif raw.startswith(b"data: "):
                    at = time.time()
                    sent = datetime.fromisoformat(json.loads(raw[6:])["time"].replace("Z", "+00:00"))
                    delays.append(at - sent.timestamp())
                    received[n] += 1
        finally:
            writer.close()

    tasks = [asyncio.create_task(stream(n)) for n in range(streams)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 120)
    started = time.perf_counter()
    await publish(infra, platform.namespace, "BENCH-SSE", events, pace=0.5)
    await asyncio.wait_for(asyncio.gather(*tasks), 300)
    elapsed = time.perf_counter() - started
    delays.sort()
    line(f"SSE: {events} events x {streams} streams", len(delays), elapsed, "events")
    print(f"  delay publication -> stream: p50 {statistics.median(delays) * 1000:.0f} ms, "
          f"p99 {delays[int(len(delays) * 0.99) - 1] * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms "
          f"({sum(received)} of {streams * events} received)", flush=True)
    await http.aclose()


async def register_sites(platform, infra: Infra) -> None:
    producer = bus.make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        for site in ("BENCH-SITE", "BENCH-SSE"):
            key, value, headers = bus.encode(sites.events.wrap(ev.site_registered(site, "05"),
                                                               stream_id=f"site-{site}", stream_version=1))
            await producer.send_and_wait(f"{platform.namespace}.sites.events", value=value, key=key, headers=headers)
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--sse-events", type=int, default=20)
    args = parser.parse_args()
    kafka, mongo = endpoints()
    infra = Infra(kafka, mongo, "bench")
    platform = start_platform(infra, ["notifications"], {**FEED_ENV, "NRMM_LOG_LEVEL": "WARNING"})
    try:
        asyncio.run(register_sites(platform, infra))

        asyncio.run(fan_out(platform, infra, args.subscribers, args.events))
        # a second process for the SSE part: the webhook senders of the first part do not share its cores
        platform.stop()
        platform = start_platform(infra, ["notifications"], {**FEED_ENV, "NRMM_LOG_LEVEL": "WARNING"},
                                  joining=platform)
        asyncio.run(sse(platform, infra, args.streams, args.sse_events))
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
