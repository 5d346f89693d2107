"""Personal data (#14): a person's erasure, by the ecology bureau's city administrator, and the opening of sealed
values for another service's authorised use (notifications, an SMS to send)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.reference import Role

from ..app.erasure import PersonalData

router = APIRouter(prefix="/api/registry", tags=["personal data"])
SEALED_VALUE = Annotated[str, Field(min_length=1, max_length=2048)]


def personal(request: Request) -> PersonalData:
    return request.app.state.personal_data


class Erasure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                            description="the person's owner account id (the data subject)")
    reason: str = Field(min_length=1, max_length=500, description="why the data is erased (e.g. the person's request)")


class Sealed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: list[SEALED_VALUE] = Field(max_length=100)


@router.post("/personal-data/erasures", status_code=201,
             summary="Erase a person's personal data (ecology bureau city administrator)")
async def erase(body: Erasure, request: Request, who: Principal = Depends(require_role(Role.ADMIN))) -> JSONResponse:
    return JSONResponse(await personal(request).erase(who, body.subject_id, body.reason), status_code=201)


@router.post("/internal/personal/open", include_in_schema=False)
async def open_sealed(body: Sealed, request: Request, who: Principal = Depends(require_role(Role.SERVICE))) -> dict:
    return {"values": await personal(request).open(body.values)}
