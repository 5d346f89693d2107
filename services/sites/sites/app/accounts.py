"""Accounts bound to a site are made by the gateway: a site's admin at registration (the gateway checks the SMS
verification code, rule E1), its supervision engineers when an administrator who governs the site asks (rule E6).

Between the gateway and this service calls go one way only, from here: the gateway never asks this service."""

from __future__ import annotations

from typing import Any

import httpx

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.errors import AppError
from nrmm_kernel.internal import AccountsUnavailable, ServiceCaller

SERVICE_ACCOUNT = "svc-sites"


class GatewayAccounts:
    def __init__(self, base_url: str, verifier: TokenVerifier):
        self.caller = ServiceCaller(base_url, verifier, SERVICE_ACCOUNT)

    async def create_site_admin(self, *, site_code: str, district: str, name: str, mobile: str, password: str,
                                sms_code: str) -> str:
        """The new account's id. The gateway's own 4xx (bad SMS code, weak password, taken) pass through."""
        body = {"username": site_code, "mobile": mobile, "name": name, "password": password, "sms_code": sms_code,
                "site_id": site_code, "district": district}
        return (await self._create("/api/auth/site-admins", body, field_prefix="admin."))["account_id"]

    async def create_supervision_engineer(self, *, site_code: str, district: str, username: str, password: str,
                                          name: str | None, created_by: str) -> dict[str, Any]:
        """A supervision engineer bound to the site (rule E6), once this service has judged that the administrator
        asking governs it; the account as the gateway shows it."""
        body = {"username": username, "password": password, "name": name, "site_id": site_code,
                "district": district, "created_by": created_by}
        return await self._create("/api/auth/supervision-engineers", body, field_prefix="")

    async def _create(self, path: str, body: dict[str, Any], *, field_prefix: str) -> dict[str, Any]:
        try:
            response = await self.caller.post(path, body)
        except httpx.HTTPError as exc:
            raise AccountsUnavailable(f"账户服务不可用，请稍后再试 ({type(exc).__name__})") from None
        if response.status_code in (200, 201):
            answer: dict[str, Any] = response.json()
            return answer
        try:
            error = response.json()
        except ValueError:
            error = {}
        if 400 <= response.status_code < 500 and error.get("code"):
            field = error.get("field")
            raise AppError(error.get("message", "账户创建失败"), code=error["code"], status=response.status_code,
                           field=f"{field_prefix}{field}" if field else None)
        raise AccountsUnavailable(f"账户服务不可用 (status {response.status_code})")
