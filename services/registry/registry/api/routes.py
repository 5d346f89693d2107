"""HTTP API of the registry service, under /api/registry. Every route names the roles it allows."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.codes import STAGE_NAMES, MalformedCode, parse_code
from nrmm_kernel.errors import Conflict, Forbidden, ValidationFailed
from nrmm_kernel.fields import CodeFilter, DistrictFilter, Skip, TextFilter
from nrmm_kernel.idempotency import IDEMPOTENCY_KEY
from nrmm_kernel.keyset import After, set_next_cursor
from nrmm_kernel.reference import DISTRICTS, Role

from ..app.commands import RegistryCommands
from ..app.disclosures import with_disclosure_flags
from ..app.documents import CardData, qr_payload, render_card, render_plate
from ..app.queries import (
    GATE_VIEW_ROLES,
    LOOKUP_ROLES,
    QUEUE_ROLES,
    SEARCH_ROLES,
    UPLOAD_READERS,
    RegistryQueries,
    may_read_upload,
    require_registry_department,
    view_for,
)
from ..domain.machine import MachineRecord
from ..domain.model import CATEGORY_NAMES, UploadKind
from ..domain.status import IN_FORCE
from .bodies import (
    ApplicationBody,
    Cancellation,
    Correction,
    Decision,
    ExternalDeclaration,
    OwnerChange,
    OwnerChangeAcceptance,
    ReissueRequest,
    Rejection,
)

STAFF = (Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_VIEWER, Role.SUPERVISION_ENGINEER, Role.AUDITOR, Role.ADMIN)
REVIEWERS = (Role.REVIEWER, Role.ADMIN)

router = APIRouter(prefix="/api/registry", tags=["registry"])


def commands(request: Request) -> RegistryCommands:
    return request.app.state.registry_commands


def queries(request: Request) -> RegistryQueries:
    return request.app.state.registry_queries


def summary(record: MachineRecord) -> dict:
    pending = record.pending_owner_change
    return {"machine_id": record.id, "status": record.status, "code": record.code, "version": record.version,
            "owner_account_id": record.owner_account_id, "late": record.late,
            "owner_change": None if pending is None else {
                "new_owner_account_id": pending.new_owner_account_id, "transferred_on": pending.transferred_on,
                "reported_on": pending.reported_on, "late": pending.late, "expires_on": pending.expires_on}}


# uploads ----------------------------------------------------------------------------------------
@router.post("/uploads", status_code=201, summary="Upload a document or photo (JPEG, PNG, PDF; 10 MB)")
async def upload(request: Request, kind: UploadKind = Form(...), file: UploadFile = File(...),
                 who: Principal = Depends(require_role(Role.OWNER))):
    return await commands(request).uploads.save(who.account_id, kind, file)


@router.get("/uploads/{upload_id}", summary="Read an upload: its owner; reviewers and auditors of the district; "
                                             "inspectors (machine pictures only)")
async def read_upload(upload_id: str, request: Request,
                      who: Principal = Depends(require_role(Role.OWNER, *UPLOAD_READERS))):
    meta, data = await commands(request).uploads.read(upload_id)
    referenced = None
    if meta["owner_account_id"] != who.account_id and who.role is not Role.OWNER:
        referenced = await queries(request).machines.find_one({f"uploads.{meta['kind']}": upload_id},
                                                              projection={"district": 1})
    if not may_read_upload(meta, referenced, who):
        raise Forbidden("无权查看该文件 (not allowed to read this upload)", code="upload_not_allowed")
    return Response(content=data, media_type=meta["content_type"], headers=upload_headers(upload_id, meta))


def upload_headers(upload_id: str, meta: dict) -> dict:
    """Served as what it was decoded as, never sniffed into a page, and nothing in it runs (issue 13 point 5)."""
    pdf = meta["content_type"] == "application/pdf"
    name = f"{upload_id}.{'pdf' if pdf else meta['content_type'].split('/')[1].replace('jpeg', 'jpg')}"
    return {"X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
            "Content-Disposition": f'{"attachment" if pdf else "inline"}; filename="{name}"',
            "Cache-Control": "private, no-store"}


# applications -----------------------------------------------------------------------------------
@router.post("/applications", status_code=201, summary="Apply for an environmental code (rule C4)")
async def apply(body: ApplicationBody, request: Request, who: Principal = Depends(require_role(Role.OWNER)),
                idempotency_key: str | None = IDEMPOTENCY_KEY):
    record = await commands(request).apply(who, body.registrant, body.machine, body.upload_map(),
                                           request_key=idempotency_key)
    return summary(record)


@router.post("/applications/{machine_id}/amendment", summary="Amend a rejected application and resubmit it")
async def amend(machine_id: str, body: ApplicationBody, request: Request,
                who: Principal = Depends(require_role(Role.OWNER))):
    return summary(await commands(request).amend(who, machine_id, body.registrant, body.machine, body.upload_map()))


@router.get("/applications", summary="Owner: my applications. Reviewers, auditors: the review queue, filtered")
async def list_applications(request: Request, response: Response,
                            who: Principal = Depends(require_role(Role.OWNER, *QUEUE_ROLES)),
                            district: DistrictFilter = None, status: TextFilter = None, late: bool | None = None,
                            limit: int = Query(100, ge=1, le=500), skip: Skip = 0, after: After = None):
    if who.role is Role.OWNER:
        return await queries(request).mine(who)
    found, cursor = await queries(request).search(who, district=district, status=status, late=late, limit=limit,
                                                  skip=skip, after=after)
    set_next_cursor(response, cursor)
    return await with_disclosure_flags(request.app.state.runtime.db, found)  # rule N1: flagged against disclosures


@router.get("/applications/{machine_id}", summary="One application with its history")
async def get_application(machine_id: str, request: Request,
                          who: Principal = Depends(require_role(Role.OWNER, *QUEUE_ROLES))):
    shown = view_for(await queries(request).record(machine_id), who)
    if who.role is Role.OWNER:
        return shown
    return (await with_disclosure_flags(request.app.state.runtime.db, [shown]))[0]


@router.post("/applications/{machine_id}/approval", summary="Approve: issue the code (rules C4, C5)")
async def approve(machine_id: str, request: Request, body: Decision | None = None,
                  who: Principal = Depends(require_role(*REVIEWERS))):
    expected = body.expected_version if body else None
    return summary(await commands(request).approve(who, machine_id, expected))


@router.post("/applications/{machine_id}/rejection", summary="Reject with reasons; the owner may amend")
async def reject(machine_id: str, body: Rejection, request: Request,
                 who: Principal = Depends(require_role(*REVIEWERS))):
    return summary(await commands(request).reject(who, machine_id, body.reasons, body.expected_version))


# machines ---------------------------------------------------------------------------------------
@router.get("/machines", summary="Owner: my machines. Staff: search by district, category, stage, status")
async def list_machines(request: Request, response: Response,
                        who: Principal = Depends(require_role(Role.OWNER, *SEARCH_ROLES)),
                        district: DistrictFilter = None, category: TextFilter = None, stage: TextFilter = None,
                        status: TextFilter = None, limit: int = Query(100, ge=1, le=500), skip: Skip = 0,
                        after: After = None):
    if who.role is Role.OWNER:
        return await queries(request).mine(who, issued_only=True)
    found, cursor = await queries(request).search(who, district=district, category=category, stage=stage,
                                                  status=status, issued_only=True, limit=limit, skip=skip, after=after)
    set_next_cursor(response, cursor)
    return found


@router.get("/machines/{code}", summary="One machine by code, as this role may see it")
async def get_machine(code: str, request: Request,
                      who: Principal = Depends(require_role(Role.OWNER, *GATE_VIEW_ROLES, *LOOKUP_ROLES))):
    return view_for(await queries(request).by_code(code), who, lookup=True)


async def _document_source(code: str, request: Request, who: Principal) -> MachineRecord:
    """The record from the write side, so the plate and card print the instant the code is issued."""
    record = await commands(request).load_by_code(code)
    if who.role is Role.OWNER:
        record.require_owner(who.account_id)
    else:  # the ecology bureau's reviewers and administrators of the machine's district
        require_registry_department(who)
        who.require_district(record.district)
    if record.status not in IN_FORCE:
        raise Conflict("编码未生效 (code not in force)", code="code_not_in_force",
                       details={"status": record.status})
    return record


@router.get("/machines/{code}/plate.pdf", summary="Code plate, 500 x 100 mm (rule P1)",
            response_class=Response)
async def plate(code: str, request: Request,
                who: Principal = Depends(require_role(Role.OWNER, Role.REVIEWER, Role.ADMIN))):
    record = await _document_source(code, request, who)
    return Response(render_plate(record.code), media_type="application/pdf")


@router.get("/machines/{code}/card.pdf", summary="Information card, 88 x 60 mm, with QR (rule P3)",
            response_class=Response)
async def card(code: str, request: Request,
               who: Principal = Depends(require_role(Role.OWNER, Role.REVIEWER, Role.ADMIN))):
    record = await _document_source(code, request, who)
    machine = record.machine
    data = CardData(
        code=record.code, category=CATEGORY_NAMES[machine.category], brand=machine.brand,
        model=machine.model, emission_stage=STAGE_NAMES[parse_code(record.code).stage],
        engine_power_kw=machine.rated_power_kw, district_name=DISTRICTS[machine.district],
        owner_name=record.registrant.name, issue_date=record.issued_on, reissue_count=record.reissue_count,
        qr_payload=qr_payload(record.code),
    )
    return Response(render_card(data), media_type="application/pdf")


@router.post("/machines/{code}/owner-change", summary="Owner: report a change of owner (rule C6); it takes "
                                                       "effect when the new owner accepts, within 30 days")
async def owner_change(code: str, body: OwnerChange, request: Request,
                       who: Principal = Depends(require_role(Role.OWNER))):
    return summary(await commands(request).request_owner_change(who, code, body.new_owner_mobile,
                                                                body.transferred_on))


@router.post("/machines/{code}/owner-change/acceptance", summary="The new owner accepts the machine (rule C6)")
async def owner_change_accepted(code: str, body: OwnerChangeAcceptance, request: Request,
                                who: Principal = Depends(require_role(Role.OWNER))):
    return summary(await commands(request).accept_owner_change(who, code, body.registrant))


@router.post("/machines/{code}/owner-change/cancellation", summary="The owner withdraws a pending owner change, "
                                                                    "or the new owner declines it")
async def owner_change_withdrawn(code: str, request: Request, who: Principal = Depends(require_role(Role.OWNER))):
    return summary(await commands(request).withdraw_owner_change(who, code))


@router.get("/owner-changes", summary="Owner: pending owner changes, offered to me or by me")
async def owner_changes(request: Request, who: Principal = Depends(require_role(Role.OWNER))):
    return await queries(request).owner_changes(who)


@router.post("/machines/{code}/cancellation", summary="Cancel the code, e.g. machine scrapped (rule C7)")
async def cancel(code: str, body: Cancellation, request: Request,
                 who: Principal = Depends(require_role(Role.OWNER, *REVIEWERS))):
    return summary(await commands(request).cancel(who, code, body.reason, body.occurred_on, body.note))


@router.post("/machines/{code}/plate-reissue", summary="Report a damaged plate for reissue (rule C8)")
async def plate_reissue(code: str, body: ReissueRequest, request: Request,
                        who: Principal = Depends(require_role(Role.OWNER))):
    return summary(await commands(request).request_plate_reissue(who, code, body.damaged_on, body.reason))


@router.post("/machines/{code}/plate-reissue/completion", summary="Staff: the plate was reissued")
async def plate_reissued(code: str, request: Request, who: Principal = Depends(require_role(*REVIEWERS))):
    return summary(await commands(request).reissue_plate(who, code))


@router.post("/machines/{code}/corrections", summary="Correct machine information (stage changes are re-reviewed)")
async def correct(code: str, body: Correction, request: Request, who: Principal = Depends(require_role(Role.OWNER))):
    return summary(await commands(request).correct(who, code, body.machine))


# other provinces and scanners ---------------------------------------------------------------------
@router.post("/external-machines", status_code=201, summary="Declare a machine coded by another province (rule C3)")
async def declare_external(body: ExternalDeclaration, request: Request,
                           who: Principal = Depends(require_role(Role.OWNER, *REVIEWERS))):
    result = await commands(request).declare_external(who, body.code, body.category.value if body.category else None)
    return JSONResponse(result, status_code=201 if result["created"] else 200)  # 200: declared before (rule C3)


@router.get("/verify", summary="Scanner check: code or QR payload -> valid, status, stage, category, province")
async def verify(request: Request, code: CodeFilter = None, qr: str | None = Query(None, max_length=400),
                 who: Principal = Depends(require_role(Role.SITE_ADMIN, Role.OWNER, *STAFF))):
    return await commands(request).current.verify(code=code, qr=qr)


@router.get("/internal/gate-facts", include_in_schema=False)
async def gate_facts(request: Request, code: str = Query(max_length=100),
                     who: Principal = Depends(require_role(Role.SERVICE))):
    """For the sites gate, before it refuses on its copy of the codes: the registry's own word, now."""
    try:
        parsed = parse_code(code)
    except MalformedCode as exc:
        raise ValidationFailed(exc.message, code="malformed_code", field="code") from None
    return await commands(request).current.gate_facts(parsed)
