"""Audit figures on the real database: verify (rate, memory), as-of fold of a long stream (p99), export (rate, memory
along the way). Prints figures; asserts nothing.

    uv run python bench/audit_bench.py [--commits 20000] [--stream-events 10000] [--folds 100]

Endpoints: NRMM_MONGODB_URL, else the native infrastructure (deploy/native.sh). Use a private stack for big runs
(--commits 1000000): the store is written with bulk inserts into a database of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nrmm_kernel.aggregate import Aggregate, folds
from nrmm_kernel.audit_asof import envelopes_until, fold
from nrmm_kernel.audit_export import commits_between, export_lines
from nrmm_kernel.audit_verify import verify
from nrmm_kernel.chain import GENESIS, store_hash
from nrmm_kernel.envelope import DomainEvent, EventRegistry
from nrmm_kernel.eventstore import EventStore, commit_hash
from nrmm_kernel.runtime import mongo_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import endpoints  # noqa: E402

registry = EventRegistry(namespace="bench.nrmm.audit", source="/nrmm/bench")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@registry.register
class Moved(DomainEvent):
    site: str
    district: str


class Ledger(Aggregate):
    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.site = ""
        self.moves = 0

    @folds(Moved)
    def moved(self, event: Moved) -> None:
        self.site, self.moves = event.site, self.moves + 1


def rss_mb() -> float:
    """Resident memory now (not the peak): /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def fill(store: EventStore, commits: int, long_stream: int) -> None:
    """``commits`` commits over many streams, ``long_stream`` of them one stream's, each with its chains."""
    heads: dict[str, tuple[int, str]] = {}
    previous, batch = GENESIS, []
    started = time.perf_counter()
    for position in range(1, commits + 1):
        stream = "ledger-long" if position <= long_stream * 2 and position % 2 == 0 else \
            f"ledger-{random.randrange(max(commits // 20, 1))}"
        version, prev_hash = heads.get(stream, (0, GENESIS))
        when = T0 + timedelta(seconds=position)
        events = [registry.wrap(Moved(site=f"S-{position}", district=f"{position % 41 + 1:02d}"), stream_id=stream,
                                stream_version=version + 1, time=when).to_json_dict()]
        own = commit_hash(stream, version + 1, events, prev_hash)
        chained = store_hash(position, own, previous)
        batch.append({"_id": position, "stream_id": stream, "version": version + 1, "last_version": version + 1,
                      "events": events, "prev_hash": prev_hash, "hash": own, "committed_at": when,
                      "store_prev_hash": previous, "store_hash": chained})
        heads[stream], previous = (version + 1, own), chained
        if len(batch) == 1000:
            await store.collection.insert_many(batch)
            batch = []
    if batch:
        await store.collection.insert_many(batch)
    print(f"filled {commits} commits in {time.perf_counter() - started:.1f} s "
          f"(one stream of {heads.get('ledger-long', (0, ''))[0]} events)")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--stream-events", type=int, default=10_000)
    parser.add_argument("--folds", type=int, default=100)
    args = parser.parse_args()
    _, mongodb_url = endpoints()
    client = mongo_client(mongodb_url)
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    store = EventStore(client[name])
    await store.ensure_indexes()
    try:
        await fill(store, max(args.commits, args.stream_events * 2), args.stream_events)

        before = rss_mb()
        started = time.perf_counter()
        report = await verify(store)
        seconds = time.perf_counter() - started
        print(f"verify: {report.commits} commits in {seconds:.1f} s = {report.commits / seconds:,.0f} commits/s; "
              f"ok={report.ok}; resident memory {before:.0f} -> {rss_mb():.0f} MB")

        long = await store.read_stream("ledger-long")
        timings = []
        for _ in range(args.folds):
            at = long[0].time + (long[-1].time - long[0].time) * random.random()
            started = time.perf_counter()
            envelopes = await store.read_stream("ledger-long")
            fold(Ledger, registry, "long", envelopes_until(envelopes, at=at))
            timings.append(time.perf_counter() - started)
        timings.sort()
        p50, p99 = timings[len(timings) // 2], timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        print(f"as-of fold of a {len(long)}-event stream: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
              f"({args.folds} folds at random times)")

        head = await store.head_position()
        samples, lines, written = [], 0, 0
        started = time.perf_counter()
        with open(os.devnull, "w", encoding="utf-8") as sink:  # noqa: ASYNC230 - the null device
            async for line in export_lines(commits_between(store, 1, head)):
                sink.write(line)
                lines += 1
                written += len(line)
                if lines % max(head // 10, 1) == 0:
                    samples.append(rss_mb())
        seconds = time.perf_counter() - started
        print(f"export: {lines} events ({written / 2**20:.0f} MB of JSON Lines) in {seconds:.1f} s = "
              f"{lines / seconds:,.0f} events/s; resident memory along the way (MB): "
              f"{', '.join(f'{s:.0f}' for s in samples)}")
    finally:
        await client.drop_database(name)
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
