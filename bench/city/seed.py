"""The city generator: a Chongqing-shaped history written in bulk straight into the services' event stores.

Commits are the ones the services would have written: CloudEvents envelopes of the services' own event classes,
gapless positions, pages, both hash chains (per stream, and the store's), and the registry's write-side indexes
(code index, serials, machine identities). Machine ``i`` is the same machine in every run (``Random(i)``), so
sizes grow by adding machines, each run writing only the machines it lacks. Most of the history goes straight to
the service's topic as well (as its relay would have); the relay's watermark is left before the newest commits,
for the service's own relay; read models are built by the services' projectors or by a rebuild.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import ulid
from aiokafka import AIOKafkaProducer
from pymongo import InsertOne
from pymongo.asynchronous.database import AsyncDatabase
from tqdm import tqdm

from nrmm_kernel import bus
from nrmm_kernel.chain import store_hash
from nrmm_kernel.codes import SERIAL_ALPHABET, SERIAL_LENGTH, compose_chongqing
from nrmm_kernel.envelope import Actor, EventEnvelope
from nrmm_kernel.eventstore import COLLECTION, GENESIS_HASH, HEAD_HINT, EventStore, commit_hash
from nrmm_kernel.identity import id_card_check_char, uscc_check_char
from nrmm_kernel.outbox import PROGRESS
from nrmm_kernel.pages import page_of
from nrmm_kernel.reference import Role
from registry.app.code_index import COLLECTION as CODE_INDEX
from registry.app.identities import COLLECTION as IDENTITIES
from registry.app.serials import COLLECTION as SERIALS
from registry.domain.events import CodeCancelled, CodeIssued, CodeRejected, CodeRequested
from registry.domain.events import registry as registry_events
from registry.domain.machine import machine_key
from registry.domain.model import MachineInfo, Registrant
from sites.domain.events import SiteRegistered
from sites.domain.events import registry as sites_events
from sites.domain.model import SiteDetails, SiteStatus

from . import shape

EPOCH = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)  # the first application of the generated history
SERIAL_SPACE = len(SERIAL_ALPHABET) ** SERIAL_LENGTH  # 34^5 = 45,435,424 serials city-wide (rule C5)
SERIAL_STRIDE = 7_654_321  # coprime with 34^5: i -> i * stride mod 34^5 is a bijection, serials never repeat
REVIEWER = Actor(account_id="city-reviewer", role=Role.REVIEWER)
UPLOADS = {kind: [f"u-{kind}"] for kind in ("identity_proof", "machine_nameplate", "engine_nameplate",
                                            "environmental_label", "conformity_certificate", "photo_front",
                                            "photo_back", "photo_left", "photo_right")}


def serial_of(i: int) -> str:
    n = (i * SERIAL_STRIDE) % SERIAL_SPACE
    chars = []
    for _ in range(SERIAL_LENGTH):
        n, digit = divmod(n, len(SERIAL_ALPHABET))
        chars.append(SERIAL_ALPHABET[digit])
    return "".join(reversed(chars))


def machine_id_of(i: int) -> str:
    return str(ulid.ULID.from_bytes(hashlib.blake2b(b"city-machine-%d" % i, digest_size=16).digest()))


def id_number(rng: random.Random) -> str:
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(40 * 365))
    first17 = f"500{rng.randrange(100, 240):03d}{born:%Y%m%d}{rng.randrange(1000):03d}"  # 50: Chongqing
    return first17 + id_card_check_char(first17)


def credit_code(rng: random.Random) -> str:
    first17 = "91500" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(12))
    return first17 + uscc_check_char(first17)


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


@dataclass(frozen=True)
class Machine:
    """One generated machine and its history, as the registry's events."""

    index: int
    machine_id: str
    district: str
    stage: str
    code: str | None
    commits: list[list[EventEnvelope]]  # each inner list: one commit of the machine's stream

    @property
    def stream_id(self) -> str:
        return f"machine-{self.machine_id}"


def machine(i: int) -> Machine:
    rng = random.Random(i)
    district, stage, category = shape.district(rng), shape.stage(rng), shape.category(rng)
    fuel = "electric" if stage == "D" else rng.choice(["diesel"] * 9 + ["gasoline"])
    manufactured = date(2008, 1, 1) + timedelta(days=rng.randrange(16 * 365))
    applied_at = EPOCH + timedelta(seconds=i * 7 + rng.randrange(7))
    acquired = min(applied_at.date() - timedelta(days=rng.randrange(1, 60)), applied_at.date())
    acquired = max(acquired, manufactured)
    person = rng.random() < 0.35
    registrant = Registrant(kind="person" if person else "company", name=f"机主{i}" if person else f"重庆建工{i}公司",
                            id_number=id_number(rng) if person else credit_code(rng), mobile=mobile(rng))
    info = MachineInfo(category=category, brand=rng.choice(shape.BRANDS), model=f"M{rng.randrange(100, 999)}",
                       factory_serial=f"CQ{i:09d}", manufactured_on=manufactured, acquired_on=acquired,
                       acquisition="purchase", engine={"maker": "玉柴", "model": f"YC{rng.randrange(10, 99)}",
                                                        "serial": f"E{i:09d}"},
                       rated_power_kw=round(rng.uniform(15, 400), 1), fuel=fuel, emission_stage=stage,
                       district=district)
    machine_id = machine_id_of(i)
    stream = f"machine-{machine_id}"
    owner = Actor(account_id=f"city-owner-{i // 3}", role=Role.OWNER)  # some owners hold several machines
    days = (applied_at.date() - acquired).days
    requested = CodeRequested(machine_id=machine_id, owner_account_id=owner.account_id, registrant=registrant,
                              machine=info, uploads=UPLOADS, submitted_on=applied_at.date(), late=days > 30,
                              days_after_acquisition=days)
    commits = [[registry_events.wrap(requested, stream_id=stream, stream_version=1, actor=owner, time=applied_at)]]
    result, code = shape.outcome(rng), None
    decided_at = applied_at + timedelta(hours=rng.randrange(2, 96))
    if result in ("issued", "cancelled"):
        code = compose_chongqing(stage, district, serial_of(i)).text
        issued = CodeIssued(code=code, reviewer_account_id=REVIEWER.account_id, issued_on=decided_at.date())
        commits.append([registry_events.wrap(issued, stream_id=stream, stream_version=2, actor=REVIEWER,
                                             time=decided_at)])
    elif result == "rejected":
        rejected = CodeRejected(reviewer_account_id=REVIEWER.account_id, reasons=["铭牌照片不清晰"])
        commits.append([registry_events.wrap(rejected, stream_id=stream, stream_version=2, actor=REVIEWER,
                                             time=decided_at)])
    if result == "cancelled":
        scrapped = decided_at.date() + timedelta(days=rng.randrange(30, 300))
        cancelled = CodeCancelled(reason="scrapped", occurred_on=scrapped, reported_on=scrapped, late=False)
        commits.append([registry_events.wrap(cancelled, stream_id=stream, stream_version=3, actor=owner,
                                             time=datetime.combine(scrapped, datetime.min.time(), UTC))])
    return Machine(i, machine_id, district, stage, code if result == "issued" else None, commits)


def site(i: int) -> tuple[str, list[EventEnvelope]]:
    rng = random.Random(-1 - i)
    code = f"S-CITY{i:07d}"
    starts = date(2025, 1, 1) + timedelta(days=rng.randrange(600))
    details = SiteDetails(
        name=f"城市建设项目{i}", company={"name": f"重庆城建{i % 5000}公司", "credit_code": credit_code(rng)},
        district=shape.district(rng), category=shape.site_category(rng),
        address={"street": f"第{i % 50}街道", "detail": f"{i}号"},
        coordinates={"longitude": round(rng.uniform(105.3, 110.1), 5), "latitude": round(rng.uniform(28.2, 32.2), 5)},
        starts_on=starts, ends_on=starts + timedelta(days=rng.randrange(90, 900)),
        manager={"name": f"经理{i}", "mobile": mobile(rng)})
    event = SiteRegistered(site_code=code, details=details, status=SiteStatus.IN_CONSTRUCTION,
                           admin_account_id=f"city-site-{i}")
    stream = f"site-{code}"
    return code, [sites_events.wrap(event, stream_id=stream, stream_version=1,
                                    actor=Actor(account_id=f"city-site-{i}", role=Role.SITE_ADMIN),
                                    time=EPOCH + timedelta(minutes=i))]


class StoreWriter:
    """Appends generated streams to an event store in bulk: positions after its head, hash chains per stream.

    A commit is either left ``pending`` for the service's relay, or marked published and produced straight to
    the service's topic (as the relay would: bus.encode, keyed by stream), so the topic holds the history."""

    def __init__(self, db: AsyncDatabase, *, producer: AIOKafkaProducer | None = None, topic: str | None = None,
                 batch: int = 2000):
        self.db = db
        self.coll = db[COLLECTION]
        self.producer, self.topic = producer, topic
        self.batch = batch
        self.buffer: list[dict] = []
        self.sends: list[EventEnvelope] = []
        self.position = 0
        self.store_prev: str | None = None  # the store chain (nrmm_kernel.chain): the hash of the commit before
        self.first_pending: int | None = None
        self.started_at = 0

    async def start(self) -> None:
        store = EventStore(self.db)
        await store.ensure_indexes()  # (stream_id, version) unique, outbox, page: as the service's own store has
        self.position = self.started_at = await store.head_position()  # a saved hint, probed forward: no sort
        head = await self.coll.find_one({"_id": self.position}, projection={"store_hash": 1})
        self.store_prev = GENESIS_HASH if head is None else head.get("store_hash")

    def add_stream(self, stream_id: str, commits: list[list[EventEnvelope]], *, pending: bool) -> None:
        prev_hash = GENESIS_HASH
        for events in commits:
            docs = [e.to_json_dict() for e in events]
            version = events[0].streamversion
            self.position += 1
            doc = {"_id": self.position, "page": page_of(self.position), "stream_id": stream_id,
                   "version": version, "last_version": events[-1].streamversion, "events": docs,
                   "prev_hash": prev_hash, "hash": commit_hash(stream_id, version, docs, prev_hash),
                   "committed_at": events[-1].time, "store_prev_hash": self.store_prev, "store_hash": None}
            if self.store_prev is not None:
                doc["store_hash"] = self.store_prev = store_hash(self.position, doc["hash"], self.store_prev)
            if pending or self.producer is None:
                if self.first_pending is None:
                    self.first_pending = self.position
            else:
                self.sends.extend(events)
            prev_hash = doc["hash"]
            self.buffer.append(doc)

    async def flush(self, force: bool = False) -> None:
        if self.buffer and (force or len(self.buffer) >= self.batch):
            if self.sends:  # on the topic before the store says published: never a published commit missing there
                futures = []
                for envelope in self.sends:
                    key, value, headers = bus.encode(envelope)
                    futures.append(await self.producer.send(self.topic, value=value, key=key, headers=headers))
                await asyncio.gather(*futures)
                self.sends = []
            await self.coll.bulk_write([InsertOne(d) for d in self.buffer], ordered=True)
            self.buffer = []
            await self.db[HEAD_HINT].replace_one({"_id": COLLECTION}, {"position": self.position}, upsert=True)

    async def finish(self) -> None:
        """The relay's watermark (nrmm_kernel.outbox): before the first commit left to it, else at the head; unless
        the relay had not published everything written before this run (it stays where it was)."""
        await self.flush(force=True)
        through = self.position if self.first_pending is None else self.first_pending - 1
        progress = await self.db[PROGRESS].find_one({"_id": COLLECTION})
        if progress is not None and progress["through"] < self.started_at:
            through = progress["through"]
        await self.db[PROGRESS].replace_one({"_id": COLLECTION}, {"through": through}, upsert=True)


async def existing(db: AsyncDatabase, prefix: str) -> int:
    """How many generated streams of this kind a previous run wrote (they are numbered from 0)."""
    doc = await db["city_generator"].find_one({"_id": prefix})
    return doc["count"] if doc else 0


async def seed_machines(db: AsyncDatabase, total: int, *, producer: AIOKafkaProducer | None = None,
                        topic: str | None = None, pending_tail: int = 0, progress: bool = True) -> int:
    """Grow the registry's store to ``total`` generated machines; returns how many were added. With a producer,
    the history goes straight to ``topic`` except the last ``pending_tail`` machines, left to the relay."""
    start = await existing(db, "machines")
    if start >= total:
        return 0
    writer = StoreWriter(db, producer=producer, topic=topic)
    await writer.start()
    side: dict[str, list] = {CODE_INDEX: [], SERIALS: [], IDENTITIES: []}
    for i in tqdm(range(start, total), desc="machines", unit="machine", disable=not progress, mininterval=1):
        m = machine(i)
        writer.add_stream(m.stream_id, m.commits, pending=i >= total - pending_tail)
        # the write side's indexes, as the handlers write them before their appends
        info = m.commits[0][0].data["machine"]
        key = machine_key(MachineInfo.model_validate(info))
        side[IDENTITIES].append(InsertOne({"_id": f"{key}:1", "key": key, "n": 1, "machine_id": m.machine_id,
                                           "claimed_at": EPOCH}))
        if len(m.commits) > 1 and m.commits[1][0].type.endswith("CodeIssued"):
            code = m.commits[1][0].data["code"]
            side[CODE_INDEX].append(InsertOne({"_id": code, "machine_id": m.machine_id, "at": EPOCH}))
            side[SERIALS].append(InsertOne({"_id": code[-SERIAL_LENGTH:], "machine_id": m.machine_id,
                                            "claimed_at": EPOCH}))
        if len(writer.buffer) >= writer.batch:
            await _flush_side(db, side)
            await writer.flush()
            await db["city_generator"].replace_one({"_id": "machines"}, {"count": i + 1}, upsert=True)
    await _flush_side(db, side)
    await writer.finish()
    await db["city_generator"].replace_one({"_id": "machines"}, {"count": total}, upsert=True)
    return total - start


async def _flush_side(db: AsyncDatabase, side: dict[str, list]) -> None:
    for collection, ops in side.items():
        if ops:
            await db[collection].bulk_write(ops, ordered=False)
            ops.clear()


async def seed_sites(db: AsyncDatabase, total: int, *, progress: bool = True) -> int:
    """Grow the sites service's store to ``total`` generated sites (registered and active)."""
    start = await existing(db, "sites")
    if start >= total:
        return 0
    writer = StoreWriter(db)
    await writer.start()
    for i in tqdm(range(start, total), desc="sites", unit="site", disable=not progress, mininterval=1):
        code, events = site(i)
        writer.add_stream(f"site-{code}", [events], pending=True)
        await writer.flush()
    await writer.finish()
    await db["city_generator"].replace_one({"_id": "sites"}, {"count": total}, upsert=True)
    return total - start


def issued_codes(start: int, stop: int) -> Iterator[str]:
    """Codes in force among generated machines ``start..stop`` (what a gate or verify is asked about)."""
    for i in range(start, stop):
        m = machine(i)
        if m.code:
            yield m.code
