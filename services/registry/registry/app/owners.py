"""The new owner of a machine is named by the mobile of their owner account; the gateway, which keeps accounts,
says whose it is (rule C6). Staff and unknown accounts are no owners."""

from __future__ import annotations

import httpx

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.errors import ValidationFailed
from nrmm_kernel.internal import AccountsUnavailable, ServiceCaller

SERVICE_ACCOUNT = "svc-registry"


class OwnerDirectory:
    def __init__(self, base_url: str, verifier: TokenVerifier):
        self.caller = ServiceCaller(base_url, verifier, SERVICE_ACCOUNT)

    async def owner_account(self, mobile: str) -> str:
        """The owner account id registered with ``mobile``; 422 ``new_owner_not_found`` when there is none."""
        try:
            response = await self.caller.post("/api/auth/owner-lookup", {"mobile": mobile})
        except httpx.HTTPError as exc:
            raise AccountsUnavailable(f"账户服务不可用，请稍后再试 ({type(exc).__name__})") from None
        if response.status_code == 200 and response.json().get("role") == "owner":
            return response.json()["account_id"]
        if response.status_code in (404, 422):
            raise ValidationFailed("该手机号没有注册车主账户，请新所有者先注册 (no owner account with this mobile)",
                                   code="new_owner_not_found", field="new_owner_mobile")
        raise AccountsUnavailable(f"账户服务不可用 (status {response.status_code})")
