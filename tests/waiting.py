"""Waiting on a condition, never on the clock: the one place tests poll.

``wait_until`` asks ``condition`` again and again until it returns something truthy (which it returns) or the
deadline passes (an AssertionError naming what was awaited and the last answer). It is a bounded poll on a condition
with a deadline, for what a test cannot be told of directly: a read model fed through Kafka, a subprocess becoming
ready, a fake provider seeing a request. Inside one process, wait on an event or a future instead. Timings belong in
bench/, not here.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.05


def wait_until(condition: Callable[[], T], *, timeout: float = 30.0, what: str = "the condition",
               describe: Callable[[T | None], str] = repr) -> T:
    deadline, answer = time.monotonic() + timeout, None
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s; last: {describe(answer)}"[:1000])
        time.sleep(POLL_SECONDS)  # the poll's interval, not a synchronisation: the condition decides


async def async_wait_until(condition: Callable[[], Awaitable[T] | T], *, timeout: float = 30.0,
                           what: str = "the condition", describe: Callable[[Any], str] = repr) -> T:
    deadline, answer = time.monotonic() + timeout, None
    while True:
        answer = condition()
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            return answer  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s; last: {describe(answer)}"[:1000])
        await asyncio.sleep(POLL_SECONDS)  # the poll's interval, not a synchronisation: the condition decides
