"""/api/auth: system clients (another department's system, rule D5) and their OAuth2 client-credentials tokens."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ConfigDict, Field

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import AppError
from nrmm_kernel.reference import Department, Role

from ..app.system_clients import InvalidClient, SystemClients
from .limits import SmallBodyRoute

router = APIRouter(prefix="/api/auth", tags=["system clients"], route_class=SmallBodyRoute)


def clients(request: Request) -> SystemClients:
    return request.app.state.system_clients


class ClientRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=100, description="the system, e.g. 市特种设备信息平台")
    department: Department = Department.MARKET


@router.post("/system-clients", status_code=201,
             summary="City-level administrators: register a system client (its secret is shown this once)")
async def register(body: ClientRegistration, request: Request, who: Principal = Depends(require_role(Role.ADMIN))):
    return await clients(request).register(who, name=body.name, department=body.department)


@router.get("/system-clients", summary="City-level administrators: the system clients (never their secrets)")
async def list_clients(request: Request, who: Principal = Depends(require_role(Role.ADMIN))):
    return await clients(request).list(who)


@router.post("/system-clients/{client_id}/revocation", summary="Revoke a system client: no new tokens")
async def revoke(client_id: Annotated[str, Field(max_length=64)], request: Request,
                 who: Principal = Depends(require_role(Role.ADMIN))):
    return await clients(request).revoke(who, client_id)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: client id and secret in HTTP Basic (form-urlencoded each)."""
    header = request.headers.get("authorization") or ""
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("客户端认证失败 (malformed Basic credentials)", field="authorization") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("客户端认证失败 (malformed Basic credentials)", field="authorization")
    from urllib.parse import unquote_plus

    return unquote_plus(client_id), unquote_plus(secret)


@router.post("/oauth/token", summary="OAuth2 client credentials (RFC 6749 §4.4): an access token for a system client")
async def client_token(request: Request, grant_type: Annotated[str, Form(max_length=32)],
                       client_id: Annotated[str | None, Form(max_length=64)] = None,
                       client_secret: Annotated[str | None, Form(max_length=128)] = None,
                       scope: Annotated[str, Form(max_length=200)] = ""):
    if grant_type != "client_credentials":
        raise AppError("仅支持 client_credentials (unsupported grant type)", code="unsupported_grant_type",
                       field="grant_type")
    basic = basic_credentials(request)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise InvalidClient("须提供客户端编号和密钥 (client credentials missing)",
                            field="client_id" if not client_id else "client_secret")
    return await clients(request).token(client_id, client_secret)
