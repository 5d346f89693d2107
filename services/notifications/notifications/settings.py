from typing import Literal

from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "notifications"
    # the registry opens an owner's sealed mobile when an SMS is to be sent to it (#14)
    registry_url: str = "http://127.0.0.1:8001"
    # outbox: messages are kept in the database for an administrator to read (development, tests);
    # sms / wechat: the outside providers (the named one must be configured)
    message_channel: Literal["outbox", "sms", "wechat"] = "outbox"
    # reading the outbox over HTTP hands out live SMS codes: only where this says so (make run, tests)
    outbox_readable: bool = False
    # Alibaba Cloud SMS
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    sms_access_key_id: str | None = None
    sms_access_key_secret: str | None = None
    sms_sign_name: str | None = None
    sms_template_codes: dict[str, str] = {}  # template -> approved SMS template code (default: templates.json)
    # WeChat mini-program subscription messages
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_page: str | None = "pages/notices/index"
    # delivery to outside providers: at-least-once, retried with backoff, then a dead letter
    provider_timeout_seconds: float = 5.0
    delivery_max_attempts: int = 6
    delivery_retry_seconds: float = 30.0  # the first retry; doubled each time, at most an hour
    delivery_lease_seconds: float = 60.0  # an attempt taken by a process that died is given up after this
    delivery_poll_seconds: float = 0.5
    delivery_concurrency: int = 20
    reminder_poll_seconds: float = 5.0
    # an event older than this makes an inbox notice but no SMS (a first start on a platform with history)
    notice_sms_max_age_hours: float = 72.0
    # a reminder due longer ago than this is skipped (a first start on old records), not sent
    reminder_max_lateness_days: float = 30.0
    # department event feeds (README "Department event feeds")
    feed_allow_loopback_http: bool = False  # development: webhooks to http://127.0.0.1 (loopback) are allowed
    feed_allow_private_targets: bool = False  # webhooks to private networks (10/8, 192.168/16 ...) are allowed
    feed_webhook_timeout_seconds: float = 10.0
    feed_webhook_max_attempts: int = 8
    feed_webhook_retry_seconds: float = 5.0  # the first retry; doubled each time, at most an hour
    feed_webhook_window: int = 16  # messages in flight to one subscriber at once
    feed_secret_overlap_hours: float = 24.0  # after a rotation the previous secret still signs this long
    # tests: the service's clock runs this far ahead (reminders due "later" are due now)
    clock_offset_seconds: float = 0.0

    @property
    def sms_configured(self) -> bool:
        return bool(self.sms_access_key_id and self.sms_access_key_secret and self.sms_sign_name)

    @property
    def wechat_configured(self) -> bool:
        return bool(self.wechat_appid and self.wechat_secret)
