"""Outside providers, through their official SDKs: Alibaba Cloud SMS (``alibabacloud-dysmsapi20170525``) and WeChat
mini-program subscription messages (``wechatpy``, its access token cached). Endpoints are settings, so tests run the
SDKs' own requests against a local server."""

from __future__ import annotations

import asyncio
import json

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client as SmsClient
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatWxa
from wechatpy.exceptions import WeChatClientException

from ..domain.messages import Message
from ..domain.templates import UnknownTemplate, template
from .channels import DeliveryFailed

# Alibaba Cloud answers these for a message that will never go (bad number, template, signature): no retry
SMS_PERMANENT = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.SMS_TEMPLATE_ILLEGAL",
                 "isv.SMS_SIGNATURE_ILLEGAL", "isv.INVALID_PARAMETERS", "isv.PARAM_LENGTH_LIMIT"}
# WeChat: the user did not subscribe (43101), bad template (40037), bad openid (40003), bad data (47003)
WECHAT_PERMANENT = {43101, 40037, 40003, 47003}


class AliyunSms:
    def __init__(self, settings):
        endpoint, protocol = settings.sms_endpoint, "https"
        if "://" in endpoint:
            protocol, endpoint = endpoint.split("://", 1)
        self._client = SmsClient(Config(access_key_id=settings.sms_access_key_id,
                                        access_key_secret=settings.sms_access_key_secret,
                                        endpoint=endpoint.rstrip("/"), protocol=protocol))
        self._sign_name = settings.sms_sign_name
        self._codes = settings.sms_template_codes
        timeout_ms = int(settings.provider_timeout_seconds * 1000)
        self._runtime = RuntimeOptions(read_timeout=timeout_ms, connect_timeout=timeout_ms, autoretry=False)

    def _template_code(self, name: str) -> str:
        if name in self._codes:
            return self._codes[name]
        try:
            return template(name).sms_template_code
        except UnknownTemplate:
            raise DeliveryFailed("unknown_template", f"no SMS template code for {name}", permanent=True) from None

    async def send(self, message: Message, dedup_key: str) -> str:
        request = sms_models.SendSmsRequest(
            phone_numbers=message.to, sign_name=self._sign_name, template_code=self._template_code(message.template),
            template_param=json.dumps({k: str(v) for k, v in message.params.items()}, ensure_ascii=False),
            out_id=dedup_key)  # the provider's receipts carry it back: the deduplication key
        response = await self._client.send_sms_with_options_async(request, self._runtime)
        body = response.body
        if body.code != "OK":
            raise DeliveryFailed(body.code or "unknown", body.message or "", permanent=body.code in SMS_PERMANENT)
        return body.biz_id or body.request_id or dedup_key


class WeChatSubscriptions:
    """Mini-program subscription messages; the access token is fetched once and cached until it expires."""

    def __init__(self, settings, db=None):
        base = settings.wechat_api_base.rstrip("/")

        class Client(WeChatClient):
            API_BASE_URL = f"{base}/cgi-bin/"

            def fetch_access_token(self):
                return self._fetch_access_token(url=f"{base}/cgi-bin/token", params={
                    "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})

        self._client = Client(settings.wechat_appid, settings.wechat_secret, timeout=settings.provider_timeout_seconds,
                              auto_retry=False)
        self._wxa = WeChatWxa(self._client)
        self._wxa.API_BASE_URL = f"{base}/"
        self._page = settings.wechat_page
        self._lock = asyncio.Lock()  # one token fetch at a time

    async def send(self, message: Message, dedup_key: str) -> str:
        try:
            tpl = template(message.template)
        except UnknownTemplate:
            raise DeliveryFailed("unknown_template", f"no subscription template for {message.template}",
                                 permanent=True) from None
        async with self._lock:
            try:
                await asyncio.to_thread(lambda: self._client.access_token)
            except WeChatClientException as exc:
                raise DeliveryFailed(f"wechat_{exc.errcode}", str(exc.errmsg)) from None
        try:
            answer = await asyncio.to_thread(self._wxa.send_subscribe_message, message.to, tpl.wechat_template_id,
                                             tpl.wechat_data(dict(message.params)), self._page)
        except WeChatClientException as exc:
            raise DeliveryFailed(f"wechat_{exc.errcode}", str(exc.errmsg),
                                 permanent=exc.errcode in WECHAT_PERMANENT) from None
        return str(answer.get("msgid", dedup_key)) if isinstance(answer, dict) else dedup_key
