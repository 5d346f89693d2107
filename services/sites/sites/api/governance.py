"""Who governs a site (rule D3): its competent department confirms it, and a state-owned enterprise's site is
declared and confirmed for the state-owned assets department (国资)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.reference import Role

from ..domain.model import StateOwnership
from ..domain.site import Site
from .routes import commands, path_code

router = APIRouter(prefix="/api/sites", tags=["sites"])


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted: bool
    reason: str | None = Field(default=None, min_length=1, max_length=500, description="required when declined")


def governance(site: Site) -> dict:
    ownership = site.state_ownership
    return {"site_code": site.id, "version": site.version, "competent_department": site.competent_department,
            "confirmed_department": site.confirmed_department,
            "state_ownership": ownership.model_dump(mode="json") if ownership else None,
            "state_ownership_confirmed": site.state_ownership_confirmed}


@router.post("/sites/{site_code}/department-confirmation",
             summary="The competent department's administrator confirms (or declines) that it governs the site")
async def confirm_department(site_code: str, body: Decision, request: Request,
                             who: Principal = Depends(require_role(Role.ADMIN))):
    site = await commands(request).confirm_department(who, path_code(site_code), body.accepted, body.reason)
    return governance(site)


@router.put("/sites/{site_code}/state-ownership",
            summary="Declare whether a state-owned enterprise builds or owns the project (its admin, or staff)")
async def declare_state_ownership(site_code: str, body: StateOwnership, request: Request,
                                  who: Principal = Depends(require_role(Role.SITE_ADMIN, Role.ADMIN))):
    return governance(await commands(request).declare_state_ownership(who, path_code(site_code), body))


@router.post("/sites/{site_code}/state-ownership/confirmation",
             summary="The state-owned assets department's administrator confirms (or declines) the declaration")
async def confirm_state_ownership(site_code: str, body: Decision, request: Request,
                                  who: Principal = Depends(require_role(Role.ADMIN))):
    site = await commands(request).confirm_state_ownership(who, path_code(site_code), body.accepted, body.reason)
    return governance(site)
