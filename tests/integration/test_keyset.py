"""Keyset pages on the real database: the ``$or`` of a page's condition over strings and times, ties broken by _id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import DESCENDING

from nrmm_kernel import keyset


async def test_pages_on_the_database_give_every_document_once_in_order(db):
    coll = db["stays"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    docs = [{"_id": f"s{i:03d}", "site_code": "S-1", "at": start + timedelta(minutes=i // 3),
             "day": f"2026-01-{1 + i // 10:02d}"} for i in range(25)]
    await coll.insert_many(docs)
    for sort, key in (([("at", DESCENDING)], lambda d: (d["at"], d["_id"])),
                      ([("day", DESCENDING)], lambda d: (d["day"], d["_id"]))):
        seen, after = [], None
        while True:
            page, after = await keyset.page(coll, {"site_code": "S-1"}, sort, 4, after)
            seen += [d["_id"] for d in page]
            if after is None:
                break
        assert seen == [d["_id"] for d in sorted(docs, key=key, reverse=True)]
