"""SMS delivery through the notifications service (which owns every message channel)."""

from __future__ import annotations

import httpx

from nrmm_kernel.auth import TokenVerifier
from nrmm_kernel.errors import AppError
from nrmm_kernel.internal import ServiceCaller


class DeliveryUnavailable(AppError):
    """The message was certainly not delivered (no connection, or refused)."""

    status = 503
    code = "delivery_unavailable"


class DeliveryUncertain(AppError):
    """No answer in time, or the service failed while answering: the message may have gone out."""

    status = 503
    code = "delivery_uncertain"


class NotificationsClient:
    def __init__(self, base_url: str, verifier: TokenVerifier):
        self.caller = ServiceCaller(base_url, verifier, "svc-gateway")

    async def send_sms(self, mobile: str, template: str, params: dict) -> str:
        body = {"channel": "sms", "to": mobile, "template": template, "params": params}
        try:
            response = await self.caller.post("/api/notifications/messages", body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # the request never reached the service
            raise DeliveryUnavailable(f"短信发送失败，请稍后重试 ({type(exc).__name__})", field="mobile") from None
        except httpx.HTTPError as exc:
            raise DeliveryUncertain(f"短信可能未送达，请稍候查看或稍后重试 ({type(exc).__name__})",
                                    field="mobile") from None
        if response.status_code == 202:
            return response.json()["message_id"]
        if 400 <= response.status_code < 500:
            raise DeliveryUnavailable(f"短信发送失败，请稍后重试 (status {response.status_code})", field="mobile")
        raise DeliveryUncertain(f"短信可能未送达，请稍候查看或稍后重试 (status {response.status_code})",
                                field="mobile")
