"""Lists paged by a key (nrmm_kernel.keyset): every document once, in order, whatever the ties; a cursor not of ours
is a 422 on ``after``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ASCENDING, DESCENDING

from nrmm_kernel import keyset
from nrmm_kernel.errors import ValidationFailed
from tests.memory_db import MemoryDatabase


async def walk(coll, query, sort, limit, skip=0) -> tuple[list[str], int]:
    seen, after, pages = [], None, 0
    while True:
        docs, after = await keyset.page(coll, query, sort, limit, after, skip if pages == 0 else 0)
        seen += [d["_id"] for d in docs]
        pages += 1
        if after is None:
            return seen, pages


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
async def test_pages_give_every_document_once_in_order_with_ties(limit):
    coll = MemoryDatabase()["stays"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    docs = [{"_id": f"s{i:03d}", "site_code": "S-1" if i % 3 else "S-2", "at": start + timedelta(minutes=i // 4)}
            for i in range(40)]  # four documents share each time: the _id breaks the ties
    await coll.insert_many(docs)
    expected = [d["_id"] for d in sorted((d for d in docs if d["site_code"] == "S-1"),
                                         key=lambda d: (d["at"], d["_id"]), reverse=True)]
    seen, pages = await walk(coll, {"site_code": "S-1"}, [("at", DESCENDING)], limit)
    assert seen == expected and pages == -(-len(expected) // limit)
    ascending, _ = await walk(coll, {}, [], limit)
    assert ascending == sorted(d["_id"] for d in docs)
    after_skip, _ = await walk(coll, {}, [("site_code", ASCENDING)], limit, skip=5)  # an old client's first page
    assert after_skip == sorted((d["_id"] for d in docs), key=lambda i: ("S-1" if int(i[1:]) % 3 else "S-2", i))[5:]


def test_cursor_round_trip_and_refusal():
    moment = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    assert keyset.decode(keyset.encode([moment, "site-1"]), 2) == [moment, "site-1"]
    for bad in ("not base64 at all!", keyset.encode(["one"]), keyset.encode([{"$gt": ""}, "x"]), ""):
        with pytest.raises(ValidationFailed) as caught:
            keyset.decode(bad, 2)
        assert caught.value.code == "invalid_cursor" and caught.value.field == "after"


def test_after_filter_is_a_keyset_condition():
    assert keyset.after_filter([("at", DESCENDING), ("_id", DESCENDING)], ["t", "x"]) == {
        "$or": [{"at": {"$lt": "t"}}, {"at": "t", "_id": {"$lt": "x"}}]}
