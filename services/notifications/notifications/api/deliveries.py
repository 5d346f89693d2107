"""Administrators: delivery statuses, dead letters, and sending a dead letter again."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pymongo import DESCENDING

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import NotFound
from nrmm_kernel.logging import get_logger
from nrmm_kernel.reference import Role

from .routes import require_platform_admin

router = APIRouter(prefix="/api/notifications/deliveries", tags=["deliveries"])
log = get_logger("notifications.deliveries")
HIDDEN = ("params",)  # a delivery's parameters may hold a live SMS code


def _view(doc: dict) -> dict:
    return {"delivery_id": doc["_id"], **{k: v for k, v in doc.items() if k != "_id" and k not in HIDDEN}}


@router.get("", summary="Deliveries to outside channels by status (dead letters: status=dead), newest first")
async def deliveries(request: Request, status: Literal["pending", "sent", "dead"] | None = None,
                     limit: int = Query(50, ge=1, le=500), who: Principal = Depends(require_role(Role.ADMIN))):
    require_platform_admin(who)
    coll = request.app.state.deliveries.coll
    docs = await coll.find({"status": status} if status else {}).sort("created_at", DESCENDING).limit(limit).to_list(
        limit)
    return [_view(d) for d in docs]


@router.get("/{delivery_id}", summary="One delivery, with its attempts")
async def delivery(delivery_id: str, request: Request, who: Principal = Depends(require_role(Role.ADMIN))):
    require_platform_admin(who)
    doc = await request.app.state.deliveries.coll.find_one({"_id": delivery_id[:400]})
    if doc is None:
        raise NotFound("消息不存在 (no such delivery)", code="delivery_not_found", field="delivery_id")
    return _view(doc)


@router.post("/{delivery_id}/redelivery", status_code=202, summary="Send a dead letter (or a pending message) again")
async def redeliver(delivery_id: str, request: Request, who: Principal = Depends(require_role(Role.ADMIN))):
    require_platform_admin(who)
    doc = await request.app.state.deliveries.redeliver(delivery_id[:400])
    if doc is None:
        raise NotFound("消息不存在 (no such delivery)", code="delivery_not_found", field="delivery_id")
    log.info("delivery.redelivery", delivery=delivery_id, by=who.account_id, status=doc["status"])
    return _view(doc)
