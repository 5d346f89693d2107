"""Event-sourced aggregates: state is a fold of events; commands check rules and record new events.

Two kinds:

- ``CreatedAggregate[E]``: exists from its creation event ``E`` (a machine record from its application, a site from
  its registration). Its ``__init__(aggregate_id, created)`` sets every field from that event, so no field is
  ``None`` for want of an event; ``create`` makes a new one (the event pending), ``rehydrate`` folds a stream
  whose first event must be ``E``.
- ``Aggregate``: a ledger that starts empty (a machine's presence at sites, a site's duties) and folds any event.

A method that folds an event is marked ``@folds(EventType)``; events are dispatched by their type through the table
``__init_subclass__`` builds from those marks (a subclass's own mark overrides its base's). Commands call
``self.record(event)``; nothing else mutates state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, Self, TypeVar

from .envelope import Actor, DomainEvent, EventEnvelope, EventRegistry
from .eventstore import Commit
from .store_api import StreamStore

E = TypeVar("E", bound=DomainEvent)
S = TypeVar("S")

Fold = Callable[[Any, Any], None]
_MARKED: dict[Callable[..., None], type[DomainEvent]] = {}  # method -> the event type it folds


def folds(event_type: type[E]) -> Callable[[Callable[[S, E], None]], Callable[[S, E], None]]:
    """Mark an aggregate method as the fold of ``event_type``."""

    def mark(method: Callable[[S, E], None]) -> Callable[[S, E], None]:
        _MARKED[method] = event_type
        return method

    return mark


class Aggregate:
    _folds: ClassVar[dict[type[DomainEvent], Fold]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type[DomainEvent], Fold] = {}
        for klass in reversed(cls.__mro__):  # bases first, so a subclass's fold of the same event wins
            own: dict[type[DomainEvent], str] = {}
            for name, member in vars(klass).items():
                event_type = _MARKED.get(member) if callable(member) else None
                if event_type is None:
                    if name.startswith("on_") and callable(member):  # the old naming: it would never be called
                        raise TypeError(f"{klass.__name__}.{name} is not marked @folds(EventType)")
                    continue
                if event_type in own:
                    raise TypeError(f"{klass.__name__} folds {event_type.__name__} twice ({own[event_type]}, {name})")
                own[event_type] = name
                table[event_type] = member
        cls._folds = table

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0  # events folded so far, stored or pending
        self._pending: list[DomainEvent] = []

    def _apply(self, event: DomainEvent) -> None:
        fold = self._folds.get(type(event))
        if fold is None:
            raise TypeError(f"{type(self).__name__} cannot fold {type(event).__name__}")
        fold(self, event)
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
    def _first(cls, aggregate_id: str, event: DomainEvent) -> Self:
        """The aggregate a stream's first event makes: a ledger starts empty and folds it."""
        aggregate = cls(aggregate_id)
        aggregate._apply(event)
        return aggregate

    @classmethod
    def rehydrate(cls, aggregate_id: str, events: Iterable[DomainEvent]) -> Self:
        """The aggregate its stored events make (at least one)."""
        stream = iter(events)
        first = next(stream, None)
        if first is None:
            raise ValueError(f"{cls.__name__} {aggregate_id}: a stream has at least one event")
        aggregate = cls._first(aggregate_id, first)
        for event in stream:
            aggregate._apply(event)
        return aggregate

    fold = rehydrate


class CreatedAggregate(Aggregate, Generic[E]):
    """An aggregate that exists from its creation event (``creation``): subclasses define
    ``__init__(self, aggregate_id, created)`` setting every field from it, after ``super().__init__``."""

    creation: ClassVar[type[DomainEvent]]

    def __init__(self, aggregate_id: str, created: E) -> None:
        super().__init__(aggregate_id)
        self.version = 1  # the creation event

    @classmethod
    def create(cls, aggregate_id: str, created: E) -> Self:
        """A new aggregate, its creation event pending."""
        aggregate = cls(aggregate_id, created)
        aggregate._pending.append(created)
        return aggregate

    @classmethod
    def _first(cls, aggregate_id: str, event: DomainEvent) -> Self:
        if not isinstance(event, cls.creation):
            raise TypeError(f"{cls.__name__} {aggregate_id} starts with {type(event).__name__}, "
                            f"not its creation event {cls.creation.__name__}")
        return cls(aggregate_id, event)  # type: ignore[arg-type]  # E is cls.creation, checked just above


A = TypeVar("A", bound=Aggregate)


class AggregateRepository(Generic[A]):
    """Loads an aggregate from its stream and appends its pending events with the expected version."""

    def __init__(self, store: StreamStore, registry: EventRegistry, kind: type[A], stream_type: str) -> None:
        self.store = store
        self.registry = registry
        self.kind = kind
        self.stream_type = stream_type

    def stream_id(self, aggregate_id: str) -> str:
        return f"{self.stream_type}-{aggregate_id}"

    async def load(self, aggregate_id: str) -> A | None:
        envelopes = await self.store.read_stream(self.stream_id(aggregate_id))
        if not envelopes:
            return None
        return self.kind.rehydrate(aggregate_id, (self.registry.decode(e) for e in envelopes))

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
