"""What left the platform with a person's data (#14): the registry asks before it records their erasure."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.reference import Role

router = APIRouter(prefix="/api/notifications/internal/personal", tags=["personal data"])


@router.get("/disclosures", include_in_schema=False)
async def disclosures(request: Request, subject_id: str = Query(min_length=1, max_length=64),
                      who: Principal = Depends(require_role(Role.SERVICE))) -> dict:
    return {"subject_id": subject_id, "disclosures": await request.app.state.disclosures.of(subject_id)}
