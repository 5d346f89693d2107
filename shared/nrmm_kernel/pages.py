"""Reading the event store in position order without a range or a sort: by pages of positions.

Each commit carries ``page`` = position // PAGE, and the store declares an index on it, so a page of PAGE commits
is one equality query: FerretDB serves it from that index (its GIN sibling, deploy/postgres/gin-siblings.sql)
and returns about 2,500 commit documents a second this way, against about 1,000 by single ``_id`` lookups
(measured on the development machine, 2 KB commits). A position the page query did not return (a commit written
before pages existed, or one whose document was edited) is looked up by ``_id``; positions are gapless, so the
first one missing is the end of the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

PAGE = 1024  # commits per page
LOOKUPS = 64  # concurrent ``_id`` lookups for positions a page query did not return
FIRST_LOOKUPS = 2  # then 4, 8 ... LOOKUPS

Doc = dict[str, Any]


def page_of(position: int) -> int:
    return position // PAGE


async def _lookups(collection: AsyncCollection[Any], first: int, end: int, found: dict[int, Doc]) -> list[Doc]:
    """Positions ``first``..``end - 1`` from ``found``, the rest by concurrent ``_id`` lookups; up to the first
    missing position."""
    docs: list[Doc] = []
    position, step = first, FIRST_LOOKUPS
    while position < end:
        upto = min(end, position + step)
        step = min(step * 2, LOOKUPS)  # growing: a reader at the head looks up a few positions that are not there
        missing = [p for p in range(position, upto) if p not in found]
        looked = dict(zip(missing, await asyncio.gather(*(collection.find_one({"_id": p}) for p in missing)),
                          strict=True))
        for p in range(position, upto):
            doc = found.get(p) or looked.get(p)
            if doc is None:
                return docs  # the end of the store
            docs.append(doc)
        position = upto
    return docs


async def _page(collection: AsyncCollection[Any], page: int, first: int) -> list[Doc]:
    """The commits of ``page`` from ``first`` on, in position order, up to the first missing position."""
    found = {d["_id"]: d async for d in collection.find({"page": page})}
    return await _lookups(collection, first, (page + 1) * PAGE, found)


async def commit_docs(collection: AsyncCollection[Any], from_position: int = 1) -> AsyncGenerator[Doc, None]:
    """Every stored commit document from ``from_position`` on, in position order. The first few by ``_id``
    lookups (a reader near the head, such as the relay, wants only those: a page query would return the page's
    older commits too); then by pages, the next one read while the caller works on this one."""
    position = max(1, from_position)
    docs = await _lookups(collection, position, position + LOOKUPS, {})
    for doc in docs:
        yield doc
    if len(docs) < LOOKUPS:
        return
    position += LOOKUPS
    ahead = asyncio.create_task(_page(collection, page_of(position), position))
    try:
        while True:
            docs = await ahead
            if not docs:
                return
            position = docs[-1]["_id"] + 1
            ahead = asyncio.create_task(_page(collection, page_of(position), position))
            for doc in docs:
                yield doc
    finally:
        ahead.cancel()
