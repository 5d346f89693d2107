"""Site-admin accounts are made by the gateway, which also checks the SMS verification code (rule E1)."""

from __future__ import annotations

import httpx

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.errors import AppError
from nrmm_kernel.internal import ServiceCaller

SERVICE_ACCOUNT = "svc-sites"


class AccountsUnavailable(AppError):
    status = 503
    code = "accounts_unavailable"


class GatewayAccounts:
    def __init__(self, base_url: str, verifier: TokenVerifier):
        self.caller = ServiceCaller(base_url, verifier, SERVICE_ACCOUNT)

    async def create_site_admin(self, *, site_code: str, district: str, name: str, mobile: str, password: str,
                                sms_code: str) -> str:
        """The new account's id. The gateway's own 4xx (bad SMS code, weak password, taken) pass through."""
        body = {"username": site_code, "mobile": mobile, "name": name, "password": password, "sms_code": sms_code,
                "site_id": site_code, "district": district}
        try:
            response = await self.caller.post("/api/auth/site-admins", body)
        except httpx.HTTPError as exc:
            raise AccountsUnavailable(f"账户服务不可用，请稍后再试 ({type(exc).__name__})") from None
        if response.status_code in (200, 201):
            return response.json()["account_id"]
        try:
            error = response.json()
        except ValueError:
            error = {}
        if 400 <= response.status_code < 500 and error.get("code"):
            field = error.get("field")
            raise AppError(error.get("message", "账户创建失败"), code=error["code"], status=response.status_code,
                           field=f"admin.{field}" if field else None)
        raise AccountsUnavailable(f"账户服务不可用 (status {response.status_code})")
