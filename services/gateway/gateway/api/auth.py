"""/api/auth: accounts, SMS codes, tokens (OAuth2 password flow)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from nrmm_kernel.auth import Principal, current_principal, require_role
from nrmm_kernel.errors import ValidationFailed
from nrmm_kernel.fields import DistrictCode, MobileNumber
from nrmm_kernel.reference import Department, Role

from ..app.accounts import Accounts
from ..app.sessions import Sessions
from ..app.sms_codes import SmsCodes
from .limits import SmallBodyRoute

# accounts of people (a service or a system client has no password here)
PEOPLE = tuple(r for r in Role if r not in (Role.SERVICE, Role.SYSTEM_CLIENT))
router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=SmallBodyRoute)


def accounts(request: Request) -> Accounts:
    return request.app.state.identity.accounts


def sessions(request: Request) -> Sessions:
    return request.app.state.identity.sessions


def sms_codes(request: Request) -> SmsCodes:
    return request.app.state.identity.sms_codes


def client_address(request: Request) -> str | None:
    """The peer's address (uvicorn runs with --no-proxy-headers; the rules trust X-Forwarded-For only from
    NRMM_TRUSTED_PROXIES, applied by the kernel's middleware)."""
    return request.client.host if request.client else None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmsRequest(Body):
    mobile: MobileNumber
    purpose: Literal["register", "reset_password"]


class OwnerRegistration(Body):
    mobile: MobileNumber
    password: str = Field(max_length=128)
    sms_code: str = Field(min_length=4, max_length=8)
    name: str | None = Field(default=None, max_length=50)


class SiteAdminRegistration(Body):
    username: str = Field(min_length=3, max_length=40)
    mobile: MobileNumber
    name: str | None = Field(default=None, max_length=50)
    password: str = Field(max_length=128)
    sms_code: str = Field(min_length=4, max_length=8)
    site_id: str = Field(min_length=3, max_length=40)
    district: DistrictCode


class StaffAccount(Body):
    username: str = Field(min_length=3, max_length=40)
    password: str = Field(max_length=128)
    role: Role
    department: Department | None = None
    district: DistrictCode | None = Field(default=None, description="null: city level")
    site_id: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-]{2,39}$",
                                description="none: supervision engineers are made under their site (rule E6)")
    name: str | None = Field(default=None, max_length=50)


class RefreshBody(Body):
    refresh_token: str = Field(min_length=10, max_length=200)


class PasswordChange(Body):
    old_password: str = Field(max_length=128)
    new_password: str = Field(max_length=128)


class PasswordReset(Body):
    mobile: MobileNumber
    sms_code: str = Field(min_length=4, max_length=8)
    new_password: str = Field(max_length=128)


@router.post("/sms-codes", status_code=202, summary="Send an SMS verification code (expires, single use; "
                                                    "1 per minute and 10 a day per number, 10 an hour per "
                                                    "client address, a ceiling per hour for all)")
async def sms_code(body: SmsRequest, request: Request):
    await sms_codes(request).send(body.mobile, body.purpose, client_address(request))
    return {"sent": True, "expires_in": request.app.state.runtime.settings.sms_code_ttl_seconds}


@router.post("/owners", status_code=201, summary="Register an owner account (mobile, password, SMS code)")
async def register_owner(body: OwnerRegistration, request: Request):
    account = await accounts(request).register_owner(mobile=body.mobile, password=body.password,
                                                     sms_code=body.sms_code, name=body.name)
    return account.public()


@router.post("/site-admins", status_code=201, summary="Internal: the sites service makes a site's admin account")
async def create_site_admin(body: SiteAdminRegistration, request: Request,
                            who: Principal = Depends(require_role(Role.SERVICE))):
    account = await accounts(request).create_site_admin(**body.model_dump(), actor=who.as_actor())
    return account.public()


class OwnerLookup(Body):
    mobile: MobileNumber


@router.post("/owner-lookup", summary="Internal: the registry finds the owner account registered with a mobile "
                                      "(rule C6, owner change)")
async def owner_lookup(body: OwnerLookup, request: Request, who: Principal = Depends(require_role(Role.SERVICE))):
    account = await accounts(request).owner_by_mobile(body.mobile)
    return {"account_id": account.account_id, "role": account.role.value}


@router.post("/staff", status_code=201, summary="Administrators: create a staff account (supervision engineers: "
                                               "POST /api/sites/sites/{site}/supervision-engineers)")
async def create_staff(body: StaffAccount, request: Request, who: Principal = Depends(require_role(Role.ADMIN))):
    if body.role is Role.SUPERVISION_ENGINEER:
        # the sites service judges whether the site is the administrator's to staff, and asks here (rule E6)
        raise ValidationFailed("监理人员账户请在所监理的场地下创建 "
                               "(POST /api/sites/sites/{site}/supervision-engineers)", code="engineer_via_site",
                               field="role")
    account = await accounts(request).create_staff(who, **body.model_dump())
    return account.public()


class EngineerAccount(Body):
    username: str = Field(min_length=3, max_length=40)
    password: str = Field(max_length=128)
    name: str | None = Field(default=None, max_length=50)
    site_id: str = Field(min_length=3, max_length=40)
    district: DistrictCode
    created_by: str = Field(min_length=1, max_length=64, description="the administrator the sites service judged")


@router.post("/supervision-engineers", status_code=201,
             summary="Internal: the sites service makes a supervision engineer's account for a site (rule E6)")
async def create_supervision_engineer(body: EngineerAccount, request: Request,
                                      who: Principal = Depends(require_role(Role.SERVICE))):
    account = await accounts(request).create_supervision_engineer(**body.model_dump())
    return account.public()


class PasswordForm(OAuth2PasswordRequestForm):
    """OAuth2's password form, every field bounded."""

    def __init__(self, *, grant_type: Annotated[str | None, Form(pattern="^password$", max_length=8)] = None,
                 username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=128)],
                 scope: Annotated[str, Form(max_length=200)] = "",
                 client_id: Annotated[str | None, Form(max_length=64)] = None,
                 client_secret: Annotated[str | None, Form(max_length=128)] = None):
        super().__init__(grant_type=grant_type, username=username, password=password, scope=scope,
                         client_id=client_id, client_secret=client_secret)


@router.post("/token", summary="OAuth2 password flow: access token (JWT) and refresh token")
async def token(request: Request, form: PasswordForm = Depends()):
    return await sessions(request).login(form.username, form.password, client_address(request))


@router.post("/refresh", summary="A new access token; the refresh token is rotated (reuse ends the session)")
async def refresh(body: RefreshBody, request: Request):
    return await sessions(request).refresh(body.refresh_token)


@router.post("/logout", status_code=204, summary="Revoke the refresh token (and its session)")
async def logout(body: RefreshBody, request: Request):
    await sessions(request).logout(body.refresh_token)
    return Response(status_code=204)


@router.post("/password", status_code=204, summary="Change the password; every refresh token is revoked")
async def change_password(body: PasswordChange, request: Request,
                          who: Principal = Depends(require_role(*PEOPLE))):
    await accounts(request).change_password(who, body.old_password, body.new_password)
    return Response(status_code=204)


@router.post("/password-reset", status_code=204, summary="Owners: reset a forgotten password with an SMS code")
async def reset_password(body: PasswordReset, request: Request):
    await accounts(request).reset_password(body.mobile, body.sms_code, body.new_password)
    return Response(status_code=204)


@router.get("/me", summary="The signed-in account")
async def me(request: Request, who: Principal = Depends(current_principal)):
    if who.role in (Role.SERVICE, Role.SYSTEM_CLIENT):
        return {"account_id": who.account_id, "role": who.role, "department": who.department}
    return (await accounts(request).account(who.account_id)).public()
