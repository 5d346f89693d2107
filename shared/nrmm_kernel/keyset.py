"""Lists paged by a key (keyset pagination), not by ``skip``: a page starts after the last document of the one before.

A list sorts on its fields with ``_id`` last as the tie-breaker; the page's last document's values make an opaque
cursor (``after``); the next page's filter asks for what sorts after them. The cost of a page is that of its first,
however deep (``skip`` reads and drops everything before). The cursor travels in the ``X-Next-Cursor`` response
header (absent on the last page), so a list's body stays the list it was.

    docs, cursor = await page(coll, query, [("updated_at", DESCENDING)], limit, after)
    set_next_cursor(response, cursor)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Response
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from .errors import ValidationFailed

HEADER = "X-Next-Cursor"
After = Annotated[str | None, Query(max_length=600, description="the cursor of the page before (its X-Next-Cursor)")]


def _plain(value: Any) -> Any:
    return {"$dt": value.isoformat()} if isinstance(value, datetime) else value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$dt"}:
        return datetime.fromisoformat(value["$dt"])
    return value


def encode(values: Sequence[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    """The values a cursor carries; a cursor that is not one of ours is a 422 on ``after``."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("size")
        values = [_typed(v) for v in values]
        if any(isinstance(v, (dict, list)) for v in values):
            raise ValueError("shape")
        return values
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError):
        raise ValidationFailed("分页游标无效 (invalid cursor)", code="invalid_cursor", field="after") from None


def after_filter(sort: Sequence[tuple[str, int]], values: Sequence[Any]) -> dict[str, Any]:
    """What sorts after ``values``: (f1 beyond v1) or (f1 = v1 and f2 beyond v2) or ..."""
    branches = []
    for i, (field, direction) in enumerate(sort):
        branch = {f: v for (f, _), v in zip(sort[:i], values[:i], strict=True)}
        branch[field] = {"$lt" if direction == DESCENDING else "$gt": values[i]}
        branches.append(branch)
    return {"$or": branches}


async def page(collection: AsyncCollection[Any], query: dict[str, Any], sort: Sequence[tuple[str, int]], limit: int,
               after: str | None, skip: int = 0) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``query`` in ``sort`` order (``_id`` added as the last key), and the cursor of the next.
    ``skip`` (old clients) passes over that many first; a cursor is the way on."""
    order = [*sort, ("_id", sort[-1][1] if sort else ASCENDING)]
    if after is not None:
        beyond = after_filter(order, decode(after, len(order)))
        query = {**query, **beyond} if "$or" not in query else {"$and": [query, beyond]}
    found = collection.find(query).sort(order).limit(limit + 1)  # to_list(n) alone sends no limit to the server
    docs = await (found.skip(skip) if skip else found).to_list(limit + 1)
    more = len(docs) > limit
    docs = docs[:limit]
    cursor = encode([_value(docs[-1], field) for field, _ in order]) if more and docs else None
    return docs, cursor


def _value(doc: dict[str, Any], field: str) -> Any:
    value: Any = doc
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def set_next_cursor(response: Response, cursor: str | None) -> None:
    if cursor is not None:
        response.headers[HEADER] = cursor
