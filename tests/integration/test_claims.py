"""Decided by a unique insert (nrmm_kernel.claims) on the real database: of racing claimants of one key exactly one
wins; numbered claims of a key are taken once each, in one order, and a judge sees the highest before each."""

import asyncio

import pytest

from nrmm_kernel.claims import NumberedClaims, claim, claim_or_existing, digest_prefix
from nrmm_kernel.errors import Conflict


async def test_of_racing_claims_of_one_key_exactly_one_wins(db):
    won = await asyncio.gather(*[claim(db["serials"], {"_id": "A7K2P", "by": n}) for n in range(20)])
    assert won.count(True) == 1
    holder = await db["serials"].find_one({"_id": "A7K2P"})
    assert holder["by"] == won.index(True)


async def test_a_second_claim_finds_the_first(db):
    first = await claim_or_existing(db["deliveries"], {"_id": "d-1", "to": "13800138000"})
    again = await claim_or_existing(db["deliveries"], {"_id": "d-1", "to": "someone else"})
    assert first == again == {"_id": "d-1", "to": "13800138000"}


async def test_numbered_claims_are_taken_once_each_in_one_order(db):
    await db["claims"].create_index([("key", 1), ("n", 1)], unique=True)  # as every user of NumberedClaims does
    claims = NumberedClaims(db["claims"], prefix=digest_prefix)
    taken = await asyncio.gather(*[claims.claim_next("user|10.0.0.0", {"n_by": i}) for i in range(15)])
    assert sorted(t.n for t in taken if t) == list(range(1, 16))
    assert len({t.id for t in taken if t}) == 15
    assert (await claims.highest("user|10.0.0.0"))["n"] == 15
    assert (await claims.claim_next("another key", {})).n == 1


async def test_a_judge_sees_the_highest_claim_and_may_refuse(db):
    await db["identities"].create_index([("key", 1), ("n", 1)], unique=True)
    claims = NumberedClaims(db["identities"])
    seen = []

    async def judge(held):
        seen.append(held and held["machine_id"])
        if held is not None and held["machine_id"] != "m-2":
            raise Conflict("held", code="machine_already_registered")

    assert (await claims.claim_next("brand|serial", {"machine_id": "m-1"}, judge)).id == "brand|serial:1"
    with pytest.raises(Conflict):
        await claims.claim_next("brand|serial", {"machine_id": "m-2"}, judge)
    assert seen == [None, "m-1"]
