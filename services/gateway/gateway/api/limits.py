"""Request-size limits: the forwarded APIs' (``NRMM_MAX_REQUEST_BYTES``) and the gateway's own, much smaller."""

from __future__ import annotations

from fastapi import Request
from fastapi.routing import APIRoute

from nrmm_kernel.errors import AppError

AUTH_MAX_BYTES = 64 * 1024  # a login form or an account is a few hundred bytes


class RequestTooLarge(AppError):
    status = 413
    code = "request_too_large"


def too_large(limit: int) -> RequestTooLarge:
    size = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return RequestTooLarge(f"请求超过 {size} (request too large)", details={"limit_bytes": limit})


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit``: by its declared length, or while counting
    what arrives (a chunked body declares none, and a declared length may lie)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class SmallBodyRoute(APIRoute):
    """A route whose body is read (at most ``AUTH_MAX_BYTES``) before FastAPI parses it as JSON or a form."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def limited(request: Request):
            request._body = await read_limited(request, AUTH_MAX_BYTES)  # Starlette replays a read body
            return await handler(request)

        return limited
