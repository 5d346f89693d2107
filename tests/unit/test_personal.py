"""Crypto-shredding: a sealed value opens for its subject until the subject is forgotten, then reads as erased."""

from __future__ import annotations

import pytest

from nrmm_kernel.personal import ERASED, SubjectForgotten, SubjectKeys, is_sealed, subject_of
from tests.memory_db import MemoryDatabase


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase()


async def test_a_sealed_value_hides_the_plain_text_and_opens_again(db):
    keys = SubjectKeys(db)
    sealed = await keys.seal("acc-1", "13800138000")
    assert is_sealed(sealed) and "13800138000" not in sealed and subject_of(sealed) == "acc-1"
    assert await keys.open(sealed) == "13800138000"
    assert await SubjectKeys(db).open(sealed) == "13800138000"  # another process shares the key store


async def test_sealing_the_same_value_twice_gives_different_text(db):
    keys = SubjectKeys(db)
    assert await keys.seal("acc-1", "x") != await keys.seal("acc-1", "x")


async def test_forgetting_a_subject_erases_its_values_and_no_other(db):
    keys = SubjectKeys(db)
    mine, theirs = await keys.seal("acc-1", "500101199001011234"), await keys.seal("acc-2", "13900139000")
    assert await keys.forget("acc-1")
    assert await keys.open(mine) == ERASED
    assert await keys.open(theirs) == "13900139000"
    assert await keys.forgotten("acc-1") and not await keys.forgotten("acc-2")
    with pytest.raises(SubjectForgotten):
        await keys.seal("acc-1", "new")


async def test_another_process_stops_opening_within_the_cache_time(db):
    clock = Clock()
    reader, eraser = SubjectKeys(db, clock=clock), SubjectKeys(db)
    sealed = await reader.seal("acc-1", "13800138000")
    await eraser.forget("acc-1")
    clock.now += 6
    assert await reader.open(sealed) == ERASED


async def test_a_value_moved_to_another_subject_does_not_open(db):
    keys = SubjectKeys(db)
    sealed = await keys.seal("acc-1", "13800138000")
    await keys.seal("acc-2", "y")
    forged = sealed.replace("pd1:acc-1:", "pd1:acc-2:")
    assert await keys.open(forged) == ERASED


async def test_plain_text_passes_through(db):
    assert await SubjectKeys(db).open("plain") == "plain"
    assert await SubjectKeys(db).open(None) is None
