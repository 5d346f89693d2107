"""The filter and sort shapes this process sends to the database, and the indexes it declares, for the index test.

Off unless ``NRMM_QUERY_SHAPES`` names a file: then every client made by ``runtime.mongo_client`` carries a PyMongo
command listener that appends one JSON line per new shape (find, count, distinct, update, delete, findAndModify,
aggregate's leading $match and $sort) and per index created. The test suite sets it for itself and every service it
starts (tests/conftest.py); tests/indexes/test_query_shapes.py checks that an index the collection declares serves
each shape, which is how MongoDB 7 (no server here) is held to index-backed lookups. Values are never recorded: a
shape is the fields and how each is matched (``eq``, ``in``, ``range``...).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

from pymongo import monitoring

ENV = "NRMM_QUERY_SHAPES"
RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte"})
LOGICAL = ("$and", "$or", "$nor")
# where the calling code lives: the first frame of the platform's own code names the query's origin
OWN_CODE = ("/services/", "/nrmm_kernel/", "/tests/", "/bench/")


def field_match(value: Any) -> str:
    """How one field is matched: ``eq`` for a value, else by its operators."""
    if not isinstance(value, Mapping) or not value or not all(str(k).startswith("$") for k in value):
        return "eq"
    ops = set(value)
    if ops <= {"$eq"}:
        return "eq"
    if ops <= {"$in"}:
        return "in"
    if ops <= RANGE_OPS:
        return "range"
    return "+".join(sorted(op.lstrip("$") for op in ops))


def filter_shape(query: Any) -> dict[str, Any]:
    """{field: how} for a filter; logical operators keep their branches' shapes."""
    if not isinstance(query, Mapping):
        return {}
    shape: dict[str, Any] = {}
    for key, value in query.items():
        if key in LOGICAL and isinstance(value, list):
            shape[key] = [filter_shape(branch) for branch in value]
        elif not str(key).startswith("$"):
            shape[str(key)] = field_match(value)
        else:
            shape[str(key)] = "op"
    return shape


def sort_shape(sort: Any) -> list[str]:
    if isinstance(sort, Mapping):
        return [str(k) for k in sort]
    return []


def shapes_of(command_name: str, command: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The shapes one command carries (an update or delete command can carry several)."""
    coll = command.get(command_name)
    if not isinstance(coll, str):
        return []
    base = {"collection": coll}
    if command_name == "find":
        return [{**base, "op": "find", "filter": filter_shape(command.get("filter")),
                 "sort": sort_shape(command.get("sort")), "limited": bool(command.get("limit"))}]
    if command_name in ("count", "distinct"):
        return [{**base, "op": command_name, "filter": filter_shape(command.get("query")), "sort": [],
                 "limited": bool(command.get("limit"))}]
    if command_name == "findAndModify":
        return [{**base, "op": "findAndModify", "filter": filter_shape(command.get("query")),
                 "sort": sort_shape(command.get("sort")), "limited": True}]
    if command_name in ("update", "delete"):
        key = "updates" if command_name == "update" else "deletes"
        found: list[dict[str, Any]] = []
        for statement in command.get(key) or ():
            if isinstance(statement, Mapping):
                found.append({**base, "op": command_name, "filter": filter_shape(statement.get("q")), "sort": [],
                              "limited": not statement.get("multi") and statement.get("limit", 1) == 1})
        return found
    if command_name == "aggregate":
        pipeline = [s for s in command.get("pipeline") or () if isinstance(s, Mapping)]
        match = pipeline[0].get("$match") if pipeline and "$match" in pipeline[0] else None
        rest = pipeline[1:] if match is not None else pipeline
        sort = rest[0].get("$sort") if rest and "$sort" in rest[0] else None
        limited = len(rest) > (1 if sort else 0) and "$limit" in rest[1 if sort else 0]
        return [{**base, "op": "aggregate", "filter": filter_shape(match), "sort": sort_shape(sort),
                 "limited": limited}]
    return []


def origin() -> str:
    """The platform's own code that sent the command (``path:line``), found on the calling coroutine's stack."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename.replace("\\", "/")
        if "/pymongo/" not in name and any(part in name for part in OWN_CODE):
            for part in OWN_CODE:
                if part in name:
                    return name[name.index(part) + 1:] + f":{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


class ShapeRecorder(monitoring.CommandListener):
    """Appends each new shape (and each index declared) to a file as one JSON line; several processes share it."""

    def __init__(self, path: str):
        self.path = path
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False)
        with self._lock:
            if line in self._seen:
                return
            self._seen.add(line)
            with open(self.path, "a", encoding="utf-8") as out:  # one short append: whole lines, any process
                out.write(line + "\n")

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        try:
            command, name = event.command, event.command_name
            if name == "createIndexes":
                for index in command.get("indexes") or ():
                    self._write({"kind": "index", "collection": command.get(name),
                                 "keys": [str(k) for k in index.get("key", {})]})
                return
            where = None
            for shape in shapes_of(name, command):
                where = where or origin()
                self._write({"kind": "query", **shape, "origin": where})
        except Exception:  # noqa: BLE001 - a recorder never fails a query
            return

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return


_recorder: ShapeRecorder | None = None


def listeners() -> list[monitoring.CommandListener]:
    """The listener to give a new client: none unless ``NRMM_QUERY_SHAPES`` names a file."""
    global _recorder
    path = os.environ.get(ENV)
    if not path:
        return []
    if _recorder is None or _recorder.path != path:
        _recorder = ShapeRecorder(path)
    return [_recorder]
