"""What command handlers and repositories need of an event store: met by ``eventstore.EventStore`` (the database)
and ``memory_store.InMemoryEventStore`` (unit tests), which pass the same contract tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from .envelope import EventEnvelope
from .eventstore import Commit


class StreamStore(Protocol):
    appended: asyncio.Event  # set by every append in this process

    async def ensure_indexes(self) -> None: ...

    async def append(self, stream_id: str, expected_version: int, events: Sequence[EventEnvelope]) -> Commit:
        """One commit if the stream is still at ``expected_version``; else ConcurrencyError, nothing written."""
        ...

    async def stream_version(self, stream_id: str) -> int: ...

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[EventEnvelope]: ...

    async def read_commits(self, stream_id: str) -> list[Commit]: ...

    def read_all(self, from_position: int = 1) -> AsyncIterator[Commit]: ...

    async def head_position(self) -> int: ...
