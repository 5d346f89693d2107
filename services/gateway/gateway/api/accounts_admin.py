"""/api/auth/accounts/{account_id}: administrators of the ecology bureau disable, enable an account, revoke its
sessions, grant or change its role (issue #22). Each is an event naming the administrator; tokens of a disabled or
revoked account are refused by every service within seconds, its refresh tokens at once."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.fields import DistrictCode
from nrmm_kernel.reference import Department, Role

from ..app.account_admin import AccountAdmin
from .limits import SmallBodyRoute

router = APIRouter(prefix="/api/auth/accounts", tags=["accounts"], route_class=SmallBodyRoute)
AccountId = Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")


def admin(request: Request) -> AccountAdmin:
    return request.app.state.identity.admin


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reason(Body):
    reason: str = Field(min_length=1, max_length=200)


class OptionalReason(Body):
    reason: str | None = Field(default=None, max_length=200)


class RoleGrant(Body):
    role: Role
    department: Department | None = None
    district: DistrictCode | None = Field(default=None, description="null: city level")


@router.post("/{account_id}/disable", summary="Disable an account: no sign-in, its tokens refused everywhere")
async def disable(body: Reason, request: Request, account_id: str = AccountId,
                  who: Principal = Depends(require_role(Role.ADMIN))):
    return await admin(request).disable(who, account_id, body.reason)


@router.post("/{account_id}/enable", summary="Enable a disabled account (tokens from before stay refused)")
async def enable(body: OptionalReason, request: Request, account_id: str = AccountId,
                 who: Principal = Depends(require_role(Role.ADMIN))):
    return await admin(request).enable(who, account_id, body.reason)


@router.post("/{account_id}/revoke-sessions", summary="End every session and access token of an account")
async def revoke_sessions(body: Reason, request: Request, account_id: str = AccountId,
                          who: Principal = Depends(require_role(Role.ADMIN))):
    return await admin(request).revoke_sessions(who, account_id, body.reason)


@router.post("/{account_id}/role", summary="Grant or change a staff account's role, department and district")
async def grant_role(body: RoleGrant, request: Request, account_id: str = AccountId,
                     who: Principal = Depends(require_role(Role.ADMIN))):
    return await admin(request).grant_role(who, account_id, body.role, body.department, body.district)
