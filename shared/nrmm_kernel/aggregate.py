"""Event-sourced aggregates: state is a fold of events; commands check rules and record new events.

A subclass defines ``on_<EventClassName>(self, event)`` for each event it folds, and command methods
that call ``self.record(event)``. Nothing else mutates state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from .envelope import Actor, DomainEvent, EventEnvelope, EventRegistry
from .eventstore import Commit, EventStore


class Aggregate:
    def __init__(self, aggregate_id: str):
        self.id = aggregate_id
        self.version = 0  # events folded so far, stored or pending
        self._pending: list[DomainEvent] = []

    def _apply(self, event: DomainEvent) -> None:
        handler = getattr(self, f"on_{type(event).__name__}", None)
        if handler is None:
            raise TypeError(f"{type(self).__name__} cannot fold {type(event).__name__}")
        handler(event)
        self.version += 1

    def record(self, event: DomainEvent) -> None:
        self._apply(event)
        self._pending.append(event)

    @property
    def pending(self) -> list[DomainEvent]:
        return list(self._pending)

    @property
    def stored_version(self) -> int:
        return self.version - len(self._pending)

    def mark_saved(self) -> None:
        self._pending.clear()

    @classmethod
    def fold(cls, aggregate_id: str, events: Iterable[DomainEvent]):
        aggregate = cls(aggregate_id)
        for event in events:
            aggregate._apply(event)
        return aggregate


A = TypeVar("A", bound=Aggregate)


class AggregateRepository(Generic[A]):
    """Loads an aggregate from its stream and appends its pending events with the expected version."""

    def __init__(self, store: EventStore, registry: EventRegistry, factory: Callable[[str], A], stream_type: str):
        self.store = store
        self.registry = registry
        self.factory = factory
        self.stream_type = stream_type

    def stream_id(self, aggregate_id: str) -> str:
        return f"{self.stream_type}-{aggregate_id}"

    async def load(self, aggregate_id: str) -> A | None:
        envelopes = await self.store.read_stream(self.stream_id(aggregate_id))
        if not envelopes:
            return None
        aggregate = self.factory(aggregate_id)
        for envelope in envelopes:
            aggregate._apply(self.registry.decode(envelope))
        return aggregate

    async def save(self, aggregate: A, *, actor: Actor | None = None, causation_id: str | None = None,
                   subject: str | None = None) -> tuple[Commit | None, list[EventEnvelope]]:
        events = aggregate.pending
        if not events:
            return None, []
        stream_id = self.stream_id(aggregate.id)
        base = aggregate.stored_version
        envelopes = [
            self.registry.wrap(e, stream_id=stream_id, stream_version=base + i, actor=actor,
                               causation_id=causation_id, subject=subject)
            for i, e in enumerate(events, start=1)
        ]
        commit = await self.store.append(stream_id, base, envelopes)
        aggregate.mark_saved()
        return commit, envelopes
