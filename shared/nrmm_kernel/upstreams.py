"""Several instances of a service behind one setting: ``NRMM_<SERVICE>_URL`` may list them, comma-separated.

Requests go round-robin over the list; a request that could not even connect to one instance (refused, nothing
sent) goes to the next, so a dead instance costs a retry, never an error while another answers. A read (GET, HEAD)
whose connection broke before an answer (a kept-alive connection to an instance that died) goes to the next one
too; a write that may have been sent is never sent again (it might have been taken): its caller sees the error."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

T = TypeVar("T")
# the request never left: safe to send to another instance
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
# the connection broke before an answer: safe to send again only what changes nothing
BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class Upstreams:
    def __init__(self, urls: str):
        self.urls = [u.strip().rstrip("/") for u in urls.split(",") if u.strip()]
        if not self.urls:
            raise ValueError("no upstream URL")
        self._next = itertools.cycle(range(len(self.urls)))

    def order(self) -> list[str]:
        """Every instance, starting with the next in turn."""
        first = next(self._next)
        return self.urls[first:] + self.urls[:first]

    async def call(self, send: Callable[[str], Awaitable[T]], *, safe: bool = False) -> T:
        """``send(base_url)`` on the next instance, and on the following ones while it cannot connect (``safe``:
        a read, also while the connection breaks before an answer)."""
        retried = (*NOT_SENT, *BROKEN) if safe else NOT_SENT
        order = self.order()
        for base in order[:-1]:
            try:
                return await send(base)
            except retried:
                continue
        return await send(order[-1])
