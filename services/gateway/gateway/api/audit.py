"""/api/audit: the auditors' entry point. Read-only; auditors only (the log of audit reads: the ecology bureau's
city administrator too). The gateway checks the role, then asks each service's own audit endpoint with the caller's
own token, so every service checks role and jurisdiction itself and records the read under the caller's name; no
service's database is read from here.

  /api/audit/{service}/...              one service's audit router (streams, state as of, log, verify, export)
  /api/audit/machines/{key}/timeline    a machine's whole timeline across services, by any code or record id
  /api/audit/verify                     every store verified, the first broken link of each
  /api/audit/reads?day=YYYY-MM-DD       the log of audit reads of every service, one day
  /api/audit/accounts/...               the gateway's own store (accounts' streams)
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from nrmm_kernel.audit_api import AuditConfig, audit_router
from nrmm_kernel.audit_reads import require_log_reader
from nrmm_kernel.auth import Principal, current_principal, require_role
from nrmm_kernel.errors import AppError, NotFound
from nrmm_kernel.internal import ServiceCaller
from nrmm_kernel.logging import current_correlation_id
from nrmm_kernel.reference import Role

from ..domain.account_stream import AccountStream
from .proxy import UpstreamTimeout, UpstreamUnavailable

router = APIRouter(prefix="/api/audit", tags=["audit"])
AUDITED = ("registry", "sites", "inspection")  # the services with an event store of their own
auditor = require_role(Role.AUDITOR)

# The gateway's own store: account streams (issue #22), read, folded, verified and exported like any service's.
accounts = audit_router(AuditConfig("gateway", kinds={"account": AccountStream}), prefix="/api/audit/accounts")


def _caller(request: Request, service: str) -> ServiceCaller:
    settings = request.app.state.runtime.settings
    return ServiceCaller(getattr(settings, f"{service}_url"), request.app.state.token_verifier, "gateway")


async def _ask(request: Request, service: str, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
    try:
        return await _caller(request, service).get_as(f"/api/{service}/audit{path}", params or {},
                                                      request.headers.get("authorization", ""),
                                                      current_correlation_id())
    except httpx.TimeoutException:
        raise UpstreamTimeout(f"{service} 服务响应超时，请稍后重试") from None
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"{service} 服务暂时不可用，请稍后重试 ({type(exc).__name__})") from None


def _passed_on(response: httpx.Response) -> dict[str, Any]:
    """A service's answer, its refusal (4xx) passed on as it is: the service's code and field."""
    body: dict[str, Any] = response.json()
    if response.status_code >= 400:
        raise AppError(body.get("message", "refused"), code=body.get("code"), field=body.get("field"),
                       status=response.status_code)
    return body


@router.get("/machines/{key}/timeline", summary="A machine's timeline across every service")
async def machine_timeline(key: str, request: Request, who: Principal = Depends(auditor)) -> dict[str, Any]:
    registry = await _ask(request, "registry", f"/machines/{key}/timeline")
    keys, parts, found = {key}, {}, {}
    if registry.status_code != 404:
        found["registry"] = _passed_on(registry)
        keys = set(found["registry"].get("machine_keys") or [key])
    for service in ("sites", "inspection"):
        answers = await asyncio.gather(*(_ask(request, service, f"/machines/{k}/timeline") for k in sorted(keys)))
        for answer in answers:
            if answer.status_code == 404:
                continue
            body = _passed_on(answer)
            part = parts.setdefault(service, {"streams": [], "events": []})
            part["streams"] += body["streams"]
            part["events"] += body["events"]
    found.update(parts)
    if not found:
        raise NotFound("没有这台机械的记录 (no service knows this machine)", code="machine_not_found", field="key")
    events = [{"service": service, **event} for service, part in found.items() for event in part["events"]]
    events.sort(key=lambda e: e["time"])
    registry_part = found.get("registry", {})
    return {"key": key, "machine_id": registry_part.get("machine_id"), "codes": registry_part.get("codes", []),
            "streams": {service: part["streams"] for service, part in found.items()}, "events": events}


@router.get("/verify", summary="Every store verified")
async def verify_all(request: Request, who: Principal = Depends(auditor)) -> dict[str, Any]:
    answers = await asyncio.gather(*(_ask(request, s, "/verify") for s in AUDITED))
    reports = {service: _passed_on(answer) for service, answer in zip(AUDITED, answers, strict=True)}
    return {"ok": all(r["ok"] for r in reports.values()), "services": reports}


@router.get("/reads", summary="The log of audit reads of every service, one day")
async def audit_reads(request: Request, day: str | None = Query(None, max_length=10),
                      who: Principal = Depends(current_principal)) -> dict[str, Any]:
    require_log_reader(who)
    params = {"day": day} if day else {}
    answers = await asyncio.gather(*(_ask(request, s, "/reads", params) for s in AUDITED))
    reads = [read for answer in answers for read in _passed_on(answer)["reads"]]
    reads.sort(key=lambda r: str(r["at"]))
    return {"day": _passed_on(answers[0])["day"], "reads": reads}


@router.get("/{service}/{path:path}", summary="One service's audit router (streams, state, log, verify, export)")
async def one_service(service: str, path: str, request: Request,
                      who: Principal = Depends(auditor)) -> StreamingResponse:
    if service not in AUDITED:
        raise NotFound(f"没有这个服务的审计接口 (audited: {', '.join(AUDITED)}, accounts)", code="unknown_service",
                       field="service")
    if any(segment in (".", "..", "") for segment in path.split("/")):
        raise AppError("路径无效 (dot segments)", code="invalid_path", field="path", status=400)
    settings = request.app.state.runtime.settings
    client: httpx.AsyncClient = request.app.state.upstream
    upstream = httpx.URL(f"{getattr(settings, f'{service}_url').rstrip('/')}/api/{service}/audit/{path}",
                         query=request.scope.get("query_string", b""))
    headers = {"authorization": request.headers.get("authorization", ""),
               "x-correlation-id": current_correlation_id() or ""}
    try:
        response = await client.send(client.build_request("GET", upstream, headers=headers), stream=True)
    except httpx.TimeoutException:
        raise UpstreamTimeout(f"{service} 服务响应超时，请稍后重试") from None
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"{service} 服务暂时不可用，请稍后重试 ({type(exc).__name__})") from None
    passed = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "content-disposition")}
    return StreamingResponse(response.aiter_raw(), status_code=response.status_code, headers=passed,
                             background=BackgroundTask(response.aclose))
