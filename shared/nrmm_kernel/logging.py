"""structlog JSON logging, with the correlation id carried in context variables.

The HTTP middleware binds the request's correlation id; handlers put it into event metadata;
consumers bind it again from the event, so one id links a request to every log line it causes.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, get_contextvars

CORRELATION_KEY = "correlation_id"


def configure_logging(level: str = "INFO", json: bool = True, service: str | None = None) -> None:
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,  # reconfiguring (tests, CLI) must reach every logger
    )
    if service:
        bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str | None:
    return get_contextvars().get(CORRELATION_KEY)


@contextmanager
def correlation(correlation_id: str | None, **extra: Any) -> Iterator[None]:
    """Bind a correlation id (and extra keys) for the duration of a block."""
    with bound_contextvars(**{CORRELATION_KEY: correlation_id or new_correlation_id()}, **extra):
        yield
