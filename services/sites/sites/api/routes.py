"""HTTP API of the sites service, under /api/sites. Every route names the roles it allows."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.codes import STAGES
from nrmm_kernel.errors import ValidationFailed
from nrmm_kernel.fields import CodeFilter, DistrictFilter, Skip, TextFilter
from nrmm_kernel.idempotency import IDEMPOTENCY_KEY
from nrmm_kernel.keyset import After, set_next_cursor
from nrmm_kernel.reference import MACHINE_TYPES, Role

from ..app.access import SITE_READERS, ZONE_MANAGERS
from ..app.commands import SitesCommands
from ..app.gate import EntryReport, GateCommands
from ..app.queries import SitesQueries
from ..domain.model import SiteDetails, SiteStatus, WorkingPeriod, check_site_code
from ..domain.site import Site, Zone
from ..domain.zones import ZoneDefinition

router = APIRouter(prefix="/api/sites", tags=["sites"])


def commands(request: Request) -> SitesCommands:
    return request.app.state.sites_commands


def gate(request: Request) -> GateCommands:
    return request.app.state.gate_commands


def queries(request: Request) -> SitesQueries:
    return request.app.state.sites_queries


MachineType = Literal[MACHINE_TYPES]  # rule S1


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Registration(Body):
    site_code: str = Field(max_length=40, description="the site's own code, e.g. its construction permit number")
    details: SiteDetails
    status: SiteStatus = SiteStatus.IN_CONSTRUCTION
    password: str = Field(min_length=1, max_length=128, description="the site admin's password")
    sms_code: str = Field(min_length=4, max_length=8, description="sent to details.manager.mobile")

    @field_validator("site_code")
    @classmethod
    def _site_code(cls, value: str) -> str:
        return check_site_code(value, registering=True)


class StatusChange(Body):
    status: SiteStatus
    reason: str | None = Field(default=None, max_length=500)


class EngineerAccount(Body):
    username: str = Field(min_length=3, max_length=40, description="3–40 letters, digits, `.`, `_`, `-`")
    password: str = Field(max_length=128, description="a staff password: at least 10 characters, hard to guess")
    name: str | None = Field(default=None, max_length=50)


class Scan(Body):
    qr: str | None = Field(default=None, max_length=200, description="the card's QR payload, as scanned")
    code: str | None = Field(default=None, max_length=40, description="or the code, typed")

    @model_validator(mode="after")
    def _one(self):
        if (self.qr is None) == (self.code is None):
            raise ValueError("give either qr or code")
        return self

    @property
    def scanned(self) -> str:
        return self.qr if self.qr is not None else self.code


class Entry(Scan):
    """Rule E2: the site reports the machine's type, emission stage and working period with its entry (the scan
    prefills type and stage from the registry; the guard confirms them)."""

    working_period: WorkingPeriod
    machine_type: MachineType = Field(description="machine type (rule S1), prefilled from the scan")
    emission_stage: str = Field(max_length=2, description="emission stage 1, 2, 3, 4, D or X, prefilled from the scan")

    @field_validator("emission_stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        if value.strip().upper() not in STAGES:
            raise PydanticCustomError("invalid_stage", "排放阶段须为 1、2、3、4、D 或 X")
        return value.strip().upper()

    def report(self) -> EntryReport:
        return EntryReport(scanned=self.scanned, working_period=self.working_period,
                           reported_category=self.machine_type, reported_stage=self.emission_stage)


class Batch(Body):
    machines: list[Entry] = Field(min_length=1, max_length=500)


class ZoneChange(Body):
    definition: ZoneDefinition
    active: bool = True


def path_code(site_code: str) -> str:
    try:
        return check_site_code(site_code)
    except PydanticCustomError as exc:
        raise ValidationFailed(str(exc), code="invalid_site_code", field="site_code") from None


def site_summary(site: Site) -> dict:
    return {"site_code": site.id, "status": site.status, "version": site.version,
            "admin_account_id": site.admin_account_id}


def zone_summary(zone: Zone) -> dict:
    return {"zone_id": zone.id, "version": zone.version, "active": zone.active,
            "definition": zone.definition.model_dump()}


STAFF_AND_GATES = (*SITE_READERS, Role.SITE_ADMIN)


# sites (rule E1) --------------------------------------------------------------------------------
@router.post("/registrations", status_code=201,
             summary="Register a site and its site-admin account (rule E1; SMS code from POST /api/auth/sms-codes)")
async def register(body: Registration, request: Request):
    site = await commands(request).register_site(site_code=body.site_code, details=body.details, status=body.status,
                                                 password=body.password, sms_code=body.sms_code)
    return {**site_summary(site), "username": site.id}


@router.get("/sites", summary="Sites by district, department and status (a site admin: their own)")
async def list_sites(request: Request, response: Response,
                     who: Principal = Depends(require_role(*STAFF_AND_GATES)),
                     district: DistrictFilter = None, department: TextFilter = None, status: SiteStatus | None = None,
                     limit: int = Query(100, ge=1, le=500), skip: Skip = 0, after: After = None):
    found, cursor = await queries(request).search(who, district=district, department=department,
                                                  status=status.value if status else None, limit=limit, skip=skip,
                                                  after=after)
    set_next_cursor(response, cursor)
    return found


@router.get("/sites/{site_code}", summary="One site")
async def get_site(site_code: str, request: Request, who: Principal = Depends(require_role(*STAFF_AND_GATES))):
    return await queries(request).site(who, path_code(site_code))


@router.put("/sites/{site_code}", summary="Update a site's details (its admin, or an administrator)")
async def update_site(site_code: str, details: SiteDetails, request: Request,
                      who: Principal = Depends(require_role(Role.SITE_ADMIN, Role.ADMIN))):
    return site_summary(await commands(request).update_site(who, path_code(site_code), details))


@router.post("/sites/{site_code}/status", summary="In construction, suspended, completed (not with machines inside)")
async def change_status(site_code: str, body: StatusChange, request: Request,
                        who: Principal = Depends(require_role(Role.SITE_ADMIN, Role.ADMIN))):
    site = await commands(request).change_status(who, path_code(site_code), body.status, body.reason)
    return site_summary(site)


@router.post("/sites/{site_code}/supervision-engineers", status_code=201,
             summary="Administrators of the site's district and department: a supervision engineer's account bound "
                     "to the site (rule E6)")
async def add_supervision_engineer(site_code: str, body: EngineerAccount, request: Request,
                                   who: Principal = Depends(require_role(Role.ADMIN))):
    return await commands(request).add_supervision_engineer(who, path_code(site_code), username=body.username,
                                                            password=body.password, name=body.name)


# the gate (rules E2-E4, C3) ------------------------------------------------------------------------
@router.post("/sites/{site_code}/scans", summary="Scan: the verdict and the registry's facts to prefill an entry; "
                                                 "records nothing")
async def scan(site_code: str, body: Scan, request: Request, who: Principal = Depends(require_role(Role.SITE_ADMIN))):
    return await gate(request).preview(who, path_code(site_code), body.scanned)


@router.post("/sites/{site_code}/entries", status_code=201,
             summary="Register an entry; 201 admitted, 409 refused (recorded) with colour and reason, 422 malformed",
             responses={409: {"description": "refused: the gate's verdict (colour red, reason, message)"}})
async def enter(site_code: str, body: Entry, request: Request, who: Principal = Depends(require_role(Role.SITE_ADMIN)),
                idempotency_key: str | None = IDEMPOTENCY_KEY):
    return await gate(request).enter(who, path_code(site_code), body.report(), request_key=idempotency_key)


@router.post("/sites/{site_code}/entries/batch", summary="Several machines at once; one verdict each")
async def enter_batch(site_code: str, body: Batch, request: Request,
                      who: Principal = Depends(require_role(Role.SITE_ADMIN)),
                      idempotency_key: str | None = IDEMPOTENCY_KEY):
    limit = request.app.state.runtime.settings.batch_limit
    if len(body.machines) > limit:
        return JSONResponse(status_code=422, content={"code": "batch_too_large", "field": "machines",
                                                      "message": f"一次最多登记 {limit} 台机械"})
    return await gate(request).enter_batch(who, path_code(site_code), [m.report() for m in body.machines],
                                               request_key=idempotency_key)


@router.post("/sites/{site_code}/exits", status_code=201, summary="Register an exit: the stay ends")
async def leave(site_code: str, body: Scan, request: Request, who: Principal = Depends(require_role(Role.SITE_ADMIN))):
    return await gate(request).exit(who, path_code(site_code), body.scanned)


@router.get("/sites/{site_code}/roster", summary="Machines inside the site now")
async def roster(site_code: str, request: Request, who: Principal = Depends(require_role(*STAFF_AND_GATES))):
    return await queries(request).roster(who, path_code(site_code))


@router.get("/sites/{site_code}/movements", summary="The site's entries and exits, by date and by machine")
async def movements(site_code: str, request: Request, response: Response,
                    who: Principal = Depends(require_role(*STAFF_AND_GATES)),
                    date_from: date | None = Query(None, alias="from"), date_to: date | None = Query(None, alias="to"),
                    code: CodeFilter = None, limit: int = Query(200, ge=1, le=1000),
                    skip: Skip = 0, after: After = None):
    found, cursor = await queries(request).movements(who, path_code(site_code), date_from=date_from, date_to=date_to,
                                                     code=code, limit=limit, skip=skip, after=after)
    set_next_cursor(response, cursor)
    return found


@router.get("/sites/{site_code}/refusals", summary="Entries refused at this site's gate")
async def refusals(site_code: str, request: Request, who: Principal = Depends(require_role(*STAFF_AND_GATES)),
                   limit: int = Query(200, ge=1, le=1000)):
    return await queries(request).refusals(who, path_code(site_code), limit)


@router.get("/machines/{code}/stays", summary="A machine's site history")
async def machine_stays(code: str, request: Request,
                        who: Principal = Depends(require_role(Role.OWNER, *STAFF_AND_GATES)),
                        limit: int = Query(200, ge=1, le=1000)):
    return await queries(request).machine_stays(who, code, limit)


@router.get("/anomalies", summary="Inspectors: machines scanned in at one site while inside another")
async def anomalies(request: Request, district: DistrictFilter = None, limit: int = Query(200, ge=1, le=1000),
                    who: Principal = Depends(require_role(Role.INSPECTOR, Role.REVIEWER, Role.ADMIN, Role.AUDITOR))):
    return await queries(request).anomalies(who, district, limit)


# restricted zones (rule E4) -----------------------------------------------------------------------
@router.get("/zones", summary="Restricted zones (禁用区)")
async def list_zones(request: Request, district: DistrictFilter = None, include_inactive: bool = False,
                     who: Principal = Depends(require_role(*STAFF_AND_GATES))):
    return await queries(request).zones(who, district, include_inactive)


@router.post("/zones", status_code=201, summary="Define a restricted zone (ecology bureau)")
async def define_zone(definition: ZoneDefinition, request: Request,
                      who: Principal = Depends(require_role(*ZONE_MANAGERS))):
    return zone_summary(await commands(request).define_zone(who, definition))


@router.put("/zones/{zone_id}", summary="Change or lift (active=false) a restricted zone")
async def change_zone(zone_id: str, body: ZoneChange, request: Request,
                      who: Principal = Depends(require_role(*ZONE_MANAGERS))):
    return zone_summary(await commands(request).change_zone(who, zone_id, body.definition, body.active))
