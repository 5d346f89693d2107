"""An event store in memory: the test double of ``eventstore.EventStore``, for unit tests of command handlers.

It keeps the same contract (``tests/kernel/test_eventstore_contract.py`` runs the same tests against both):
expected-version appends refused with ``ConcurrencyError`` and nothing written, gapless positions in commit order,
the hash chain, commits too large for the broker refused before they are written. One process, one event loop:
an append is atomic (no ``await`` between the check and the write), which is what the unique indexes give the
real store across processes. There is no outbox here: nothing is published.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from .chain import GENESIS, store_hash
from .commits import GENESIS_HASH, Commit, commit_events, commit_hash
from .envelope import EventEnvelope, utcnow
from .errors import ConcurrencyError
from .eventstore import EventStore
from .positions import note_written
from .store_api import StreamStore


class InMemoryEventStore:
    def __init__(self, *, max_commit_bytes: int | None = 262_144) -> None:
        self.max_commit_bytes = max_commit_bytes
        self._commits: list[Commit] = []  # position p is self._commits[p - 1]
        self._streams: dict[str, list[Commit]] = {}
        self.appended = asyncio.Event()  # set by every append: what wakes a relay

    async def ensure_indexes(self) -> None:
        """Nothing to make: kept for the real store's interface."""

    # writing -------------------------------------------------------------------------------
    async def append(self, stream_id: str, expected_version: int, events: Sequence[EventEnvelope]) -> Commit:
        event_docs = commit_events(stream_id, expected_version, events, self.max_commit_bytes)
        stream = self._streams.get(stream_id, [])
        actual = stream[-1].last_version if stream else 0
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        prev_hash = stream[-1].hash if stream else GENESIS_HASH
        version = expected_version + 1
        position = len(self._commits) + 1
        own_hash = commit_hash(stream_id, version, event_docs, prev_hash)
        store_prev = self._commits[-1].store_hash if self._commits else GENESIS
        commit = Commit(
            position=position, stream_id=stream_id, version=version,
            last_version=expected_version + len(events),
            # stored as the real store stores them: JSON, read back into envelopes
            events=[EventEnvelope.model_validate(doc) for doc in event_docs],
            prev_hash=prev_hash, hash=own_hash,
            committed_at=utcnow(),
            store_prev_hash=store_prev,
            store_hash=store_hash(position, own_hash, store_prev) if store_prev is not None else None,
        )
        self._commits.append(commit)
        self._streams.setdefault(stream_id, []).append(commit)
        note_written(commit.position)
        self.appended.set()
        return commit

    # reading -------------------------------------------------------------------------------
    async def stream_version(self, stream_id: str) -> int:
        stream = self._streams.get(stream_id)
        return stream[-1].last_version if stream else 0

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[EventEnvelope]:
        return [e for commit in self._streams.get(stream_id, []) if commit.last_version >= from_version
                for e in commit.events if e.streamversion >= from_version]

    async def read_commits(self, stream_id: str) -> list[Commit]:
        return list(self._streams.get(stream_id, []))

    async def read_all(self, from_position: int = 1) -> AsyncIterator[Commit]:
        position = max(from_position, 1)
        while position <= len(self._commits):  # commits appended while reading are read too, as by the real one
            yield self._commits[position - 1]
            position += 1

    async def head_position(self) -> int:
        return len(self._commits)


def _meets_the_interface(memory: InMemoryEventStore, real: EventStore) -> tuple[StreamStore, StreamStore]:
    return memory, real  # checked by mypy: both stores are StreamStores
