"""HTTP API of the inspection service, under /api/inspection. Every route names the roles it allows; the handlers
check district, department, site and ownership."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import Forbidden
from nrmm_kernel.idempotency import IDEMPOTENCY_KEY
from nrmm_kernel.reference import Role

from ..app import access
from ..app.requests import CheckIn, RectificationIn, ReviewIn, ScanIn, SmokeReading, WithdrawalIn
from ..app.uploads import UploadKind

router = APIRouter(prefix="/api/inspection", tags=["inspection"])


def state(request: Request):
    return request.app.state


@router.post("/uploads", status_code=201, summary="Upload an evidence photo or document (JPEG, PNG or PDF by content)")
async def upload(kind: UploadKind = Form(...), file: UploadFile = File(...), app=Depends(state),
                 who: Principal = Depends(require_role(*access.UPLOADERS))):
    return await app.inspection_uploads.save(who.account_id, kind, file)


@router.get("/uploads/{upload_id}", summary="Read an upload: its uploader, and readers of what it is evidence of")
async def read_upload(upload_id: str, app=Depends(state),
                      who: Principal = Depends(require_role(*{*access.READERS, *access.UPLOADERS}))):
    meta, data = await app.inspection_uploads.read(upload_id)
    if not access.can_read_upload(who, meta):
        raise Forbidden("无权查看该文件 (not allowed to read this upload)", code="upload_not_allowed")
    return Response(content=data, media_type=meta["content_type"])


@router.post("/scans", summary="rule D4: what a scanned card shows an inspector (nothing recorded)")
async def scan(body: ScanIn, app=Depends(state), who: Principal = Depends(require_role(Role.INSPECTOR))):
    return await app.inspection_queries.scan(who, body.site_code, body.qr, body.code)


@router.post("/checks", status_code=201, summary="rule D4: record a check of one machine at a site")
async def record_check(body: CheckIn, app=Depends(state), idempotency_key: str | None = IDEMPOTENCY_KEY,
                       who: Principal = Depends(require_role(Role.INSPECTOR))):
    return await app.inspection_checks.record_check(who, body, idempotency_key)


@router.get("/checks", summary="Checks the caller may read")
async def list_checks(site: str | None = Query(None, max_length=40), app=Depends(state),
                      who: Principal = Depends(require_role(*access.READERS))):
    return await app.inspection_queries.checks(who, site_code=site)


@router.get("/checks/{check_id}", summary="One check")
async def get_check(check_id: str, app=Depends(state), who: Principal = Depends(require_role(*access.READERS))):
    return await app.inspection_queries.check(who, check_id)


@router.get("/violations", summary="Violations the caller may read")
async def list_violations(site: str | None = Query(None, max_length=40), code: str | None = Query(None, max_length=40),
                          status: Literal["open", "rectification_submitted", "closed", "withdrawn"] | None = None,
                          overdue: bool | None = None, app=Depends(state),
                          who: Principal = Depends(require_role(*access.READERS))):
    return await app.inspection_queries.violations(who, site_code=site, status=status, code=code, overdue=overdue)


@router.get("/violations/{violation_id}", summary="One violation with its history")
async def get_violation(violation_id: str, app=Depends(state),
                        who: Principal = Depends(require_role(*access.READERS))):
    return await app.inspection_queries.violation(who, violation_id)


@router.post("/violations/{violation_id}/rectifications", status_code=201,
             summary="rule D1: the owner (or the site) reports what was done, with evidence")
async def rectify(violation_id: str, body: RectificationIn, app=Depends(state),
                  who: Principal = Depends(require_role(*access.RECTIFIERS))):
    return await app.inspection_violations.rectify(who, violation_id, body)


@router.post("/violations/{violation_id}/review", summary="An inspector accepts or rejects a rectification")
async def review(violation_id: str, body: ReviewIn, app=Depends(state),
                 who: Principal = Depends(require_role(Role.INSPECTOR))):
    return await app.inspection_violations.review(who, violation_id, body)


@router.post("/violations/{violation_id}/retests", status_code=201,
             summary="rule D1: a smoke retest after rectification; a pass closes the violation")
async def retest(violation_id: str, body: SmokeReading, app=Depends(state),
                 who: Principal = Depends(require_role(Role.INSPECTOR))):
    return await app.inspection_violations.retest(who, violation_id, body)


@router.post("/violations/{violation_id}/withdrawal",
             summary="An inspector withdraws a violation opened in error, with the reason (nothing is deleted)")
async def withdraw(violation_id: str, body: WithdrawalIn, app=Depends(state),
                   who: Principal = Depends(require_role(Role.INSPECTOR))):
    return await app.inspection_violations.withdraw(who, violation_id, body)


@router.get("/offences", summary="Repeat offences counted per machine, owner or company")
async def offences(by: Literal["machine", "owner", "company"] = "machine", app=Depends(state),
                   who: Principal = Depends(require_role(*access.STAFF_READERS))):
    return await app.inspection_queries.repeat_offences(who, by)
