"""Calls from one service to another's internal endpoint, with a one-minute token of role ``service``.

Services talk through events; these few calls are where a user waits for another service's answer
(an SMS to send, an account to make)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from .auth import Principal, TokenVerifier
from .errors import AppError
from .reference import Role
from .upstreams import Upstreams


class AccountsUnavailable(AppError):
    """The gateway, which keeps accounts, did not answer: the request cannot be completed now."""

    status = 503
    code = "accounts_unavailable"


class ServiceCaller:
    def __init__(self, base_url: str, verifier: TokenVerifier, account_id: str, timeout: float = 10.0):
        self.upstreams = Upstreams(base_url)  # one URL, or several instances comma-separated (upstreams.py)
        self.base_url = self.upstreams.urls[0]
        self.verifier = verifier
        self.account_id = account_id
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        token = self.verifier.mint(Principal(account_id=self.account_id, role=Role.SERVICE), ttl=timedelta(minutes=1))
        return {"Authorization": f"Bearer {token}"}

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """Raises httpx.HTTPError when the other service does not answer."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await self.upstreams.call(
                lambda base: client.post(f"{base}{path}", json=body, headers=self._headers()))

    async def get_as(self, path: str, params: dict[str, Any], authorization: str,
                     correlation_id: str | None = None) -> httpx.Response:
        """A read on behalf of the caller (their own bearer token): the other service checks the caller's role and
        jurisdiction itself, and records the read under the caller's name (the gateway's audit timeline)."""
        headers = {"Authorization": authorization}
        if correlation_id:
            headers["X-Correlation-Id"] = correlation_id
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await client.get(f"{self.base_url}{path}", params=params, headers=headers)

    async def get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        """Raises httpx.HTTPError when the other service does not answer."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await self.upstreams.call(
                lambda base: client.get(f"{base}{path}", params=params, headers=self._headers()), safe=True)
