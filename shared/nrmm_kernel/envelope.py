"""Event envelope (CloudEvents 1.0 attributes plus stream metadata), event type registry, upcasting.

Extension attribute names follow CloudEvents: lowercase letters and digits only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .logging import current_correlation_id, new_correlation_id


def utcnow() -> datetime:
    # Millisecond precision: what BSON dates keep, so a value survives a round trip unchanged.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class DomainEvent(BaseModel):
    """Base of every domain event: an immutable fact. Subclasses add their fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: ClassVar[int] = 1


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)
    account_id: str
    role: str


class EventEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # CloudEvents 1.0 context attributes
    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    # extensions: stream, causality, actor, schema
    streamid: str
    streamversion: int = Field(ge=1)
    correlationid: str
    causationid: str | None = None
    actorid: str | None = None
    actorrole: str | None = None
    schemaversion: int = Field(default=1, ge=1)
    data: dict[str, Any]

    @property
    def event_name(self) -> str:
        """The unqualified event name, e.g. ``CodeIssued``."""
        return self.type.rsplit(".", 1)[-1]

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    """Maps event types to their models and knows how to bring old schema versions up to date.

    ``type`` on the wire is ``<namespace>.<ClassName>``, e.g. ``cn.cq.nrmm.registry.CodeIssued``.
    """

    def __init__(self, *, namespace: str, source: str):
        self.namespace = namespace
        self.source = source
        self._by_type: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    # registration -------------------------------------------------------------------------
    def register(self, cls: type[DomainEvent]) -> type[DomainEvent]:
        name = self.type_of(cls)
        if name in self._by_type and self._by_type[name] is not cls:
            raise ValueError(f"event type {name} registered twice")
        self._by_type[name] = cls
        return cls

    def upcaster(self, cls: type[DomainEvent], from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning data of ``from_version`` into ``from_version + 1``."""

        def decorator(fn: Upcaster) -> Upcaster:
            self._upcasters[(self.type_of(cls), from_version)] = fn
            return fn

        return decorator

    def type_of(self, cls: type[DomainEvent]) -> str:
        return f"{self.namespace}.{cls.__name__}"

    def model_for(self, type_name: str) -> type[DomainEvent]:
        try:
            return self._by_type[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None

    def knows(self, type_name: str) -> bool:
        return type_name in self._by_type

    @property
    def types(self) -> dict[str, type[DomainEvent]]:
        return dict(self._by_type)

    # wrapping and unwrapping ------------------------------------------------------------
    def wrap(
        self,
        event: DomainEvent,
        *,
        stream_id: str,
        stream_version: int,
        actor: Actor | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        subject: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> EventEnvelope:
        cls = type(event)
        type_name = self.type_of(cls)
        if self._by_type.get(type_name) is not cls:
            raise UnknownEventType(f"{type_name} is not registered")
        return EventEnvelope(
            id=event_id or str(uuid.uuid4()),
            source=self.source,
            type=type_name,
            time=time or utcnow(),
            subject=subject or stream_id,
            streamid=stream_id,
            streamversion=stream_version,
            correlationid=correlation_id or current_correlation_id() or new_correlation_id(),
            causationid=causation_id,
            actorid=actor.account_id if actor else None,
            actorrole=actor.role if actor else None,
            schemaversion=cls.schema_version,
            data=event.model_dump(mode="json"),
        )

    def upcast(self, envelope: EventEnvelope) -> EventEnvelope:
        """Bring an envelope's data to the current schema version of its type."""
        cls = self.model_for(envelope.type)
        data, version = envelope.data, envelope.schemaversion
        while version < cls.schema_version:
            step = self._upcasters.get((envelope.type, version))
            if step is None:
                raise LookupError(f"no upcaster for {envelope.type} v{version}")
            data = step(dict(data))
            version += 1
        if version == envelope.schemaversion:
            return envelope
        return envelope.model_copy(update={"data": data, "schemaversion": version})

    def decode(self, envelope: EventEnvelope) -> DomainEvent:
        current = self.upcast(envelope)
        return self.model_for(current.type).model_validate(current.data)
