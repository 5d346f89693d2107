"""GET /api/audit/accounts/{account_id}/history: auditors read an account's history (issue #22) from the gateway's
event store: each event with the acting administrator (``actorid``, ``actorrole``), personal values opened (or
read as erased once the person's key is forgotten). Auditors only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import NotFound
from nrmm_kernel.reference import Role

from ..domain.events import account_stream

router = APIRouter(prefix="/api/audit/accounts", tags=["audit"])
PERSONAL = ("username", "mobile", "name")


@router.get("/{account_id}/history", summary="Auditors: an account's events, with who acted")
async def history(request: Request, account_id: str = Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$"),
                  who: Principal = Depends(require_role(Role.AUDITOR))) -> dict[str, Any]:
    store = request.app.state.runtime.store
    keys = request.app.state.identity.accounts.store.keys
    envelopes = await store.read_stream(account_stream(account_id))
    if not envelopes:
        raise NotFound("账户不存在 (no such account)", code="account_not_found", field="account_id")
    events = []
    for e in envelopes:
        data = dict(e.data)
        for name in PERSONAL:
            if isinstance(data.get(name), str):
                data[name] = await keys.open(data[name])
        events.append({"id": e.id, "type": e.event_name, "time": e.time, "version": e.streamversion,
                       "actorid": e.actorid, "actorrole": e.actorrole, "correlationid": e.correlationid,
                       "data": data})
    return {"account_id": account_id, "events": events}
