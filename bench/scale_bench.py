"""City scale: grow a Chongqing-shaped history to each size and measure the platform at it. Prints figures and saves
them (JSON and a PNG chart) under bench/results/; asserts nothing.

    uv run python bench/scale_bench.py [--sizes 10000,100000,1000000] [--namespace city] [--http-entries 2000]

Each size adds machines to the same namespace (machine i is the same machine in every run, bench/city/seed.py),
so a second run at a larger size reuses what the first wrote; ``--fresh`` drops the namespace first. Per size:
seed rate; raw single and bulk insert; event store append; hot-path lookups through the services' own code
(p50/p99); the registry's relay publishing the new commits vs raw batched produce; a rebuild of the registry's
machine records vs a raw bulk write of the same documents (peak RSS); then over HTTP with the real services on
that data: the sites service's projector catching up, gate entries (closed loop and at a fixed rate of half the
bare endpoint's) vs a bare FastAPI endpoint, and verify.

Endpoints: NRMM_KAFKA_BOOTSTRAP and NRMM_MONGODB_URL, else the native infrastructure (deploy/native.sh). Disk: about
2 GB of FerretDB data per million commits (a machine is 2.1 commits on average).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from city import seed  # noqa: E402
from city.measure import Figures, timed_lookups  # noqa: E402
from common import ROOT, endpoints  # noqa: E402

from nrmm_kernel.bus import ensure_topics, make_producer  # noqa: E402
from nrmm_kernel.eventstore import EventStore  # noqa: E402
from nrmm_kernel.logging import configure_logging  # noqa: E402
from nrmm_kernel.rebuild import rebuild, rebuild_from_topic  # noqa: E402
from nrmm_kernel.relay import OutboxRelay  # noqa: E402
from nrmm_kernel.runtime import mongo_client  # noqa: E402
from registry.domain.events import registry as registry_events  # noqa: E402
from registry.projections.machines import MachineRecords  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SITES_PER_MACHINE = 0.05  # 50k active sites for 1 M machines
RELAY_TAIL = 10_000  # machines (about 21k commits) of each size left for the relay to publish


async def database_figures(figures: Figures, mongo_url: str, kafka: str, namespace: str, size: int,
                           store_rebuild_max: int) -> None:
    client = mongo_client(mongo_url)
    registry_db, sites_db = client[f"{namespace}_registry"], client[f"{namespace}_sites"]
    store = EventStore(registry_db)

    topic = f"{namespace}.registry.events"
    await ensure_topics(kafka, [topic], partitions=3)
    producer = make_producer(kafka)
    await producer.start()
    began = time.perf_counter()
    try:  # the history on the registry's topic too, but for the newest machines: the relay's backlog to measure
        added = await seed.seed_machines(registry_db, size, producer=producer, topic=topic, pending_tail=RELAY_TAIL)
    finally:
        await producer.stop()
    sites_added = await seed.seed_sites(sites_db, int(size * SITES_PER_MACHINE))
    if added:
        figures.rate("seed: machines written (events, indexes)", added, time.perf_counter() - began, "machines")
    figures.note("sites", int(size * SITES_PER_MACHINE), f"{sites_added} added")
    head = await store.head_position()
    figures.note("commits", head, "in the registry's event store")

    scratch = client[f"{namespace}_scratch"]["raw"]
    await scratch.drop()
    docs = [{"_id": uuid.uuid4().hex, "n": i, "payload": "x" * 600} for i in range(10_000)]
    began = time.perf_counter()
    for d in docs[:500]:
        await scratch.insert_one(d)
    figures.rate("raw: single inserts", 500, time.perf_counter() - began, "docs")
    began = time.perf_counter()
    for i in range(500, len(docs), 1000):
        await scratch.insert_many(docs[i:i + 1000], ordered=False)
    figures.rate("raw: bulk insert (insert_many x1000)", len(docs) - 500, time.perf_counter() - began, "docs")

    appended = 300
    began = time.perf_counter()
    for i in range(appended):
        stream = f"bench-append-{uuid.uuid4().hex[:12]}"
        event = registry_events.decode(seed.machine(i).commits[0][0])
        envelope = registry_events.wrap(event, stream_id=stream, stream_version=1)
        await store.append(stream, 0, [envelope])
    figures.rate("event store: append (new stream)", appended, time.perf_counter() - began, "commits")

    machines = sampled_machines(size)
    await store_lookups(figures, registry_db, machines)

    # the relay: the backlog of new commits to the registry's own topic, and raw batched produce of the same messages
    producer = make_producer(kafka)
    await producer.start()
    try:
        relay = OutboxRelay(store, producer, topic, batch_size=5000)
        began, sent = time.perf_counter(), 0
        while n := await relay.publish_batch():
            sent += n
        figures.rate("relay: outbox to Kafka (batch 5000)", sent, time.perf_counter() - began, "events")
        raw_topic = f"{namespace}.raw.{uuid.uuid4().hex[:6]}"
        await ensure_topics(kafka, [raw_topic], partitions=3)
        payloads = [e.model_dump_json().encode() for m in machines[:200] for c in m.commits for e in c] * 25
        began = time.perf_counter()
        futures = [await producer.send(raw_topic, value=p, key=str(i % 997).encode()) for i, p in enumerate(payloads)]
        await asyncio.gather(*futures)
        figures.rate("raw: batched produce of the same events", len(payloads), time.perf_counter() - began, "msgs")
    finally:
        await producer.stop()

    # a rebuild of the machine records (from the registry's topic; from its event store up to a size), then a raw
    # bulk write of the documents it made
    if size <= store_rebuild_max:
        began = time.perf_counter()
        await rebuild(registry_db, store, MachineRecords(), registry=registry_events, progress=True)
        figures.rate("rebuild from the event store: machine records", head, time.perf_counter() - began, "commits")
    began = time.perf_counter()
    events = await rebuild_from_topic(registry_db, kafka, topic, MachineRecords(), progress=True)
    figures.rate("rebuild from the topic: machine records", events, time.perf_counter() - began, "events")
    figures.note("peak RSS after rebuild (MB)", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "")
    sample = await registry_db["machine_records"].find({}).limit(20_000).to_list(None)
    raw = client[f"{namespace}_scratch"]["records"]
    await raw.drop()
    began = time.perf_counter()
    for i in range(0, len(sample), 1000):
        await raw.insert_many(sample[i:i + 1000], ordered=False)
    figures.rate("raw: bulk write of machine record documents", len(sample), time.perf_counter() - began, "docs")
    records = registry_db["machine_records"]
    await record_lookups(figures, registry_db, machines)
    figures.note("machine records", await records.count_documents({}), "")
    await client.close()


def sampled_machines(size: int) -> list[seed.Machine]:
    return [seed.machine(i) for i in range(0, size, max(1, size // 400))]


async def store_lookups(figures: Figures, registry_db, machines: list[seed.Machine]) -> None:
    store = EventStore(registry_db)
    await timed_lookups(figures, "code index by code", [m for m in machines if m.code],
                        lambda m: registry_db["code_index"].find_one({"_id": m.code}))
    await timed_lookups(figures, "event store: stream version", machines,
                        lambda m: store.stream_version(m.stream_id))
    await timed_lookups(figures, "event store: read stream", machines, lambda m: store.read_stream(m.stream_id))
    await timed_lookups(figures, "event store: head position (fresh process)", machines[:50],
                        lambda m: EventStore(registry_db).head_position())


async def record_lookups(figures: Figures, registry_db, machines: list[seed.Machine]) -> None:
    records = registry_db["machine_records"]
    await timed_lookups(figures, "machine records by id", machines, lambda m: records.find_one({"_id": m.stream_id}))
    await timed_lookups(figures, "machine records by code", [m for m in machines if m.code],
                        lambda m: records.find_one({"codes": m.code}))


async def rebuild_alone(figures: Figures, mongo_url: str, kafka: str, namespace: str) -> None:
    client = mongo_client(mongo_url)
    began = time.perf_counter()
    events = await rebuild_from_topic(client[f"{namespace}_registry"], kafka, f"{namespace}.registry.events",
                                      MachineRecords(), progress=True)
    figures.rate("rebuild from the topic: machine records", events, time.perf_counter() - began, "events")
    figures.note("peak RSS of the rebuilding process (MB)", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    await client.close()


async def lookups(figures: Figures, mongo_url: str, namespace: str, size: int) -> None:
    """The hot-path lookups again on a city already grown (a quiet machine: after the seeding's autovacuum)."""
    client = mongo_client(mongo_url)
    machines = sampled_machines(size)
    await store_lookups(figures, client[f"{namespace}_registry"], machines)
    await record_lookups(figures, client[f"{namespace}_registry"], machines)
    await client.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--namespace", default="city")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--http-entries", type=int, default=2000)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--store-rebuild-max", type=int, default=100_000,
                        help="rebuild from the event store too up to this size (always from the topic)")
    parser.add_argument("--lag-rates", default="100,500", help="append -> visible at these events/s ('' for none)")
    parser.add_argument("--lag-seconds", type=float, default=10)
    parser.add_argument("--lag-only", action="store_true", help="only the append -> visible figures")
    parser.add_argument("--lookups-only", action="store_true", help="only the lookups, on the city already grown")
    parser.add_argument("--grown", action="store_true",
                        help="the city already grown to each size: the lookups and the HTTP figures only (no "
                             "seeding, relay or rebuild), saved as JSON and PNG")
    parser.add_argument("--rebuild-only", action="store_true",
                        help="the city already grown: only the rebuild of the machine records from the topic, with "
                             "its peak RSS (a process that does nothing else)")
    parser.add_argument("--catch-up-seconds", type=float, default=360,
                        help="how long the gate waits for the sites copy of the registry's codes to catch up")
    parser.add_argument("--entries-from", type=int, default=0,
                        help="the first machine to enter a site (past the machines earlier runs left inside sites)")
    args = parser.parse_args()
    configure_logging("WARNING")  # the runners' per-event debug lines would be measured too
    kafka, mongo = endpoints()
    if args.lookups_only:
        for size in [int(s) for s in args.sizes.split(",")]:
            print(f"\n== lookups, {size:,} machines ==", flush=True)
            asyncio.run(lookups(Figures(size), mongo, args.namespace, size))
        return 0
    if args.rebuild_only:
        for size in [int(s) for s in args.sizes.split(",")]:
            print(f"\n== rebuild, {size:,} machines ==", flush=True)
            asyncio.run(rebuild_alone(Figures(size), mongo, kafka, args.namespace))
        return 0
    if args.fresh:
        asyncio.run(drop_namespace(mongo, kafka, args.namespace))
    lag = []
    for rate in [int(r) for r in args.lag_rates.split(",") if r]:
        from city.lag import measure
        figures_at = asyncio.run(measure(mongo, kafka, rate, args.lag_seconds))
        lag.append(figures_at)
        print(f"append -> visible at {rate}/s (achieved {figures_at['achieved_per_s']}/s): "
              f"p50 {figures_at['p50_ms']} ms  p99 {figures_at['p99_ms']} ms  max {figures_at['max_ms']} ms  "
              f"({figures_at['visible']}/{figures_at['events']} events)", flush=True)
    runs = []
    for size in [] if args.lag_only else [int(s) for s in args.sizes.split(",")]:
        print(f"\n== {size:,} machines ==", flush=True)
        figures = Figures(size)
        if args.grown:
            asyncio.run(lookups(figures, mongo, args.namespace, size))
        else:
            asyncio.run(database_figures(figures, mongo, kafka, args.namespace, size, args.store_rebuild_max))
        if not args.no_http:
            from city.http import http_figures
            http_figures(figures, kafka, mongo, args.namespace, size, args.http_entries,
                         args.catch_up_seconds, args.entries_from)
        runs.append(figures.as_dict())
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"scale-{stamp}.json"
    out.write_text(json.dumps({"at": stamp, "runs": runs, "append_to_visible": lag}, ensure_ascii=False, indent=2))
    if not runs:
        print(f"\nsaved {out.relative_to(ROOT)}")
        return 0
    from city.chart import chart
    png = chart(runs, RESULTS / f"scale-{stamp}.png")
    print(f"\nsaved {out.relative_to(ROOT)} and {png.relative_to(ROOT)}")
    growth(runs)
    return 0


def growth(runs: list[dict]) -> None:
    """Each lookup's p99 at the largest size over its p99 at the smallest (target: within 3x)."""
    if len(runs) < 2:
        return
    first, last = runs[0]["lookups"], runs[-1]["lookups"]
    print(f"\ngrowth of p99 from {runs[0]['size']:,} to {runs[-1]['size']:,} machines:")
    for name, figures in last.items():
        if name in first and first[name]["p99_ms"] > 0:
            print(f"  {name:<46} x{figures['p99_ms'] / first[name]['p99_ms']:5.1f}")


async def drop_namespace(mongo_url: str, kafka: str, namespace: str) -> None:
    """The namespace's databases and topics (a topic left behind would give a rebuild from it an older history)."""
    client = mongo_client(mongo_url)
    for name in await client.list_database_names():
        if name.startswith(f"{namespace}_"):
            await client.drop_database(name)
    await client.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(f"{namespace}.")]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()


if __name__ == "__main__":
    sys.exit(main())
