"""A message to a person (SMS or WeChat subscription message), and the channel that delivers it."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class ChannelKind(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: ChannelKind
    to: str = Field(min_length=1, max_length=64, description="a mobile number (sms) or an openid (wechat)")
    template: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")
    params: dict[str, str | int] = Field(default={}, max_length=20)


class MessageChannel(Protocol):
    """Delivers a message; returns the delivery id. Raises on failure so the caller can tell its user."""

    async def send(self, message: Message) -> str: ...
