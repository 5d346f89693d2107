"""State as of a time or a version: one aggregate folded up to that point, or a whole projection rebuilt as of a
time into a scratch collection (never the live one) that is dropped after use."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from .aggregate import Aggregate
from .audit_time import last_position_at
from .batch_apply import DocumentCache, apply_batch
from .envelope import EventEnvelope, EventRegistry
from .errors import NotFound, ValidationFailed
from .projection import strip_meta

if TYPE_CHECKING:
    from .runtime import ServiceRuntime

SCRATCH_PREFIX = "asof__"


def envelopes_until(envelopes: list[EventEnvelope], *, at: datetime | None = None,
                    version: int | None = None) -> list[EventEnvelope]:
    """The stream's events up to a time (by each event's time) or a version; refuses a point before the stream."""
    if not envelopes:
        raise NotFound("没有这条记录 (unknown stream)", code="stream_not_found", field="stream_id")
    if version is not None:
        if version < 1:
            raise ValidationFailed("版本从 1 开始 (version starts at 1)", code="invalid_version", field="version")
        chosen = [e for e in envelopes if e.streamversion <= version]
    elif at is not None:
        chosen = [e for e in envelopes if e.time <= at]
        if not chosen:
            raise ValidationFailed(f"该时间早于这条记录的创建时间 {envelopes[0].time.isoformat()} "
                                   f"(the stream did not exist yet)", code="before_stream_existed", field="as_of")
    else:
        chosen = envelopes
    return chosen


def fold(kind: type[Aggregate], registry: EventRegistry, aggregate_id: str,
         envelopes: list[EventEnvelope]) -> Aggregate:
    return kind.rehydrate(aggregate_id, (registry.decode(e) for e in envelopes))


def public_state(aggregate: Aggregate) -> dict[str, Any]:
    """An aggregate's fields as JSON-friendly values (its pending list left out)."""
    return {k: _plain(v) for k, v in vars(aggregate).items() if not k.startswith("_")}


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str | int):
        return value.value
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


async def projection_as_of(runtime: ServiceRuntime, name: str, at: datetime, *, where: dict[str, str] | None = None,
                           progress: bool = False) -> AsyncIterator[dict[str, Any]]:
    """The documents of projection ``name`` as it stood at ``at`` (matching ``where``), from a scratch rebuild of
    the store's commits up to the last position committed by then; the scratch collection is dropped after."""
    projection = next((p for p in runtime.projections if p.name == name), None)
    if projection is None or runtime.store is None or runtime.subscribe_to != [runtime.settings.topic]:
        raise NotFound(f"没有可按时间重建的投影 {name} (known: {[p.name for p in runtime.projections]})",
                       code="unknown_projection", field="projection")
    store = runtime.store
    last = await last_position_at(store, at)
    scratch = runtime.db[f"{SCRATCH_PREFIX}{name}__{uuid.uuid4().hex[:8]}"]
    bar = tqdm(total=last, desc=f"{name} as of {at.isoformat()}", unit="commit", disable=not progress)
    try:
        cache, pending = DocumentCache(), list[EventEnvelope]()
        async for commit in store.read_all(1):
            if commit.position > last:
                break
            pending.extend(runtime.registry.upcast(e) if runtime.registry.knows(e.type) else e for e in commit.events)
            if len(pending) >= 2000:
                await apply_batch(scratch, projection, pending, cache=cache)
                pending = []
            bar.update(1)
        if pending:
            await apply_batch(scratch, projection, pending, cache=cache)
        bar.close()
        async for doc in scratch.find({k: _typed(v) for k, v in (where or {}).items()}):
            yield {"_id": doc["_id"], **(strip_meta(doc) or {})}
    finally:
        bar.close()
        await scratch.drop()


def _typed(value: str) -> Any:
    """A ``--where`` value: numbers and booleans as themselves, anything else as text."""
    if value in ("true", "false"):
        return value == "true"
    if value.lstrip("-").isdigit() and str(int(value)) == value:  # "05" (a district) stays text
        return int(value)
    return value
