"""A message to a person: an SMS or a WeChat subscription message (the channels are in app/channels.py)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from nrmm_kernel.fields import Sentence
from nrmm_kernel.identity import mobile_problem


class ChannelKind(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: ChannelKind
    to: str = Field(min_length=1, max_length=64, description="a mobile number (sms) or an openid (wechat)")
    template: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")
    params: dict[str, Sentence | int] = Field(default={}, max_length=20)

    @field_validator("to")
    @classmethod
    def _recipient_fits_the_channel(cls, to: str, info: ValidationInfo) -> str:
        if info.data.get("channel") is ChannelKind.SMS and mobile_problem(to):
            raise PydanticCustomError("invalid_mobile", "短信接收号码无效 (not a mobile number)")
        return to
