"""Department event feeds over HTTP (README "Department event feeds"): subscriptions, the pull feed, Server-Sent
Events, webhook dead letters and redelivery, and the AsyncAPI document."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import Forbidden, NotFound, ValidationFailed
from nrmm_kernel.reference import Role

from ..app.subscriptions import READERS, SubscriptionRequest, can_manage, can_read, view
from ..domain.feeds import CursorError, cursor, parse_cursor

router = APIRouter(prefix="/api/notifications", tags=["feeds"])
admins = require_role(Role.ADMIN)
readers = require_role(*READERS)
HEARTBEAT_SECONDS = 15.0
SSE_BATCH = 200


def _feeds(request: Request):
    return request.app.state.feeds


async def _subscription(request: Request, subscription_id: str) -> dict:
    sub = await _feeds(request).store.get(subscription_id)
    if sub is None:
        raise NotFound("订阅不存在 (no such subscription)", code="subscription_not_found", field="subscription_id")
    return sub


async def _managed(request: Request, subscription_id: str, who: Principal) -> dict:
    sub = await _subscription(request, subscription_id)
    if not can_manage(who, sub["department"], sub.get("district")):
        raise Forbidden("无权管理该订阅 (not your department's subscription)", code="outside_jurisdiction")
    return sub


async def _readable(request: Request, subscription_id: str, who: Principal) -> dict:
    sub = await _subscription(request, subscription_id)
    if not can_read(who, sub):
        raise Forbidden("无权读取该订阅 (not your department's feed)", code="outside_jurisdiction")
    return sub


# subscriptions --------------------------------------------------------------------------------------------------
@router.post("/subscriptions", status_code=201, summary="A department administrator subscribes their department")
async def subscribe(body: SubscriptionRequest, request: Request, who: Principal = Depends(admins)):
    """The webhook's signing secret (``whsec_…``) is in this answer only."""
    doc, secret = await _feeds(request).subscriptions.create(body, who)
    return {**view(doc), "secret": secret}


@router.get("/subscriptions", summary="The subscriptions the caller manages")
async def subscriptions(request: Request, who: Principal = Depends(admins)):
    docs = await _feeds(request).store.subs.find({}).sort("_id", 1).to_list(2000)
    return [view(d) for d in docs if can_manage(who, d["department"], d.get("district"))]


@router.get("/subscriptions/{subscription_id}", summary="One subscription")
async def subscription(subscription_id: str, request: Request, who: Principal = Depends(admins)):
    return view(await _managed(request, subscription_id, who))


@router.delete("/subscriptions/{subscription_id}", summary="End a subscription (its feed stays readable)")
async def unsubscribe(subscription_id: str, request: Request, who: Principal = Depends(admins)):
    sub = await _managed(request, subscription_id, who)
    return view(await _feeds(request).subscriptions.end(sub, who))


@router.post("/subscriptions/{subscription_id}/secrets", status_code=201,
             summary="Rotate the webhook secret: the new one is shown once; the previous one signs for the overlap")
async def rotate(subscription_id: str, request: Request, who: Principal = Depends(admins)):
    sub = await _managed(request, subscription_id, who)
    doc, secret = await _feeds(request).subscriptions.rotate(sub)
    _feeds(request).webhooks.refresh(sub["_id"])  # the next delivery is signed with the new secret too
    return {**view(doc), "secret": secret}


@router.delete("/subscriptions/{subscription_id}/secrets/previous", summary="Stop signing with the previous secret")
async def retire(subscription_id: str, request: Request, who: Principal = Depends(admins)):
    sub = await _managed(request, subscription_id, who)
    doc = await _feeds(request).subscriptions.retire_previous(sub)
    _feeds(request).webhooks.refresh(sub["_id"])
    return view(doc)


def _delivery(doc: dict) -> dict:
    return {"webhook_id": doc["_id"], "sequence": doc["seq"], "event_id": doc["event_id"], "type": doc["type"],
            "status": doc.get("wh"), "attempts": doc.get("attempts", 0), "last_error": doc.get("last_error"),
            "created_at": doc["at"], "dead_at": doc.get("dead_at")}


@router.get("/subscriptions/{subscription_id}/dead-letters", summary="Webhook deliveries given up, oldest first")
async def dead_letters(subscription_id: str, request: Request, limit: int = Query(100, ge=1, le=1000),
                       who: Principal = Depends(admins)):
    sub = await _managed(request, subscription_id, who)
    return [_delivery(d) for d in await _feeds(request).store.dead_letters(sub["_id"], limit)]


@router.post("/subscriptions/{subscription_id}/dead-letters/{sequence}/redelivery", status_code=202,
             summary="Send a dead letter again (same webhook-id)")
async def redeliver(subscription_id: str, sequence: int, request: Request, who: Principal = Depends(admins)):
    sub = await _managed(request, subscription_id, who)
    if not 1 <= sequence <= 10**15:
        raise ValidationFailed("序号无效 (invalid sequence)", code="invalid_sequence", field="sequence")
    doc = await _feeds(request).webhooks.redeliver(sub["_id"], sequence)
    if doc is None:
        raise NotFound("没有该投递 (no such delivery)", code="delivery_not_found", field="sequence")
    return _delivery(doc)


# reading a feed -------------------------------------------------------------------------------------------------
def _position(text: str | None, sub_id: str, field: str) -> int:
    try:
        return parse_cursor(text, sub_id)
    except CursorError as exc:
        raise ValidationFailed(str(exc), code=exc.code, field=field) from None


@router.get("/feeds/{subscription_id}/events", summary="Pull: the events after a cursor, and the next cursor")
async def pull(subscription_id: str, request: Request, cursor_: str | None = Query(None, alias="cursor", max_length=80),
               limit: int = Query(100, ge=1, le=500), who: Principal = Depends(readers)):
    sub = await _readable(request, subscription_id, who)
    after = _position(cursor_, sub["_id"], "cursor")
    items = await _feeds(request).store.read(sub["_id"], after, limit)
    nxt = cursor(sub["_id"], items[-1]["seq"] if items else after)
    # the bodies are stored as the JSON they are sent as: passed through, not parsed again
    content = '{"events":[' + ",".join(i["body"] for i in items) + f'],"cursor":"{nxt}","count":{len(items)}}}'
    return Response(content=content.encode(), media_type="application/json")


@router.get("/feeds/{subscription_id}/stream", summary="Server-Sent Events; resume with Last-Event-ID",
            response_class=StreamingResponse)
async def stream(subscription_id: str, request: Request,
                 cursor_: str | None = Query(None, alias="cursor", max_length=80),
                 last_event_id: str | None = Header(None, max_length=80), who: Principal = Depends(readers)):
    """Each event: ``id: <cursor>`` and ``data: <CloudEvent JSON>``. Sent ``Last-Event-ID`` (or ``cursor``), the
    stream goes on after it; else it starts at the feed's end (new events only)."""
    sub = await _readable(request, subscription_id, who)
    feeds = _feeds(request)
    if last_event_id is not None:
        after = _position(last_event_id, sub["_id"], "Last-Event-ID")
    elif cursor_ is not None:
        after = _position(cursor_, sub["_id"], "cursor")
    else:
        after = feeds.hub.latest(sub["_id"])
        if after is None:
            after = await feeds.store.last_sequence(sub)
    return StreamingResponse(_events(feeds, sub["_id"], after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(feeds, sub_id: str, after: int) -> AsyncIterator[bytes]:
    yield b": connected\n\n"
    while True:
        batch = feeds.hub.after(sub_id, after, SSE_BATCH)
        if batch is None:  # behind what memory keeps: from the database
            batch = [(d["seq"], d["body"]) for d in await feeds.store.read(sub_id, after, SSE_BATCH)]
        if batch:
            yield "".join(f"id: {sub_id}.{seq}\ndata: {body}\n\n" for seq, body in batch).encode()
            after = batch[-1][0]
            continue
        before = asyncio.get_running_loop().time()
        await feeds.hub.wait(sub_id, after, HEARTBEAT_SECONDS)
        if asyncio.get_running_loop().time() - before >= HEARTBEAT_SECONDS:
            yield b": keep-alive\n\n"


@router.get("/asyncapi.json", summary="AsyncAPI 3.0: every topic and event type, the webhook and SSE channels")
async def asyncapi(request: Request):
    return JSONResponse(request.app.state.asyncapi)
