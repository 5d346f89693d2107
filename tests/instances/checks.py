"""What the instance tests check once the load is over: commands exactly once in the event store, each stream in
order on its topic, read models equal to a replay. Async helpers on the real database and broker."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from nrmm_kernel.batch_apply import DocumentCache
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.projection import Projection
from nrmm_kernel.rebuild import replay, replay_topic
from nrmm_kernel.runtime import mongo_client
from tests.kafka_helpers import read_topic


async def commits_by_correlation(mongodb_url: str, database: str) -> Counter[str]:
    """How many commits of the store each correlation id (a request's id) made."""
    client = mongo_client(mongodb_url)
    try:
        counts: Counter[str] = Counter()
        async for doc in client[database]["event_store"].find({}, projection={"events.correlationid": 1}):
            for correlation in {e.get("correlationid") for e in doc["events"]}:
                counts[correlation] += 1
        return counts
    finally:
        await client.close()


async def stored_events(mongodb_url: str, database: str) -> list[EventEnvelope]:
    client = mongo_client(mongodb_url)
    try:
        return [e async for c in EventStore(client[database]).read_all(1) for e in c.events]
    finally:
        await client.close()


def order_faults(on_topic: list[EventEnvelope], stored: list[EventEnvelope]) -> list[str]:
    """Each stream's events on the topic in stream order: no version before its predecessor was seen (repeats of
    what was seen, a relay's republishing, are allowed), and every stored event there."""
    faults: list[str] = []
    seen: dict[str, int] = defaultdict(int)
    for envelope in on_topic:
        stream, version = envelope.streamid, envelope.streamversion
        if version > seen[stream] + 1:
            faults.append(f"{stream} v{version} after v{seen[stream]}")
        seen[stream] = max(seen[stream], version)
    missing = [f"{e.streamid} v{e.streamversion}" for e in stored if seen[e.streamid] < e.streamversion]
    return faults + [f"missing on the topic: {m}" for m in missing]


async def topic_order_faults(bootstrap: str, mongodb_url: str, database: str, topic: str) -> list[str]:
    stored = await stored_events(mongodb_url, database)
    on_topic = await read_topic(bootstrap, topic, at_least=len(stored), timeout=60)
    return order_faults(on_topic, stored)


def _plain(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "_rev"}  # how many writes it took differs; nothing else may


async def read_model_differences(mongodb_url: str, bootstrap: str, database: str, own: list[Projection],
                                 foreign: dict[str, list[Projection]]) -> list[str]:
    """Each projection replayed into a scratch collection (own: from the event store; foreign: from the other
    service's topic) and compared with the live one; the names of those that differ, with a sample."""
    client = mongo_client(mongodb_url)
    db = client[database]
    differences: list[str] = []
    try:
        jobs = [(p, None) for p in own] + [(p, topic) for topic, ps in foreign.items() for p in ps]
        for projection, topic in jobs:
            scratch = db[f"{projection.name}__check"]
            await scratch.drop()
            if topic is None:
                await replay(EventStore(db), scratch, projection, cache=DocumentCache())
            else:
                await replay_topic(bootstrap, topic, scratch, projection, cache=DocumentCache())
            rebuilt = {d["_id"]: _plain(d) async for d in scratch.find({})}
            live = {d["_id"]: _plain(d) async for d in db[projection.name].find({})}
            await scratch.drop()
            if rebuilt != live:
                diff = sorted(k for k in rebuilt.keys() | live.keys() if rebuilt.get(k) != live.get(k))
                differences.append(f"{projection.name}: {len(diff)} documents differ, e.g. {diff[:3]}")
        return differences
    finally:
        await client.close()
