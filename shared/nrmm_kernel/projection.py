"""The projection contract: a read model whose documents are folds of typed events, and how one event is applied.

A projection names the producer's event contract (its ``EventRegistry``) and one handler per event type:

    class Machines(Projection):
        name = "machines"
        contract = registry_events

        @on(CodeIssued)
        def issued(self, doc, event: CodeIssued, envelope) -> dict: ...

An envelope is decoded by the producer's contract (older schema versions upcast first), so a projection never
reads raw event dicts and a schema change reaches every consumer through one upcaster.

Idempotent: each read document remembers, per source stream, the last stream version applied (``_v``); an
event at or below it changes nothing. ``_rev`` guards concurrent writers of one document, each revision's write
claimed first by a unique insert (revisions.py: FerretDB's conditional replace is not atomic).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

from pymongo.asynchronous.collection import AsyncCollection

from .claims import claim
from .envelope import DomainEvent, EventEnvelope, EventRegistry

META_KEYS = ("_id", "_v", "_rev")
Handler = Callable[[Any, dict[str, Any] | None, Any, EventEnvelope], dict[str, Any]]


def on(*event_types: type[DomainEvent]) -> Callable[[Handler], Handler]:
    """Marks a projection method as the fold of these event types."""

    def mark(fn: Handler) -> Handler:
        fn.__projects__ = event_types  # type: ignore[attr-defined]
        return fn

    return mark


class Projection:
    """A read model: one document per ``doc_id``, its state a fold of the events it handles."""

    name: ClassVar[str]
    contract: ClassVar[EventRegistry]  # the producer's events
    _handlers: ClassVar[dict[type[DomainEvent], str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers = dict(getattr(cls, "_handlers", {}))
        for attr, value in vars(cls).items():
            for event_type in getattr(value, "__projects__", ()):
                handlers[event_type] = attr
        cls._handlers = handlers

    @cached_property
    def type_names(self) -> frozenset[str]:
        return frozenset(self.contract.type_of(t) for t in self._handlers)

    def handles(self, envelope: EventEnvelope) -> bool:
        return envelope.type in self.type_names

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.streamid

    def evolve(self, doc: dict[str, Any] | None, envelope: EventEnvelope) -> dict[str, Any]:
        """Pure: the document after this event (``doc`` is None for a new document)."""
        event = self.contract.decode(envelope)
        handler = getattr(self, self._handlers[type(event)])
        return self.finish(handler(doc, event, envelope), envelope)

    def finish(self, doc: dict[str, Any], envelope: EventEnvelope) -> dict[str, Any]:
        """What every event does to a document after its own handler (flat fields, history); nothing by default."""
        return doc

    async def ensure_indexes(self, collection: AsyncCollection[Any]) -> None:
        """Indexes the queries on this read model need."""


def version_key(stream_id: str) -> str:
    # '.' and '$' are not allowed in field names: swap in their full-width forms, which keeps keys distinct
    return stream_id.replace(".", "\uff0e").replace("$", "\uff04")


def strip_meta(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in META_KEYS}


async def apply_event(collection: AsyncCollection[Any], projection: Projection, envelope: EventEnvelope, *,
                      exclusive: bool = False) -> str:
    """Apply one event to a projection; returns 'applied', 'duplicate' or 'ignored'. ``exclusive``: this writer
    is the collection's only one (a rebuild's scratch collection), so its writes need no claims."""
    from .revisions import claim_revision, release, settle

    if not projection.handles(envelope):
        return "ignored"
    doc_id = projection.doc_id(envelope)
    key = version_key(envelope.streamid)
    for _ in range(1000):
        current = await collection.find_one({"_id": doc_id})
        seen = (current or {}).get("_v", {}).get(key, 0)
        if seen >= envelope.streamversion:
            return "duplicate"
        new = dict(projection.evolve(strip_meta(current), envelope))
        new["_id"] = doc_id
        new["_v"] = {**(current or {}).get("_v", {}), key: envelope.streamversion}
        if current is None:
            new["_rev"] = 1
            if await claim(collection, new):
                return "applied"
            continue  # someone created it meanwhile: read again
        new["_rev"] = current["_rev"] + 1
        if not exclusive and not await claim_revision(collection, new):
            await settle(collection, current)  # another writer has this revision: read again once it is written
            continue
        result = await collection.replace_one({"_id": doc_id, "_rev": current["_rev"]}, new)
        if not exclusive:
            await release(collection, [new])
        if result.matched_count == 1:
            return "applied"
    raise RuntimeError(f"projection {projection.name}: document {doc_id} kept changing under us")
