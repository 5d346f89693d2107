"""Verify an event store: every commit's own hash, its stream's chain, the store chain, and the checkpoints.

One pass in position order by ``_id`` equality pages (no sort, no range: FerretDB serves it from its index), with
memory bounded by a cache of recent stream heads (a miss asks the database for the stream's commit before, by
equality). The answer names the first broken link, and the kind of break:

  edited        a commit's content no longer matches its hash
  stream_link   a commit does not follow its stream's previous commit (a commit of the stream was deleted or
                reordered, or its hash rewritten)
  store_link    a commit does not follow the store's previous commit (an edit whose stream chain was recomputed,
                or commits swapped)
  missing       a position is empty while later ones exist, or a checkpoint names a position past the head
                (a commit deleted, the last ones included)
  checkpoint    the store chain at a checkpointed position differs from what the checkpoint recorded (an edit
                followed by recomputing every later hash): the change lies after the last checkpoint that matched
  unchained     commits written before the store chain existed: run the one-off ``chain`` command
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .chain import GENESIS, raw_commits, store_hash
from .checkpoints import CHECKPOINT_TYPE
from .eventstore import HEAD_HINT, EventStore, commit_hash

STREAM_CACHE = 100_000
MAX_BREAKS = 50


@dataclass
class Break:
    position: int
    kind: str
    message: str
    stream_id: str | None = None
    version: int | None = None
    after_checkpoint: int | None = None  # checkpoint breaks: the last checkpointed position that matched


@dataclass
class VerifyReport:
    ok: bool = True
    commits: int = 0
    head: int = 0
    checkpoints_checked: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def first_break(self) -> Break | None:
        return min(self.breaks, key=lambda b: b.position) if self.breaks else None

    def add(self, item: Break) -> None:
        self.ok = False
        if len(self.breaks) < MAX_BREAKS:
            self.breaks.append(item)

    def to_dict(self) -> dict[str, Any]:
        first = self.first_break
        return {"ok": self.ok, "commits": self.commits, "head": self.head,
                "checkpoints_checked": self.checkpoints_checked,
                "first_break": asdict(first) if first else None, "breaks": [asdict(b) for b in self.breaks]}


class _Source:
    """Raw commit documents of a store, and the few lookups verify makes besides."""

    def __init__(self, store: Any):
        self.store = store
        self.real = isinstance(store, EventStore)

    def commits(self, progress: Callable[[int], None] | None) -> AsyncIterator[dict[str, Any]]:
        if self.real:
            return raw_commits(self.store.collection, on_page=progress)
        return self._memory_commits()

    async def _memory_commits(self) -> AsyncIterator[dict[str, Any]]:
        async for commit in self.store.read_all():
            yield _doc_of(commit)

    async def at(self, position: int) -> dict[str, Any] | None:
        if self.real:
            found: dict[str, Any] | None = await self.store.collection.find_one({"_id": position})
            return found
        commits = getattr(self.store, "_commits", [])
        return _doc_of(commits[position - 1]) if 0 < position <= len(commits) else None

    async def stream_commit_ending(self, stream_id: str, last_version: int) -> dict[str, Any] | None:
        if self.real:
            found: dict[str, Any] | None = await self.store.collection.find_one(
                {"stream_id": stream_id, "last_version": last_version})
            return found
        for commit in await self.store.read_commits(stream_id):
            if commit.last_version == last_version:
                return _doc_of(commit)
        return None

    async def head_hint(self) -> int:
        if not self.real:
            return 0
        coll = self.store.collection
        hint = await coll.database[HEAD_HINT].find_one({"_id": coll.name})
        return int(hint["position"]) if hint else 0


def _doc_of(commit: Any) -> dict[str, Any]:
    return {"_id": commit.position, "stream_id": commit.stream_id, "version": commit.version,
            "last_version": commit.last_version, "events": [e.to_json_dict() for e in commit.events],
            "prev_hash": commit.prev_hash, "hash": commit.hash, "store_prev_hash": commit.store_prev_hash,
            "store_hash": commit.store_hash}


def checkpoints_in(doc: dict[str, Any]) -> list[tuple[int, str]]:
    """(position, store hash) of the checkpoints a commit records."""
    return [(int(e["data"]["position"]), str(e["data"]["store_hash"])) for e in doc["events"]
            if e.get("type") == CHECKPOINT_TYPE]


async def verify(store: Any, *, external_checkpoints: dict[int, str] | None = None,
                 progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check the whole store. ``external_checkpoints``: position -> store hash, as published on the checkpoint topic
    (a copy the database's administrator cannot edit)."""
    source, report = _Source(store), VerifyReport()
    heads: OrderedDict[str, tuple[int, str]] = OrderedDict()  # stream -> (last version, hash), recent ones
    external = dict(external_checkpoints or {})
    checked: list[tuple[int, str, str]] = []  # (position, store hash recorded, where), checked after the walk
    prev_store: str | None = GENESIS
    unchained_from: int | None = None
    position = 0
    async for doc in source.commits(progress):
        position = doc["_id"]
        report.commits += 1
        stream, version = doc["stream_id"], doc["version"]
        where = {"stream_id": stream, "version": version}
        if commit_hash(stream, version, doc["events"], doc["prev_hash"]) != doc["hash"] or \
                [e.get("streamversion") for e in doc["events"]] != list(range(version, doc["last_version"] + 1)):
            report.add(Break(position, "edited", f"提交内容与其哈希不符 (commit {position} was edited)", **where))
        await _check_stream_link(source, report, heads, doc)
        if doc.get("store_hash") is None:
            if unchained_from is None:
                unchained_from = position
            prev_store = None
        elif prev_store is None or doc.get("store_prev_hash") != prev_store or \
                store_hash(position, doc["hash"], prev_store) != doc["store_hash"]:
            report.add(Break(position, "store_link",
                             f"全库哈希链在位置 {position} 断开 (the store chain breaks at {position})", **where))
            prev_store = doc["store_hash"]
        else:
            prev_store = doc["store_hash"]
        for checkpoint in checkpoints_in(doc):
            checked.append((*checkpoint, f"event at {position}"))
    report.head = position
    if unchained_from is not None:
        report.add(Break(unchained_from, "unchained",
                         f"位置 {unchained_from} 起的提交尚无全库哈希链，请运行 chain 命令 (run the chain command)"))
    checked.extend((p, h, "checkpoint topic") for p, h in external.items())
    await _check_checkpoints(source, report, checked)
    await _check_tail(source, report, [p for p, _, _ in checked])
    return report


async def _check_stream_link(source: _Source, report: VerifyReport, heads: OrderedDict[str, tuple[int, str]],
                             doc: dict[str, Any]) -> None:
    stream, version, position = doc["stream_id"], doc["version"], doc["_id"]
    known = heads.pop(stream, None)
    if version == 1:
        expected: str | None = GENESIS
    elif known is not None and known[0] == version - 1:
        expected = known[1]
    else:
        before = await source.stream_commit_ending(stream, version - 1)
        expected = before["hash"] if before is not None and before["_id"] < position else None
    if expected is None or doc["prev_hash"] != expected:
        report.add(Break(position, "stream_link",
                         f"流 {stream} 在版本 {version} 处断链 (its previous commit is missing or changed)",
                         stream_id=stream, version=version))
    heads[stream] = (doc["last_version"], doc["hash"])
    if len(heads) > STREAM_CACHE:
        heads.popitem(last=False)


async def _check_checkpoints(source: _Source, report: VerifyReport, checked: list[tuple[int, str, str]]) -> None:
    """A checkpointed position is good when every checkpoint naming it (the store's own, the topic's) agrees with
    the store; a break names the last good one before it (a forged recorded checkpoint cannot vouch for itself)."""
    hashes: dict[int, str | None] = {}
    for position, _, _ in checked:
        if position <= report.head and position not in hashes:
            doc = await source.at(position)
            hashes[position] = doc.get("store_hash") if doc is not None else None
    bad = sorted({(p, h, w) for p, h, w in checked if p in hashes and hashes[p] != h})
    good = sorted({p for p, _, _ in checked if p in hashes} - {p for p, _, _ in bad})
    report.checkpoints_checked += len(hashes)
    for position, _, where in bad:
        last_good = max((g for g in good if g < position), default=0)
        report.add(Break(position, "checkpoint",
                         f"位置 {position} 的全库哈希与检查点不符 ({where}): 位置 {last_good} 之后、{position} 及之前的"
                         f"提交被修改并重算了哈希 (edited after checkpoint {last_good}, up to {position})",
                         after_checkpoint=last_good))


async def _check_tail(source: _Source, report: VerifyReport, checkpointed: list[int]) -> None:
    """Commits after the first empty position, or a head hint or checkpoint beyond it: something was deleted."""
    gap = report.head + 1
    beyond = [p for p in range(gap + 1, gap + 65) if await source.at(p) is not None][:1]
    hint = await source.head_hint()
    named = max([*checkpointed, hint, 0])
    if beyond or named >= gap:
        report.add(Break(gap, "missing", f"位置 {gap} 的提交缺失 (a commit was deleted; the store reached "
                                         f"{max([*beyond, named])})"))
