"""The single entry point: /api/<service>[/...] forwarded to the service, with a size limit and the request id
carried as the correlation id. The services check tokens, roles and jurisdiction themselves. A service's URL
setting may list several instances (comma-separated): round-robin, and the next one when one refuses the
connection (nothing was sent; nrmm_kernel/upstreams.py).

The request body is read (and counted) before anything is sent upstream, so a request over the limit reaches
no service at all; at 12 MB that costs little memory. The response is streamed back as it arrives (plates,
cards and exports can be large)."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from nrmm_kernel.errors import AppError, NotFound
from nrmm_kernel.logging import current_correlation_id, get_logger, new_correlation_id
from nrmm_kernel.upstreams import Upstreams

from .limits import read_limited

router = APIRouter(tags=["proxy"])
log = get_logger("proxy")
SERVICES = ("registry", "sites", "inspection", "notifications")
# RFC 9110 §7.6.1 connection-specific fields, plus what the client recomputes (host, length of the body)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "transfer-encoding", "upgrade"})
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class UpstreamUnavailable(AppError):
    status = 503
    code = "upstream_unavailable"


class UpstreamTimeout(AppError):
    status = 504
    code = "upstream_timeout"


def _forwardable(headers, *extra_drop: str) -> dict[str, str]:
    """Headers without the hop-by-hop ones, including those the Connection header names."""
    named = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    drop = HOP_BY_HOP | named | set(extra_drop)
    return {k: v for k, v in headers.items() if k.lower() not in drop}


async def forward(request: Request, service: str):
    if service not in SERVICES:
        raise NotFound("没有这个接口 (no such API)", field="path")
    settings = request.app.state.runtime.settings
    body = await read_limited(request, settings.max_request_bytes)
    headers = _forwardable(request.headers, "host", "content-length", "x-correlation-id", "x-request-id",
                           "x-forwarded-for")
    # the request id becomes the correlation id of every log line and event the request causes downstream
    headers["x-correlation-id"] = current_correlation_id() or new_correlation_id()
    if request.client:
        headers["x-forwarded-for"] = request.client.host
    headers["x-forwarded-proto"] = request.url.scheme
    client: httpx.AsyncClient = request.app.state.upstream
    raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    # "." and ".." segments (encoded or not) would be resolved on the way and reach outside /api/<service>:
    # /api/sites/../../metrics is the sites service's /metrics
    if any(segment in (".", "..") for segment in unquote(raw_path).split("/")):
        raise AppError("路径无效 (dot segments)", code="invalid_path", field="path", status=400)
    upstreams = _upstreams(request, service)

    async def send(base: str) -> httpx.Response:
        upstream = httpx.URL(base + raw_path, query=request.scope.get("query_string", b""))
        outgoing = client.build_request(request.method, upstream, headers=headers, content=body)
        return await client.send(outgoing, stream=True)

    try:
        response = await upstreams.call(send, safe=request.method in ("GET", "HEAD"))
    except httpx.TimeoutException as exc:
        log.warning("upstream.timeout", service=service, error=type(exc).__name__)
        raise UpstreamTimeout(f"{service} 服务响应超时，请稍后重试") from None
    except httpx.HTTPError as exc:
        log.warning("upstream.unavailable", service=service, error=type(exc).__name__)
        raise UpstreamUnavailable(f"{service} 服务暂时不可用，请稍后重试 ({type(exc).__name__})") from None
    # raw bytes pass through as they are (compressed stays compressed), so the length stays right too;
    # the correlation id is set on the way out by the gateway's own middleware (the same value)
    passed = _forwardable(response.headers, "x-correlation-id")
    return StreamingResponse(response.aiter_raw(), status_code=response.status_code, headers=passed,
                             background=BackgroundTask(response.aclose))


def _upstreams(request: Request, service: str) -> Upstreams:
    """The service's instances, from its URL setting, kept on the app (the round-robin's turn lives there)."""
    cache: dict[str, Upstreams] = request.app.state.__dict__.setdefault("_upstreams", {})
    if service not in cache:
        cache[service] = Upstreams(getattr(request.app.state.runtime.settings, f"{service}_url"))
    return cache[service]


@router.api_route("/api/{service}", methods=METHODS, include_in_schema=False)
async def forward_root(service: str, request: Request):
    return await forward(request, service)


@router.api_route("/api/{service}/{path:path}", methods=METHODS, include_in_schema=False)
async def forward_path(service: str, path: str, request: Request):
    return await forward(request, service)
