"""Each service's own read-only audit router, under ``/api/<service>/audit`` (the gateway's /api/audit assembles
across services from these, never from another service's database).

Auditors only (the log of audit reads: the ecology bureau's city administrator too); a city-level auditor sees
every district, a district auditor the streams that touch their district (a stream's districts are those its
events name). Every read is recorded (audit_reads.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import StringConstraints

from .aggregate import Aggregate
from .audit_asof import envelopes_until, fold, public_state
from .audit_export import commits_between, commits_of_streams, export_lines
from .audit_reads import AuditReads, day_of, require_log_reader
from .audit_time import last_position_at, parse_time
from .audit_verify import verify
from .auth import Principal, current_principal, require_role
from .checkpoints import checkpoint_topic, read_checkpoints
from .envelope import EventEnvelope, utcnow
from .errors import Forbidden, NotFound, ValidationFailed
from .eventstore import Commit
from .logging import get_logger
from .reference import Role

log = get_logger("audit")
STREAM_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}-[A-Za-z0-9_.:\-]{1,120}$")
LOG_SCAN = 2000  # commits one log page looks at, at most: a sparse filter answers with where to go on
MAX_LIMIT = 200
StreamId = Annotated[str, StringConstraints(max_length=170)]


@dataclass
class MachineStreams:
    """A machine's streams in one service, and what the service knows of its names (codes, keys)."""

    streams: list[str]
    names: dict[str, Any] = field(default_factory=dict)


MachineLookup = Callable[[Request, str], Awaitable[MachineStreams | None]]


@dataclass
class AuditConfig:
    service: str
    kinds: dict[str, type[Aggregate]]  # stream type -> the aggregate its events fold into
    machine_streams: MachineLookup | None = None


def districts_of(envelopes: list[EventEnvelope]) -> set[str]:
    """The districts a stream's events name (``district``, or a nested machine's, site's or details')."""
    found: set[str] = set()
    for envelope in envelopes:
        data = envelope.data
        for holder in (data, data.get("machine"), data.get("site"), data.get("details")):
            if isinstance(holder, dict) and isinstance(holder.get("district"), str):
                found.add(holder["district"])
    return found


def may_see(who: Principal, districts: set[str]) -> bool:
    return who.district is None or who.district in districts


def event_view(envelope: EventEnvelope, commit: Commit | None = None) -> dict[str, Any]:
    view = {"stream_id": envelope.streamid, "version": envelope.streamversion, "type": envelope.event_name,
            "event_type": envelope.type, "event_id": envelope.id, "time": envelope.time.isoformat(),
            "actor": envelope.actorid, "role": envelope.actorrole, "correlation_id": envelope.correlationid,
            "causation_id": envelope.causationid, "source": envelope.source, "data": envelope.data}
    if commit is not None:
        view.update(position=commit.position, commit_hash=commit.hash, store_hash=commit.store_hash)
    return view


def _check_stream_id(stream_id: str) -> None:
    if not STREAM_ID.match(stream_id):
        raise ValidationFailed("记录标识格式无效 (a stream id is <type>-<id>)", code="invalid_stream_id",
                               field="stream_id")


def audit_router(config: AuditConfig, prefix: str | None = None) -> APIRouter:
    router = APIRouter(prefix=prefix or f"/api/{config.service}/audit", tags=["audit"])
    auditor = require_role(Role.AUDITOR)

    def store_of(request: Request) -> Any:
        store = request.app.state.runtime.store
        if store is None:
            raise NotFound("本服务没有事件存储 (no event store)", code="no_event_store")
        return store

    async def reads_of(request: Request) -> AuditReads:
        reads: AuditReads | None = getattr(request.app.state, "audit_reads", None)
        if reads is None:
            reads = AuditReads(request.app.state.runtime.db, config.service)
            await reads.ensure_indexes()
            request.app.state.audit_reads = reads
        return reads

    async def stream_commits(request: Request, who: Principal, stream_id: str) -> tuple[list[Commit], set[str]]:
        _check_stream_id(stream_id)
        commits = await store_of(request).read_commits(stream_id)
        if not commits:
            raise NotFound("没有这条记录 (unknown stream)", code="stream_not_found", field="stream_id")
        districts = districts_of([e for c in commits for e in c.events])
        if not may_see(who, districts):
            raise Forbidden("无权访问其他区县的数据 (outside your jurisdiction)", code="outside_jurisdiction",
                            field="stream_id")
        return commits, districts

    @router.get("/streams/{stream_id}/events", summary="Every event of one stream, with actor, time and causality")
    async def stream_events(stream_id: str, request: Request, who: Principal = Depends(auditor)) -> dict[str, Any]:
        commits, districts = await stream_commits(request, who, stream_id)
        await (await reads_of(request)).record(who, "stream", stream_id, district=_one(districts))
        return {"service": config.service, "stream_id": stream_id, "districts": sorted(districts),
                "version": commits[-1].last_version,
                "events": [event_view(e, c) for c in commits for e in c.events]}

    @router.get("/streams/{stream_id}/state", summary="An aggregate folded up to a time or a version")
    async def stream_state(stream_id: str, request: Request, as_of: str | None = Query(None, max_length=40),
                           version: int | None = Query(None, ge=1, le=10_000_000),
                           who: Principal = Depends(auditor)) -> dict[str, Any]:
        at = parse_time(as_of, "as_of")
        kind, aggregate_id = _kind_of(config, stream_id)
        commits, districts = await stream_commits(request, who, stream_id)
        registry = request.app.state.runtime.registry
        chosen = envelopes_until([registry.upcast(e) for c in commits for e in c.events], at=at, version=version)
        aggregate = fold(kind, registry, aggregate_id, chosen)
        await (await reads_of(request)).record(who, "state", stream_id, district=_one(districts),
                                               detail={"as_of": as_of, "version": version})
        return {"service": config.service, "stream_id": stream_id, "kind": kind.__name__,
                "as_of": at.isoformat() if at else None, "version": chosen[-1].streamversion,
                "last_event": event_view(chosen[-1]), "state": public_state(aggregate)}

    @router.get("/log", summary="The service's global log, filtered, paged by position")
    async def global_log(request: Request, type: str | None = Query(None, max_length=120),  # noqa: A002
                         actor: str | None = Query(None, max_length=120),
                         district: str | None = Query(None, pattern=r"^\d{2}$", max_length=2),
                         from_position: int = Query(1, ge=1), limit: int = Query(50, ge=1, le=MAX_LIMIT),
                         since: str | None = Query(None, max_length=40), until: str | None = Query(None, max_length=40),
                         who: Principal = Depends(auditor)) -> dict[str, Any]:
        if who.district is not None:
            if district not in (None, who.district):
                raise Forbidden("无权访问其他区县的数据 (outside your jurisdiction)", code="outside_jurisdiction",
                                field="district")
            district = who.district
        store = store_of(request)
        head = await store.head_position()
        start, end = from_position, head
        if (t0 := parse_time(since, "since")) is not None:
            start = max(start, await last_position_at(store, t0, head) + 1)
        if (t1 := parse_time(until, "until")) is not None:
            end = await last_position_at(store, t1, head)
        found: list[dict[str, Any]] = []
        next_position: int | None = None
        stream_districts: dict[str, set[str]] = {}
        async for commit in commits_between(store, start, min(end, start + LOG_SCAN - 1)):
            for envelope in commit.events:
                if type and type not in (envelope.type, envelope.event_name):
                    continue
                if actor and envelope.actorid != actor:
                    continue
                if district and district not in await _stream_districts(store, envelope, stream_districts):
                    continue
                found.append(event_view(envelope, commit))
            if len(found) >= limit:
                next_position = commit.position + 1
                break
        else:
            scanned_to = min(end, start + LOG_SCAN - 1)
            next_position = scanned_to + 1 if scanned_to < end else None
        await (await reads_of(request)).record(who, "log", config.service, district=district,
                                               detail={"type": type, "actor": actor, "from": start})
        return {"service": config.service, "head": head, "from_position": start, "until_position": end,
                "events": found, "next_position": next_position}

    @router.get("/verify", summary="Verify the store's chains and checkpoints; names the first broken link")
    async def verify_store(request: Request, who: Principal = Depends(auditor)) -> dict[str, Any]:
        settings = request.app.state.runtime.settings
        try:
            topic = await read_checkpoints(settings.kafka_bootstrap, checkpoint_topic(settings.namespace),
                                           config.service, seconds=5)
            topic_read = True
        except Exception as exc:  # noqa: BLE001 - the broker is down: the store's own checkpoints still count
            log.warning("audit.checkpoint_topic_unread", error=f"{type(exc).__name__}: {exc}"[:200])
            topic, topic_read = {}, False
        report = await verify(store_of(request), external_checkpoints=topic)
        await (await reads_of(request)).record(who, "verify", config.service)
        return {"service": config.service, "checkpoint_topic_read": topic_read, **report.to_dict()}

    @router.get("/export", summary="CloudEvents JSON Lines with their hashes: a time range or streams")
    async def export(request: Request, since: str | None = Query(None, max_length=40),
                     until: str | None = Query(None, max_length=40),
                     stream: list[StreamId] = Query([], max_length=100), who: Principal = Depends(auditor)
                     ) -> StreamingResponse:
        if not stream and who.district is not None:
            raise Forbidden("区县审计人员只能按记录导出 (a district auditor exports named streams)",
                            code="outside_jurisdiction", field="stream")
        store = store_of(request)
        if stream:
            for stream_id in stream:
                await stream_commits(request, who, stream_id)  # exists, and within the reader's jurisdiction
            commits = commits_of_streams(store, stream)
            target = ",".join(stream)
        else:
            head = await store.head_position()
            t0, t1 = parse_time(since, "since"), parse_time(until, "until")
            first = await last_position_at(store, t0, head) + 1 if t0 else 1
            last = await last_position_at(store, t1, head) if t1 else head
            commits, target = commits_between(store, first, last), f"{first}..{last}"
        await (await reads_of(request)).record(who, "export", target, district=who.district)
        return StreamingResponse(export_lines(commits), media_type="application/x-ndjson", headers={
            "Content-Disposition": f'attachment; filename="{config.service}-audit.jsonl"'})

    if config.machine_streams is not None:
        lookup = config.machine_streams

        @router.get("/machines/{key}/timeline", summary="This service's events of one machine")
        async def machine_timeline(key: str, request: Request, who: Principal = Depends(auditor)) -> dict[str, Any]:
            if not re.match(r"^[A-Za-z0-9\-]{4,64}$", key):
                raise ValidationFailed("机械编码或标识格式无效", code="invalid_machine_key", field="key")
            found = await lookup(request, key)
            if found is None:
                raise NotFound("没有这台机械的记录 (no such machine here)", code="machine_not_found", field="key")
            events: list[dict[str, Any]] = []
            seen: set[str] = set()
            for stream_id in found.streams:
                commits = await store_of(request).read_commits(stream_id)
                envelopes = [e for c in commits for e in c.events]
                districts = districts_of(envelopes)
                if not may_see(who, districts):
                    continue
                seen |= districts
                events.extend(event_view(e, c) for c in commits for e in c.events)
            await (await reads_of(request)).record(who, "timeline", key, district=_one(seen))
            events.sort(key=lambda e: (e["time"], e.get("position", 0)))
            return {"service": config.service, "key": key, **found.names, "streams": found.streams,
                    "events": events}

    @router.get("/reads", summary="The log of audit reads served by this service, one day at a time")
    async def audit_reads(request: Request, day: date | None = Query(None),
                          who: Principal = Depends(current_principal)) -> dict[str, Any]:
        require_log_reader(who)
        chosen = day or date.fromisoformat(day_of(utcnow()))
        return {"service": config.service, "day": chosen.isoformat(),
                "reads": await (await reads_of(request)).listed(who, chosen)}

    return router


def _one(districts: set[str]) -> str | None:
    return next(iter(districts)) if len(districts) == 1 else None


def _kind_of(config: AuditConfig, stream_id: str) -> tuple[type[Aggregate], str]:
    _check_stream_id(stream_id)
    for prefix in sorted(config.kinds, key=len, reverse=True):
        if stream_id.startswith(f"{prefix}-"):
            return config.kinds[prefix], stream_id[len(prefix) + 1:]
    raise NotFound(f"这类记录没有可折叠的状态 (known: {sorted(config.kinds)})", code="no_state_for_stream",
                   field="stream_id")


async def _stream_districts(store: Any, envelope: EventEnvelope, cache: dict[str, set[str]]) -> set[str]:
    own = districts_of([envelope])
    if own:
        return own
    if envelope.streamid not in cache:
        cache[envelope.streamid] = districts_of(await store.read_stream(envelope.streamid))
    return cache[envelope.streamid]

