"""Typed projection handlers: one method per event type of the producer's contract, decoded (and upcast) with
the producer's EventRegistry. The shape of the kernel's coming ``nrmm_kernel.projector.Projection``/``on`` API, so
that moving to it is a change of import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from nrmm_kernel.envelope import DomainEvent, EventEnvelope, EventRegistry
from nrmm_kernel.projector import Projection

_EVENT = "__handles_event__"


def on(event_type: type[DomainEvent]) -> Callable:
    def mark(fn):
        setattr(fn, _EVENT, event_type)
        return fn

    return mark


class TypedProjection(Projection):
    contract: ClassVar[EventRegistry]
    _handlers: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        handlers = {}
        for name in dir(cls):
            event_type = getattr(getattr(cls, name), _EVENT, None)
            if event_type is not None:
                handlers[cls.contract.type_of(event_type)] = name
        cls._handlers = handlers

    def handles(self, envelope: EventEnvelope) -> bool:
        return envelope.type in self._handlers

    def evolve(self, doc: dict[str, Any] | None, envelope: EventEnvelope) -> dict[str, Any]:
        event = self.contract.decode(envelope)
        return getattr(self, self._handlers[envelope.type])(doc, event, envelope)
