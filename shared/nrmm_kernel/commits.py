"""A commit as the event store keeps it: its events as stored, its stream-chain hash, and the checks every store
makes before it writes anything (eventstore.py, and the in-memory store of the domain tests)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .envelope import EventEnvelope
from .errors import AppError

GENESIS_HASH = "0" * 64


class CommitTooLarge(AppError):
    """A command whose events would not fit the broker: refused before anything is written."""

    status = 413
    code = "commit_too_large"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def commit_hash(stream_id: str, version: int, events: list[dict[str, Any]], prev_hash: str) -> str:
    payload = {"stream_id": stream_id, "version": version, "events": events, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def commit_events(stream_id: str, expected_version: int, events: Sequence[EventEnvelope],
                  max_commit_bytes: int | None) -> list[dict[str, Any]]:
    """The events of a commit as stored, after the checks every store makes before it writes anything."""
    if not events:
        raise ValueError("a commit holds at least one event")
    for offset, envelope in enumerate(events, start=1):
        if envelope.streamid != stream_id or envelope.streamversion != expected_version + offset:
            raise ValueError(
                f"event {envelope.type} carries {envelope.streamid}@{envelope.streamversion}, "
                f"expected {stream_id}@{expected_version + offset}"
            )
    event_docs = [e.to_json_dict() for e in events]
    size = len(canonical_json(event_docs))
    if max_commit_bytes is not None and size > max_commit_bytes:
        # the relay could never publish it (the broker takes about 1 MB): refused before it is written
        raise CommitTooLarge(f"提交的数据过大 ({size} 字节，上限 {max_commit_bytes})，请精简后重试",
                             details={"bytes": size, "limit": max_commit_bytes})
    return event_docs


@dataclass(frozen=True)
class Commit:
    position: int
    stream_id: str
    version: int
    last_version: int
    events: list[EventEnvelope]
    prev_hash: str
    hash: str
    committed_at: datetime
    store_prev_hash: str | None = None  # the store chain (chain.py); None on a store not yet given it
    store_hash: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Commit:
        return cls(
            position=doc["_id"],
            stream_id=doc["stream_id"],
            version=doc["version"],
            last_version=doc["last_version"],
            events=[EventEnvelope.model_validate(e) for e in doc["events"]],
            prev_hash=doc["prev_hash"],
            hash=doc["hash"],
            committed_at=doc["committed_at"],
            store_prev_hash=doc.get("store_prev_hash"),
            store_hash=doc.get("store_hash"),
        )
