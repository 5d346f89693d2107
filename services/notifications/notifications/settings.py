from typing import Literal

from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "notifications"
    # outbox: messages are kept in the database for an administrator to read (development, tests);
    # sms / wechat: a provider must be configured, which later issues add
    message_channel: Literal["outbox", "sms", "wechat"] = "outbox"
