"""SMS delivery through the notifications service (which owns every message channel)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from nrmm_kernel.auth import Principal, TokenVerifier
from nrmm_kernel.errors import AppError
from nrmm_kernel.reference import Role

SERVICE_ACCOUNT = "svc-gateway"


class DeliveryUnavailable(AppError):
    status = 503
    code = "delivery_unavailable"


class NotificationsClient:
    def __init__(self, base_url: str, verifier: TokenVerifier, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.verifier = verifier
        self.timeout = timeout

    async def send_sms(self, mobile: str, template: str, params: dict) -> str:
        token = self.verifier.mint(Principal(account_id=SERVICE_ACCOUNT, role=Role.SERVICE), ttl=timedelta(minutes=1))
        body = {"channel": "sms", "to": mobile, "template": template, "params": params}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(f"{self.base_url}/api/notifications/messages", json=body,
                                             headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise DeliveryUnavailable(f"短信发送失败，请稍后重试 ({type(exc).__name__})", field="mobile") from None
        if response.status_code != 202:
            raise DeliveryUnavailable(f"短信发送失败，请稍后重试 (status {response.status_code})", field="mobile")
        return response.json()["message_id"]
