"""Supervised background runners (the outbox relay, projectors, schedulers): an error is retried with backoff
forever, a runner that ends anyway is started again, and each runner's health is what /readyz reports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .aio import sleep_or_stop
from .envelope import utcnow
from .logging import get_logger

log = get_logger("supervisor")


@dataclass
class Health:
    """One runner as /readyz sees it. ``needs_broker``: it cannot progress while Kafka is down, which a broker
    outage explains (the service is degraded, not broken)."""

    name: str
    needs_broker: bool = True
    last_success: datetime | None = None
    last_error: str | None = None
    restarts: int = 0
    lag: int | None = None  # messages (projectors) or commits (relay) known to be waiting
    lease: str | None = None  # a leased runner (lease.py): "held" here, or "standby" while another instance runs it
    task: asyncio.Task[Any] | None = field(default=None, repr=False)
    started_at: datetime = field(default_factory=utcnow)

    def ok(self, lag: int | None = None) -> None:
        self.last_success, self.last_error = utcnow(), None
        if lag is not None:
            self.lag = lag

    def failed(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]

    def report(self, stuck_after: float, broker_down: bool) -> tuple[bool, dict[str, Any]]:
        """(healthy, what to show). Dead: its task ended. Stuck: no success for ``stuck_after`` seconds, unless a
        broker outage explains it."""
        since = self.last_success or self.started_at
        quiet = (utcnow() - since).total_seconds()
        dead = self.task is not None and self.task.done()
        stuck = quiet > stuck_after and not (broker_down and self.needs_broker)
        status = "dead" if dead else "stuck" if stuck else "ok"
        return status == "ok", {
            "status": status, "last_success": self.last_success.isoformat() if self.last_success else None,
            "seconds_since_success": round(quiet, 1), "error": self.last_error, "restarts": self.restarts,
            "lag": self.lag, **({"lease": self.lease} if self.lease else {}),
        }


async def supervise(health: Health, body: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event, *,
                    first_delay: float = 0.5, max_delay: float = 10.0) -> None:
    """Run ``body(stop)`` until ``stop`` is set: restarted (after a growing pause) whenever it raises or ends."""
    delay = first_delay
    while not stop.is_set():
        began = utcnow()
        try:
            await body(stop)
            if stop.is_set():
                return
            health.failed(RuntimeError("the runner ended"))
            log.error("runner.ended", runner=health.name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever it was, the runner is started again
            health.failed(exc)
            log.exception("runner.failed", runner=health.name)
        health.restarts += 1
        if health.last_success is not None and health.last_success > began:
            delay = first_delay  # it ran well for a while: a fresh failure starts the backoff over
        await sleep_or_stop(stop, delay)
        delay = min(delay * 2, max_delay)


class Backoff:
    """Pauses between retries inside a runner's loop: doubling up to a limit, reset by a success."""

    def __init__(self, first: float = 0.2, limit: float = 5.0):
        self.first, self.limit, self.current = first, limit, first

    async def wait(self, stop: asyncio.Event) -> None:
        await sleep_or_stop(stop, self.current)
        self.current = min(self.current * 2, self.limit)

    def reset(self) -> None:
        self.current = self.first
