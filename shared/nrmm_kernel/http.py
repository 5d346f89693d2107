"""The HTTP face every service shares: error model, correlation ids, health, readiness, metrics."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from .auth import TokenVerifier
from .errors import AppError
from .guard import RequestGuard
from .logging import configure_logging, correlation, get_logger, new_correlation_id
from .metrics import HTTP_LATENCY, RELAY_BACKLOG
from .outbox import Outbox
from .positions import MIN_POSITION_HEADER, POSITION_HEADER, collect_written, parse_min_positions
from .revocation import RevocationList
from .runtime import ServiceRuntime

log = get_logger("http")
CORRELATION_HEADERS = ("x-correlation-id", "x-request-id")
# a caller's id goes into every log line and event metadata: kept only when it is short and plain
CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def error_response(status: int, code: str, message: str, field: str | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message, "field": field, **extra})


def _field_of(loc: Sequence[Any]) -> str:
    # ("body", "machine", "district") -> "machine.district"
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content=exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        return error_response(
            422, "validation_error", f"请求数据无效: {first['msg']}", _field_of(first.get("loc", ())),
            reason=first.get("type"),
            errors=[{"field": _field_of(e.get("loc", ())), "message": e.get("msg"), "type": e.get("type")}
                    for e in errors],
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
        response = error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response


def create_service_app(
    *,
    title: str,
    runtime: ServiceRuntime,
    routers: Sequence[APIRouter] = (),
    version: str = "0.1.0",
    description: str = "",
    on_start: Callable[[FastAPI], Awaitable[None]] | None = None,
) -> FastAPI:
    settings = runtime.settings
    if not settings.jwt_secret:
        raise RuntimeError("NRMM_JWT_SECRET is not set: without a signing key no token can be verified")
    configure_logging(settings.log_level, settings.log_json, service=settings.service_name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        # revoked accounts, as this service's projection of the gateway's account events knows them
        app.state.revocations = RevocationList(runtime.db)
        if on_start is not None:
            await on_start(app)  # the service wires its handlers to the started runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(
        settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    app.add_middleware(RequestGuard, max_bytes=settings.max_request_bytes)  # size and control characters
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
                           allow_methods=["*"], allow_headers=["*"],
                           # read-your-writes (X-Position), the log's id, and how long to wait when behind
                           expose_headers=[POSITION_HEADER, "X-Correlation-ID", "Retry-After"])
    install_error_handlers(app)

    @app.middleware("http")
    async def correlation_middleware(request: Request,
                                     call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = next((request.headers[h] for h in CORRELATION_HEADERS if h in request.headers), None)
        cid = incoming if incoming and CORRELATION_ID.match(incoming) else new_correlation_id()
        started = time.perf_counter()
        with correlation(cid, method=request.method, path=request.url.path):
            written = collect_written()
            try:
                response = await _read_your_writes(request) or await call_next(request)
            except Exception as exc:
                unavailable = isinstance(exc, PyMongoError | KafkaError)
                if unavailable:  # an outage, not a bug: one line, no traceback
                    log.warning("http.unavailable", error=f"{type(exc).__name__}: {exc}"[:200])
                else:
                    log.exception("http.unhandled")
                response = error_response(
                    503 if unavailable else 500,
                    "service_unavailable" if unavailable else "internal_error",
                    "服务暂时不可用，请稍后重试" if unavailable else "服务器内部错误",
                )
            elapsed = time.perf_counter() - started
            route = request.scope.get("route")
            HTTP_LATENCY.labels(request.method, getattr(route, "path", "unmatched"),
                                str(response.status_code)).observe(elapsed)
            log.info("http.request", status=response.status_code, ms=round(elapsed * 1000, 2))
        response.headers["X-Correlation-ID"] = cid
        response.headers.setdefault("X-Content-Type-Options", "nosniff")  # a response is what it says it is
        if written:
            response.headers[POSITION_HEADER] = f"{settings.service_name}:{max(written)}"
        return response

    async def _read_your_writes(request: Request) -> JSONResponse | None:
        """A request sent with X-Min-Position waits until this process's read models applied those positions (a
        query, or a command that reads a copy of another service's facts, like the gate's scan)."""
        header = request.headers.get(MIN_POSITION_HEADER)
        if not header:
            return None
        try:
            await runtime.positions.wait(parse_min_positions(header), settings.read_wait_seconds)
        except AppError as exc:
            response = JSONResponse(status_code=exc.status, content=exc.to_dict())
            if exc.status == 503:
                response.headers["Retry-After"] = "1"
            return response
        return None

    # the client's address from X-Forwarded-For only when a configured proxy sent it (NRMM_TRUSTED_PROXIES)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

    @app.get("/healthz", tags=["ops"], summary="Process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get("/readyz", tags=["ops"], summary="Database reachable and every runner alive (broker: degraded only)")
    async def readyz() -> JSONResponse:
        ready, body = await runtime.readiness()
        return JSONResponse(status_code=200 if ready else 503, content=body)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        if runtime.store is not None:
            RELAY_BACKLOG.labels(settings.topic).set(await Outbox(runtime.store).backlog())
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
