"""Export for regulators, import into a fresh namespace, and the digest that shows both sides hold the same.

Export: CloudEvents 1.0 JSON Lines, one event a line, each with its commit's hashes as extension attributes
(lowercase letters only, as CloudEvents wants): ``storeposition``, ``commitversion``, ``commitevents``,
``commithash``, ``commitprevhash``, ``storehash``, ``storeprevhash``. Streamed commit by commit: memory stays flat
however long the range.

Import: the lines are grouped back into commits, every commit's hash is recomputed (a line edited on the way is
refused, nothing written after it), and the commits are appended to a fresh event store, whose projections are
then replayed. Digest: an order-independent hash of a projection's documents (without the bookkeeping fields):
equal digests, equal read models.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from .envelope import EventEnvelope
from .eventstore import Commit, canonical_json, commit_hash
from .projection import META_KEYS

COMMIT_KEYS = ("storeposition", "commitversion", "commitevents", "commithash", "commitprevhash", "storehash",
               "storeprevhash")


class ImportRefused(ValueError):
    """A line that is not what its hashes say: nothing from it on is imported."""


def commit_lines(commit: Commit) -> list[dict[str, Any]]:
    extra = {"storeposition": commit.position, "commitversion": commit.version, "commitevents": len(commit.events),
             "commithash": commit.hash, "commitprevhash": commit.prev_hash, "storehash": commit.store_hash,
             "storeprevhash": commit.store_prev_hash}
    return [{**envelope.to_json_dict(), **extra} for envelope in commit.events]


async def export_lines(commits: AsyncIterator[Commit]) -> AsyncIterator[str]:
    async for commit in commits:
        for line in commit_lines(commit):
            yield json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


async def commits_between(store: Any, first: int, last: int) -> AsyncIterator[Commit]:
    async for commit in store.read_all(first):
        if commit.position > last:
            return
        yield commit


async def commits_of_streams(store: Any, streams: Iterable[str]) -> AsyncIterator[Commit]:
    for stream in streams:
        for commit in await store.read_commits(stream):
            yield commit


def read_commits(lines: Iterable[str]) -> Iterator[tuple[dict[str, Any], list[EventEnvelope]]]:
    """(commit attributes, its envelopes) from exported lines, each commit's hash checked."""
    group: list[dict[str, Any]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            raise ImportRefused(f"line {number} is not JSON") from None
        if group and line.get("storeposition") != group[0].get("storeposition"):
            yield _commit_of(group)
            group = []
        group.append(line)
    if group:
        yield _commit_of(group)


def _commit_of(lines: list[dict[str, Any]]) -> tuple[dict[str, Any], list[EventEnvelope]]:
    head = lines[0]
    try:
        attributes = {k: head[k] for k in COMMIT_KEYS}
    except KeyError as missing:
        raise ImportRefused(f"a line lacks {missing}") from None
    if len(lines) != attributes["commitevents"]:
        raise ImportRefused(f"commit at {attributes['storeposition']}: {len(lines)} events, "
                            f"{attributes['commitevents']} announced")
    envelopes = [EventEnvelope.model_validate({k: v for k, v in line.items() if k not in COMMIT_KEYS})
                 for line in lines]
    docs = [e.to_json_dict() for e in envelopes]
    recomputed = commit_hash(envelopes[0].streamid, attributes["commitversion"], docs, attributes["commitprevhash"])
    if recomputed != attributes["commithash"]:
        raise ImportRefused(f"commit at {attributes['storeposition']} ({envelopes[0].streamid}) does not match its "
                            f"hash: edited after export")
    return attributes, envelopes


async def import_commits(store: Any, commits: Iterable[tuple[dict[str, Any], list[EventEnvelope]]]) -> int:
    """Append exported commits to ``store`` (a fresh one); each must link to its stream's last imported commit."""
    count = 0
    for _attributes, envelopes in commits:
        stream = envelopes[0].streamid
        await store.append(stream, envelopes[0].streamversion - 1, envelopes)
        count += 1
    return count


async def digest(collection: AsyncCollection[Any]) -> tuple[str, int]:
    """(hex digest, documents): the sum of each document's hash, so the order they are read in does not matter
    (no sort on FerretDB); bookkeeping fields (stream versions seen, revision) are left out."""
    total, count = 0, 0
    async for doc in collection.find({}):
        content = {k: v for k, v in doc.items() if k not in META_KEYS or k == "_id"}
        line = canonical_json(json.loads(json.dumps(content, default=str)))
        total = (total + int.from_bytes(hashlib.sha256(line).digest(), "big")) % (1 << 256)
        count += 1
    return f"{total:064x}", count
