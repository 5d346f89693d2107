"""HTTP API of a site's duties under /api/inspection/sites/{site}: coverage (rule D4), machine-management rules
(rule E5), project owner and contract clauses (rule D2), fuel receipts (rule E6)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.reference import Role

from ..app import access
from ..app.requests import ContractIn, FuelReceiptIn, ManagementRulesIn, ProjectOwnerIn, ReviewIn
from .routes import state

router = APIRouter(prefix="/api/inspection/sites/{site_code}", tags=["site duties"])


def site_path():  # a fresh parameter declaration per route (FastAPI binds each to its own name)
    return Path(..., min_length=3, max_length=40)


def item_path():
    return Path(..., min_length=1, max_length=40)


@router.get("/coverage", summary="rule D4: machines found on the site against its entry records")
async def coverage(site_code: str = site_path(), app=Depends(state),
                   who: Principal = Depends(require_role(*access.READERS))):
    return await app.duty_queries.coverage(who, site_code)


@router.get("/duties", summary="The site's management rules, project owner, contracts and fuel receipts")
async def duties(site_code: str = site_path(), app=Depends(state),
                 who: Principal = Depends(require_role(*access.READERS))):
    return await app.duty_queries.duties(who, site_code)


@router.post("/management-rules", status_code=201, summary="rule E5: the site admin uploads the management rules")
async def upload_rules(body: ManagementRulesIn, site_code: str = site_path(), app=Depends(state),
                       who: Principal = Depends(require_role(Role.SITE_ADMIN))):
    return await app.duty_commands.upload_rules(who, site_code, body)


@router.post("/management-rules/review", summary="rule E5: an inspector checks the management rules")
async def review_rules(body: ReviewIn, site_code: str = site_path(), app=Depends(state),
                       who: Principal = Depends(require_role(Role.INSPECTOR))):
    return await app.duty_commands.review_rules(who, site_code, body)


@router.put("/project-owner", summary="rule D2: the site admin records the project owner (建设单位)")
async def project_owner(body: ProjectOwnerIn, site_code: str = site_path(), app=Depends(state),
                        who: Principal = Depends(require_role(Role.SITE_ADMIN))):
    return await app.duty_commands.record_project_owner(who, site_code, body)


@router.post("/contracts", status_code=201, summary="rule D2: a contract with its NRMM-duty clauses")
async def upload_contract(body: ContractIn, site_code: str = site_path(), app=Depends(state),
                          who: Principal = Depends(require_role(Role.SITE_ADMIN))):
    return await app.duty_commands.upload_contract(who, site_code, body)


@router.post("/contracts/{contract_id}/review", summary="rule D2: an inspector checks a contract's clauses")
async def review_contract(body: ReviewIn, site_code: str = site_path(), contract_id: str = item_path(),
                          app=Depends(state),
                          who: Principal = Depends(require_role(Role.INSPECTOR))):
    return await app.duty_commands.review_contract(who, site_code, contract_id, body)


@router.post("/fuel-receipts", status_code=201, summary="rule E6: the site admin submits a fuel purchase receipt")
async def submit_receipt(body: FuelReceiptIn, site_code: str = site_path(), app=Depends(state),
                         who: Principal = Depends(require_role(Role.SITE_ADMIN))):
    return await app.duty_commands.submit_receipt(who, site_code, body)


@router.post("/fuel-receipts/{receipt_id}/decision",
             summary="rule E6: the site's supervision engineer accepts or rejects a receipt with a reason")
async def decide_receipt(body: ReviewIn, site_code: str = site_path(), receipt_id: str = item_path(),
                          app=Depends(state),
                         who: Principal = Depends(require_role(Role.SUPERVISION_ENGINEER))):
    return await app.duty_commands.decide_receipt(who, site_code, receipt_id, body)
