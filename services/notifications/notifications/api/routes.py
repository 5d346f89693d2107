"""HTTP API of the notifications service, under /api/notifications."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import AppError, Forbidden
from nrmm_kernel.fields import TextFilter
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Department, Role

from ..app.channels import OutboxChannel
from ..domain.messages import ChannelKind, Message

router = APIRouter(prefix="/api/notifications", tags=["notifications"])
log = get_logger("notifications.outbox")


@router.post("/messages", status_code=202, summary="Internal: deliver a message (services of the platform only)")
async def send(message: Message, request: Request, who: Principal = Depends(require_role(Role.SERVICE))):
    message_id = await request.app.state.message_channel.send(message)
    return {"message_id": message_id}


@router.get("/outbox", summary="The city-level ecology administrator: messages kept by the development outbox channel, "
                                  "newest first")
async def outbox(request: Request, to: TextFilter = None, channel: ChannelKind | None = None,
                 limit: int = Query(20, ge=1, le=500), who: Principal = Depends(require_role(Role.ADMIN))):
    # the outbox holds live SMS codes: only the city-level ecology administrator who runs the platform reads it
    if not who.city_level or who.department is not Department.ECOLOGY:
        raise Forbidden("仅市级生态环境部门管理员可查看开发通道消息", code="outside_jurisdiction")
    channel_impl = request.app.state.message_channel
    if not request.app.state.runtime.settings.outbox_readable:
        raise AppError("开发通道消息不可查看 (NRMM_OUTBOX_READABLE is off)", code="outbox_not_readable", status=404)
    if not isinstance(channel_impl, OutboxChannel):
        raise AppError("消息未经开发通道发送 (the outbox channel is not in use)", code="outbox_not_in_use", status=404)
    messages = await channel_impl.read(to=to, channel=channel.value if channel else None, limit=limit)
    log.info("outbox.read", reader=who.account_id, to=to, messages=len(messages))  # who saw which codes
    return messages
