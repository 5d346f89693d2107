"""HTTP API of the notifications service, under /api/notifications: messages from other services, the development
outbox."""

from __future__ import annotations

import ulid
from fastapi import APIRouter, Depends, Query, Request

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import AppError, Forbidden
from nrmm_kernel.fields import TextFilter
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Department, Role

from ..domain.messages import ChannelKind, Message

router = APIRouter(prefix="/api/notifications", tags=["notifications"])
log = get_logger("notifications.outbox")


def require_platform_admin(who: Principal) -> None:
    """The outbox and the dead letters: only the city-level ecology administrator who runs the platform."""
    if not who.city_level or who.department is not Department.ECOLOGY:
        raise Forbidden("仅市级生态环境部门管理员可操作 (city-level ecology administrator only)",
                        code="outside_jurisdiction")


@router.post("/messages", status_code=202, summary="Internal: deliver a message (services of the platform only)")
async def send(message: Message, request: Request, who: Principal = Depends(require_role(Role.SERVICE))):
    """Recorded, then tried at once; a provider that fails or hangs is recorded on the message and retried later:
    the caller gets 202 either way (``status`` says how the first attempt went)."""
    delivery = await request.app.state.deliveries.send_now(message, str(ulid.ULID()))
    return {"message_id": delivery["_id"], "status": delivery["status"], "error_code": delivery.get("error_code")}


@router.get("/outbox", summary="The city-level ecology administrator: messages kept by the development outbox channel, "
                                  "newest first")
async def outbox(request: Request, to: TextFilter = None, channel: ChannelKind | None = None,
                 template: str | None = Query(None, max_length=64, description="e.g. verification_code"),
                 limit: int = Query(20, ge=1, le=500), who: Principal = Depends(require_role(Role.ADMIN))):
    # the outbox holds live SMS codes: only the city-level ecology administrator who runs the platform reads it
    require_platform_admin(who)
    outbox_channel = request.app.state.channels.outbox
    if not request.app.state.runtime.settings.outbox_readable:
        raise AppError("开发通道消息不可查看 (NRMM_OUTBOX_READABLE is off)", code="outbox_not_readable", status=404)
    if outbox_channel is None:
        raise AppError("消息未经开发通道发送 (the outbox channel is not in use)", code="outbox_not_in_use", status=404)
    messages = await outbox_channel.read(to=to, channel=channel.value if channel else None, limit=limit,
                                         template=template)
    log.info("outbox.read", reader=who.account_id, to=to, messages=len(messages))  # who saw which codes
    return messages
