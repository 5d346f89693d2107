"""PyMongo's async API over mongomock, for unit tests of command handlers without a database.

Only the calls the services make are given (find, find_one, inserts, updates, deletes, find_one_and_*,
count_documents, aggregate, indexes): each runs mongomock's synchronous code, so unique indexes refuse with
PyMongo's own ``DuplicateKeyError`` as the database does. Integration tests use the real database, never this.
"""

from __future__ import annotations

import uuid
from typing import Any

import mongomock


class MemoryCursor:
    def __init__(self, cursor: Any):
        self._cursor = cursor

    def sort(self, *args: Any, **kwargs: Any) -> MemoryCursor:
        self._cursor = self._cursor.sort(*args, **kwargs)
        return self

    def limit(self, n: int) -> MemoryCursor:
        self._cursor = self._cursor.limit(n)
        return self

    def skip(self, n: int) -> MemoryCursor:
        self._cursor = self._cursor.skip(n)
        return self

    def batch_size(self, n: int) -> MemoryCursor:
        return self

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        docs = list(self._cursor)
        return docs if length is None else docs[:length]

    def __aiter__(self) -> MemoryCursor:
        self._iter = iter(self._cursor)
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            return next(self._iter)
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        pass


class MemoryCollection:
    def __init__(self, database: MemoryDatabase, collection: Any):
        self.database = database
        self._c = collection
        self.name = collection.name

    def find(self, *args: Any, **kwargs: Any) -> MemoryCursor:
        sort = kwargs.pop("sort", None)
        limit = kwargs.pop("limit", None)
        cursor = MemoryCursor(self._c.find(*args, **kwargs))
        if sort:
            cursor.sort(sort)
        if limit:
            cursor.limit(limit)
        return cursor

    async def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> MemoryCursor:
        return MemoryCursor(self._c.aggregate(pipeline))

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._c, name)  # the synchronous call, awaited like PyMongo's async one

        async def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("session", None)
            return method(*args, **kwargs)

        return call

    async def drop(self) -> None:
        self._c.drop()


class MemoryDatabase:
    def __init__(self, name: str | None = None):
        self.client = mongomock.MongoClient(tz_aware=True)  # as runtime.mongo_client
        self.name = name or f"t_{uuid.uuid4().hex[:12]}"
        self._db = self.client[self.name]

    def __getitem__(self, name: str) -> MemoryCollection:
        return MemoryCollection(self, self._db[name])

    def __getattr__(self, name: str) -> MemoryCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    async def list_collection_names(self) -> list[str]:
        return list(self._db.list_collection_names())

    async def drop_collection(self, name: str) -> None:
        self._db.drop_collection(name)

    async def command(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"ok": 1.0}
