"""Numbered attempts on the real database: racing takers get distinct numbers, and each sees every attempt
numbered below it (the property the login throttle, the SMS limits and the SMS tries rest on)."""

import asyncio
from datetime import timedelta

from gateway.app.numbered import NumberedAttempts
from nrmm_kernel.envelope import utcnow


async def test_racing_takers_are_put_in_one_order_each_seeing_all_before_it(db):
    attempts = NumberedAttempts(db["attempts"])
    await attempts.ensure_indexes()
    now = utcnow()
    taken = await asyncio.gather(*[attempts.take("13800138000", now, since=now - timedelta(minutes=1))
                                   for _ in range(25)])
    assert sorted(a.n for a in taken) == list(range(1, 26))
    for a in taken:
        assert sorted(e["n"] for e in a.earlier) == list(range(1, a.n)), a.n
    other = await attempts.take("someone-else", now, since=now - timedelta(minutes=1))
    assert other.n == 1 and other.earlier == []


async def test_an_attempt_keeps_its_number_and_its_mark(db):
    attempts = NumberedAttempts(db["attempts"])
    await attempts.ensure_indexes()
    now = utcnow()
    first = await attempts.take("user", now, since=now - timedelta(minutes=1))
    await attempts.mark(first, "refused")
    second = await attempts.take("user", now, since=now - timedelta(minutes=1))
    assert second.n == 2 and [(e["n"], e["state"]) for e in second.earlier] == [(1, "refused")]
    # an old attempt is outside the window asked for, and purged later
    later = now + timedelta(hours=2)
    third = await attempts.take("user", later, since=later - timedelta(minutes=1))
    assert third.n == 3 and third.earlier == []
    await attempts.purge(later - timedelta(minutes=30))
    assert await db["attempts"].count_documents({}) == 1
