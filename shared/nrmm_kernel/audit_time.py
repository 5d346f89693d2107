"""Times an auditor gives, and the store positions they map to.

A time range is mapped to positions by bisection on ``_id`` equality lookups (positions are gapless and in commit
order, so a commit's ``committed_at`` grows with its position): O(log N) lookups, never a range scan or a sort on
FerretDB.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .errors import ValidationFailed
from .eventstore import EventStore


def parse_time(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 time with its offset (``2026-11-29T10:00:00+08:00``); a naive time is refused (whose clock?)."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+", 1) if "T" in value
                                        else value)
    except ValueError:
        raise ValidationFailed(f"时间格式无效，应为 ISO 8601 并带时区，如 2026-11-29T10:00:00+08:00 "
                               f"(got {value[:40]!r})", code="invalid_time", field=field) from None
    if parsed.tzinfo is None:
        raise ValidationFailed("时间须带时区，如 +08:00 (a time without its offset)", code="invalid_time", field=field)
    return parsed.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def committed_at(store: Any, position: int) -> datetime | None:
    if isinstance(store, EventStore):
        doc = await store.collection.find_one({"_id": position}, projection={"committed_at": 1})
        return _aware(doc["committed_at"]) if doc else None
    commits = getattr(store, "_commits", [])
    return commits[position - 1].committed_at if 0 < position <= len(commits) else None


async def last_position_at(store: Any, when: datetime, head: int | None = None) -> int:
    """The last position committed at or before ``when`` (0: none)."""
    high = head if head is not None else await store.head_position()
    low = 0  # invariant: low is at or before ``when`` (0 stands for "before everything"), high + 1 after
    while low < high:
        middle = (low + high + 1) // 2
        at = await committed_at(store, middle)
        if at is not None and at <= when:
            low = middle
        else:
            high = middle - 1
    return low
