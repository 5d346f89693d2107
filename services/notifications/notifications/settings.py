from typing import Literal

from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "notifications"
    # outbox: messages are kept in the database for an administrator to read (development, tests);
    # sms / wechat: a provider must be configured, which later issues add
    message_channel: Literal["outbox", "sms", "wechat"] = "outbox"
    # reading the outbox over HTTP hands out live SMS codes: only where this says so (make run, tests)
    outbox_readable: bool = False
