"""#14's acceptance, on the real broker and database: a person's ID number, mobile and name are sealed everywhere the
platform keeps them; after their erasure none of them is left in any event-store document, Kafka message, read model
or rebuilt read model (searched byte for byte), the machine's history still verifies, and an owner with a code in
force cannot be erased.

The platform: the registry, notifications (the development outbox channel plays the SMS provider: what reaches it
has left the platform, and is listed in the erasure record) and inspection. The owner is an account id minted here
(the gateway's accounts are another issue's)."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import bson
import pymongo
import pytest
from aiokafka import AIOKafkaConsumer

from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.eventstore import GENESIS_HASH, EventStore, commit_hash
from nrmm_kernel.personal import ERASED
from nrmm_kernel.rebuild import rebuild
from nrmm_kernel.reference import Department, Role
from nrmm_kernel.runtime import mongo_client
from registry.domain.events import registry as registry_events
from registry.projections import projections as registry_projections
from tests.platform import start_platform
from tests.registry.conftest import RegistryClient
from tests.registry.fixtures import id_card, machine, registrant
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

SERVICES = ("registry", "notifications", "inspection")
# the SMS provider's side (the development outbox channel): what is there has left the platform
PROVIDER_STAND_IN = {("notifications", "outbox_messages")}


@pytest.fixture(scope="module")
def platform(infra):
    running = start_platform(infra, list(SERVICES), {"NRMM_PERSONAL_RETENTION_DAYS": "0",
                                                     "NRMM_DELIVERY_POLL_SECONDS": "0.1"})
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def dbs(infra, platform):
    client = pymongo.MongoClient(infra.mongodb_url, tz_aware=True)
    yield {s: client[f"{platform.namespace}_{s}"] for s in SERVICES}
    client.close()


def person() -> dict:
    serial = uuid.uuid4().int
    number = id_card(f"19{70 + serial % 30}0{1 + serial % 9}15", seq=f"{serial % 1000:03d}")
    return registrant("欧阳" + "明远清风"[serial % 4] + "澈", id_number=number,
                      mobile=f"137{serial % 10**8:08d}")


def needles(who: dict) -> list[bytes]:
    return [who["id_number"].encode(), who["mobile"].encode(), who["name"].encode()]


def found_in_databases(dbs: dict, who: dict) -> list[str]:
    """Every (service, collection, document id) whose BSON holds the person's ID number, mobile or name."""
    hits = []
    for service, db in dbs.items():
        for name in db.list_collection_names():
            if (service, name) in PROVIDER_STAND_IN:
                continue
            for doc in db[name].find():
                raw = bson.encode(doc)
                hits += [f"{service}.{name}:{doc['_id']}" for n in needles(who) if n in raw]
    return hits


async def found_on_kafka(bootstrap: str, namespace: str, who: dict) -> tuple[int, list[str]]:
    """(messages read, those holding the person's values): every topic of the platform, from the beginning."""
    lister = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await lister.start()
    try:
        topics = sorted(t for t in await lister.topics() if t.startswith(f"{namespace}."))
    finally:
        await lister.stop()
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    read, hits = 0, []

    def scan(batch: dict) -> None:
        nonlocal read
        for messages in batch.values():
            for m in messages:
                read += 1
                raw = (m.key or b"") + (m.value or b"")
                hits.extend(f"{m.topic}@{m.offset}" for n in needles(who) if n in raw)

    try:
        while not consumer.assignment():
            scan(await consumer.getmany(timeout_ms=200))
        partitions = sorted(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        async def behind() -> bool:
            return any([await consumer.position(p) < ends[p] for p in partitions])

        while await behind():
            scan(await consumer.getmany(timeout_ms=500))
    finally:
        await consumer.stop()
    return read, hits


def found_in_broker_files(namespace: str, values: list[bytes]) -> list[str] | None:
    """The broker's own log segment files of the platform's topics (where ``NRMM_TEST_KAFKA_LOG_DIR`` names the
    broker's log.dirs, e.g. var/data/kafka of deploy/native.sh): the files holding any of ``values``; None when not
    named."""
    root = os.environ.get("NRMM_TEST_KAFKA_LOG_DIR")
    if not root:
        return None
    hits = []
    for partition in Path(root).glob(f"{namespace}.*"):
        for segment in partition.iterdir():
            raw = segment.read_bytes()
            hits += [str(segment) for n in values if n in raw]
    return hits


def verify_chain(db, stream_id: str) -> int:
    """The stream's per-commit hash chain, recomputed from what is stored: its number of commits."""
    previous = GENESIS_HASH
    commits = list(db["event_store"].find({"stream_id": stream_id}).sort("version", 1))
    for commit in commits:
        assert commit["prev_hash"] == previous, commit["version"]
        assert commit["hash"] == commit_hash(stream_id, commit["version"], commit["events"], previous)
        previous = commit["hash"]
    return len(commits)


async def rebuilt_equals_live(mongodb_url: str, database: str) -> list[str]:
    """Every registry read model rebuilt from the event store; the names of those that came out different."""
    client = mongo_client(mongodb_url)
    db, differ = client[database], []
    try:
        for projection in registry_projections():
            def docs(rows):
                return sorted(({k: v for k, v in d.items() if k != "_rev"} for d in rows), key=lambda d: d["_id"])

            live = docs(await db[projection.name].find().to_list())
            await rebuild(db, EventStore(db), projection, registry=registry_events, progress=False)
            if docs(await db[projection.name].find().to_list()) != live:
                differ.append(projection.name)
    finally:
        await client.close()
    return differ


def test_an_erased_person_is_gone_from_store_kafka_read_models_and_rebuilds(platform, dbs, infra):
    svc = RegistryClient(platform.urls["registry"], platform.namespace, platform.secret)
    account = f"owner-{uuid.uuid4().hex[:12]}"
    owner, who = svc.owner(account), person()
    reviewer = platform.token(Role.REVIEWER, "reviewer-yz", district="04")
    city_admin = platform.token(Role.ADMIN, "admin-city", department=Department.ECOLOGY)
    auditor = platform.token(Role.AUDITOR, "auditor-1")

    applied = svc.http.post("/api/registry/applications", headers=owner, json={
        "registrant": who, "uploads": svc.upload_all(owner),
        "machine": machine(district="04", factory_serial=f"SY-{uuid.uuid4().hex[:10].upper()}")})
    assert applied.status_code == 201, applied.text
    machine_id = applied.json()["machine_id"]
    approved = svc.http.post(f"/api/registry/applications/{machine_id}/approval", headers=reviewer, json={})
    assert approved.status_code == 200, approved.text
    code = approved.json()["code"]

    # sealed from the start: the store, the topics and the read models never held the plain values
    shown = svc.eventually(f"/api/registry/machines/{code}", auditor, lambda d: d.get("status") == "issued").json()
    assert (shown["registrant"]["id_number"], shown["registrant"]["mobile"]) == (who["id_number"], who["mobile"])
    # rule C4's SMS went to the owner: it left the platform (the provider holds it), and notifications recorded it
    wait_until(lambda: dbs["notifications"]["personal_disclosures"].find_one({"subject_id": account}),
               what="the code_issued SMS recorded as sent")
    wait_until(lambda: dbs["inspection"]["registry_machines"].find_one({"code": code}), what="inspection's copy")
    assert found_in_databases(dbs, who) == []

    # an owner with a code in force cannot be erased; nor may anyone but the bureau's city administrator erase
    body = {"subject_id": account, "reason": "本人申请删除个人信息"}
    refused = svc.http.post("/api/registry/personal-data/erasures", headers=city_admin, json=body)
    assert refused.status_code == 409 and refused.json()["code"] == "code_in_force", refused.text
    assert refused.json()["field"] == "subject_id"
    for other in (reviewer, platform.token(Role.ADMIN, "admin-04", district="04"), owner,
                  platform.token(Role.ADMIN, "admin-housing", department=Department.HOUSING)):
        assert svc.http.post("/api/registry/personal-data/erasures", headers=other, json=body).status_code == 403

    cancelled = svc.http.post(f"/api/registry/machines/{code}/cancellation", headers=owner,
                              json={"reason": "scrapped", "occurred_on": today_in_chongqing().isoformat()})
    assert cancelled.status_code == 200, cancelled.text
    erased = svc.http.post("/api/registry/personal-data/erasures", headers=city_admin, json=body)
    assert erased.status_code == 201, erased.text
    record = erased.json()
    assert record["subject_id"] == account and record["machines"] == [machine_id]
    assert "sms:code_issued" in [d["what"] for d in record["disclosures"]]
    again = svc.http.post("/api/registry/personal-data/erasures", headers=city_admin, json=body)
    assert again.status_code == 409 and again.json()["code"] == "already_erased"

    # the record stands, with the person's data read as erased; every service forgot its key
    after = svc.eventually(f"/api/registry/machines/{code}", auditor, lambda d: d.get("status") == "cancelled").json()
    assert {after["registrant"][f] for f in ("name", "id_number", "mobile")} == {ERASED}
    for service in ("registry", "notifications"):
        wait_until(lambda s=service: (dbs[s]["subject_keys"].find_one({"_id": account}) or {}).get("forgotten_at"),
                   what=f"{service} forgetting the person's key")
        assert dbs[service]["subject_keys"].find_one({"_id": account})["key"] is None
    erasure = dbs["registry"]["event_store"].find_one({"stream_id": f"person-{account}"})
    assert erasure["events"][0]["type"] == "cn.cq.nrmm.registry.PersonErased"
    assert erasure["events"][0]["data"]["erased_by_account_id"] == "admin-city"
    refused_new = svc.http.post("/api/registry/applications", headers=owner, json={
        "registrant": person(), "uploads": svc.upload_all(owner), "machine": machine(district="04")})
    assert refused_new.status_code == 409 and refused_new.json()["code"] == "person_erased", refused_new.text

    # byte for byte: no event-store document, read model, Kafka message or rebuilt read model holds them
    assert found_in_databases(dbs, who) == []
    read, on_kafka = asyncio.run(found_on_kafka(infra.kafka_bootstrap, platform.namespace, who))
    assert read >= 4 and on_kafka == []
    in_files = found_in_broker_files(platform.namespace, needles(who))
    if in_files is not None:  # the files are read: the machine's code is there, the person's values are not
        assert found_in_broker_files(platform.namespace, [code.encode()]) and in_files == []
    assert asyncio.run(rebuilt_equals_live(infra.mongodb_url, f"{platform.namespace}_registry")) == []
    assert found_in_databases(dbs, who) == []
    # the machine's history still verifies: its hashes cover the ciphertext
    assert verify_chain(dbs["registry"], f"machine-{machine_id}") == 3
    assert verify_chain(dbs["registry"], f"person-{account}") == 1
