"""The audit pieces without infrastructure: the in-memory store's store chain, verify, export and import, as-of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nrmm_kernel.audit_asof import envelopes_until, fold, public_state
from nrmm_kernel.audit_export import (
    ImportRefused,
    commits_between,
    commits_of_streams,
    export_lines,
    import_commits,
    read_commits,
)
from nrmm_kernel.audit_time import last_position_at, parse_time
from nrmm_kernel.audit_verify import verify
from nrmm_kernel.chain import GENESIS, store_hash
from nrmm_kernel.errors import AppError
from nrmm_kernel.memory_store import InMemoryEventStore
from tests.sample import MachineMoved, MachineRegistered, SampleMachine, registry

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def wrap(stream: str, version: int, event, minutes: int = 0):
    return registry.wrap(event, stream_id=stream, stream_version=version, time=T0 + timedelta(minutes=minutes))


async def filled() -> InMemoryEventStore:
    store = InMemoryEventStore()
    await store.append("machine-1", 0, [wrap("machine-1", 1, MachineRegistered(code="4-N01AAAAA", category="crane"))])
    await store.append("machine-2", 0, [wrap("machine-2", 1, MachineRegistered(code="4-N02AAAAA", category="crane"))])
    await store.append("machine-1", 1, [wrap("machine-1", 2, MachineMoved(site="S-1"), 10),
                                        wrap("machine-1", 3, MachineMoved(site="S-2"), 10)])
    await store.append("machine-1", 3, [wrap("machine-1", 4, MachineMoved(site="S-3"), 20)])
    return store


async def test_every_commit_links_to_the_store_commit_before_it():
    store = await filled()
    commits = [c async for c in store.read_all()]
    assert commits[0].store_prev_hash == GENESIS
    for before, commit in zip(commits, commits[1:], strict=False):
        assert commit.store_prev_hash == before.store_hash
        assert commit.store_hash == store_hash(commit.position, commit.hash, before.store_hash)
    report = await verify(store)
    assert report.ok and report.commits == 4 and report.to_dict()["first_break"] is None


async def test_a_checkpoint_the_store_disagrees_with_is_named():
    store = await filled()
    report = await verify(store, external_checkpoints={2: "f" * 64})
    first = report.first_break
    assert (first.position, first.kind, first.after_checkpoint) == (2, "checkpoint", 0)
    beyond = (await verify(store, external_checkpoints={9: "f" * 64})).first_break
    assert (beyond.position, beyond.kind) == (5, "missing")  # commits after the head were deleted


async def test_export_then_import_gives_the_same_commits_and_hashes():
    source = await filled()
    lines = [line async for line in export_lines(commits_between(source, 1, 4))]
    assert len(lines) == 5  # one line per event
    copy = InMemoryEventStore()
    assert await import_commits(copy, read_commits(lines)) == 4
    assert [(c.hash, c.store_hash) async for c in copy.read_all()] == [(c.hash, c.store_hash)
                                                                          async for c in source.read_all()]
    streams = [line async for line in export_lines(commits_of_streams(source, ["machine-2"]))]
    assert len(streams) == 1 and '"storeposition":2' in streams[0]


async def test_an_edited_export_line_is_refused():
    source = await filled()
    lines = [line async for line in export_lines(commits_between(source, 1, 4))]
    lines[2] = lines[2].replace("S-1", "S-9")
    with pytest.raises(ImportRefused, match="does not match its hash"):
        await import_commits(InMemoryEventStore(), read_commits(lines))
    with pytest.raises(ImportRefused, match="not JSON"):
        list(read_commits(["{not json"]))


async def test_a_stream_folded_as_of_a_time_or_a_version():
    store = await filled()
    envelopes = await store.read_stream("machine-1")
    at_15 = envelopes_until(envelopes, at=T0 + timedelta(minutes=15))
    machine = fold(SampleMachine, registry, "1", at_15)
    assert (machine.site, machine.version) == ("S-2", 3)
    assert public_state(fold(SampleMachine, registry, "1", envelopes_until(envelopes, version=1)))["site"] is None
    with pytest.raises(AppError) as early:
        envelopes_until(envelopes, at=T0 - timedelta(days=1))
    assert (early.value.code, early.value.field) == ("before_stream_existed", "as_of")
    with pytest.raises(AppError) as unknown:
        envelopes_until([], at=T0)
    assert unknown.value.code == "stream_not_found"


def test_times_need_their_offset():
    assert parse_time("2026-11-29T10:00:00+08:00", "as_of") == datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    assert parse_time("2026-11-29T10:00:00 08:00", "as_of") == datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # "+" lost
    assert parse_time(None, "as_of") is None
    for bad in ("yesterday", "2026-11-29T10:00:00", "2026-13-01T00:00:00+08:00"):
        with pytest.raises(AppError) as refused:
            parse_time(bad, "as_of")
        assert (refused.value.code, refused.value.field, refused.value.status) == ("invalid_time", "as_of", 422)


async def test_a_time_maps_to_the_last_position_committed_by_then():
    store = await filled()
    commits = [c async for c in store.read_all()]
    assert await last_position_at(store, commits[1].committed_at) >= 2
    assert await last_position_at(store, commits[0].committed_at - timedelta(days=1)) == 0
    assert await last_position_at(store, datetime.now(UTC) + timedelta(days=1)) == 4
