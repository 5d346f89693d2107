"""The single entry point: /api/<service>/... forwarded to the service, with a size limit and the request id
carried as the correlation id. The services check tokens, roles and jurisdiction themselves."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from nrmm_kernel.errors import AppError, NotFound
from nrmm_kernel.logging import current_correlation_id

router = APIRouter(tags=["proxy"])
SERVICES = ("registry", "sites", "inspection", "notifications")
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "host", "content-length"})
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class RequestTooLarge(AppError):
    status = 413
    code = "request_too_large"


class UpstreamUnavailable(AppError):
    status = 503
    code = "upstream_unavailable"


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"请求超过 {limit // (1024 * 1024)} MB (request too large)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"请求超过 {limit // (1024 * 1024)} MB (request too large)")
        chunks.append(chunk)
    return b"".join(chunks)


@router.api_route("/api/{service}/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(service: str, path: str, request: Request):
    if service not in SERVICES:
        raise NotFound("没有这个接口 (no such API)", field="path")
    settings = request.app.state.runtime.settings
    body = await read_limited(request, settings.max_request_bytes)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    headers["x-correlation-id"] = current_correlation_id() or headers.get("x-request-id", "")
    headers["x-forwarded-for"] = request.client.host if request.client else ""
    client: httpx.AsyncClient = request.app.state.upstream
    upstream = httpx.URL(getattr(settings, f"{service}_url")).join(f"/api/{service}/{path}")
    outgoing = client.build_request(request.method, upstream, params=request.query_params.multi_items(),
                                    headers=headers, content=body)
    try:
        response = await client.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(f"{service} 服务暂时不可用，请稍后重试 ({type(exc).__name__})") from None
    passed = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP | {"x-correlation-id"}}
    return StreamingResponse(response.aiter_raw(), status_code=response.status_code, headers=passed,
                             background=BackgroundTask(response.aclose))
