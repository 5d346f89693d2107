"""The in-app inbox of every account: its own notices only, newest first; unread count; mark read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from pymongo import DESCENDING

from nrmm_kernel import keyset
from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import NotFound
from nrmm_kernel.keyset import After, set_next_cursor
from nrmm_kernel.reference import Role

router = APIRouter(prefix="/api/notifications/inbox", tags=["inbox"])
# every account reads its own inbox; services of the platform have none
anyone = require_role(*(r for r in Role if r not in (Role.SERVICE, Role.SYSTEM_CLIENT)))  # people's inboxes
FIELDS = ("template", "title", "text", "params", "created_at", "read", "read_at")


def _view(doc: dict) -> dict:
    return {"notice_id": doc["_id"], **{k: doc.get(k) for k in FIELDS}}


@router.get("", summary="The caller's notices, newest first, paged by a cursor (next_cursor, then ?after=)")
async def inbox(request: Request, response: Response, unread: bool = False,
                offset: int = Query(0, ge=0, le=100_000), limit: int = Query(20, ge=1, le=100), after: After = None,
                who: Principal = Depends(anyone)):
    coll = request.app.state.notices.coll
    query = {"account_id": who.account_id, **({"read": False} if unread else {})}
    docs, cursor = await keyset.page(coll, query, [("created_at", DESCENDING)], limit, after, offset)
    set_next_cursor(response, cursor)
    total = await coll.count_documents(query)
    return {"items": [_view(d) for d in docs], "total": total, "offset": offset, "limit": limit,
            "next_cursor": cursor}


@router.get("/unread-count", summary="How many of the caller's notices are unread")
async def unread_count(request: Request, who: Principal = Depends(anyone)):
    coll = request.app.state.notices.coll
    return {"unread": await coll.count_documents({"account_id": who.account_id, "read": False})}


@router.post("/{notice_id}/read", summary="Mark one of the caller's notices read")
async def mark_read(notice_id: str, request: Request, who: Principal = Depends(anyone)):
    notices = request.app.state.notices
    # another account's notice is as unknown as a notice that does not exist (deny by default, nothing revealed)
    doc = await notices.coll.find_one({"_id": notice_id[:300], "account_id": who.account_id})
    if doc is None:
        raise NotFound("通知不存在 (no such notice)", code="notice_not_found", field="notice_id")
    if not doc["read"]:
        await notices.coll.update_one({"_id": doc["_id"]}, {"$set": {"read": True, "read_at": notices.now()}})
    return _view(await notices.coll.find_one({"_id": doc["_id"]}))


@router.post("/read-all", summary="Mark every notice of the caller read")
async def mark_all_read(request: Request, who: Principal = Depends(anyone)):
    notices = request.app.state.notices
    result = await notices.coll.update_many({"account_id": who.account_id, "read": False},
                                            {"$set": {"read": True, "read_at": notices.now()}})
    return {"marked": result.modified_count}
