"""HTTP API of data sharing, under /api/inspection (rules D5, N1, N2): special-equipment records and their
follow-up tasks, manufacturers' disclosures (public), spot checks of new and sold machines."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.fields import DistrictFilter, Skip
from nrmm_kernel.idempotency import IDEMPOTENCY_KEY
from nrmm_kernel.keyset import After, set_next_cursor

from ..app.sharing_access import IMPORTERS, READERS, SPOT_READERS, require_importer
from ..app.sharing_files import detect_format, read_rows, records_rows
from ..app.spot_checks import SpotCheckIn
from ..domain.special_equipment import DISCLOSURE_HEADERS, EQUIPMENT_HEADERS

router = APIRouter(prefix="/api/inspection", tags=["data sharing"])
MAX_PUSHED = 5000


def state(request: Request):
    return request.app.state


class Pushed(BaseModel):
    """Records pushed by a system: each is checked on its own, and refused ones are reported by their index."""

    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(max_length=MAX_PUSHED)


def _pushed(body: Pushed, headers: dict[str, str], facts: bool = False):
    return records_rows(body.records, headers, facts)


async def _file_rows(file: UploadFile, headers: dict[str, str], facts: bool = False):
    data = await file.read()
    return read_rows(data, detect_format(file.filename, data[:8]), headers, facts=facts)


def _source(who: Principal, default: str) -> str:
    return "push" if who.role.value == "system_client" else default


# special equipment (rule D5) -----------------------------------------------------------------------------------
@router.post("/special-equipment", status_code=202,
             summary="rule D5: market supervision pushes special-equipment records (JSON): taken at once, imported "
                     "in the background (GET /imports/{id}); the same records again change nothing")
async def push_equipment(body: Pushed, app=Depends(state), who: Principal = Depends(require_role(*IMPORTERS))):
    require_importer(who)
    return await app.import_jobs.submit(who, "special_equipment", _pushed(body, EQUIPMENT_HEADERS),
                                        _source(who, "push"))


@router.post("/special-equipment/imports", status_code=202,
             summary="rule D5: import special-equipment records from a CSV, XLSX or JSON file (in the background)")
async def import_equipment(file: UploadFile = File(...), app=Depends(state),
                           who: Principal = Depends(require_role(*IMPORTERS))):
    require_importer(who)
    rows = await _file_rows(file, EQUIPMENT_HEADERS)
    return await app.import_jobs.submit(who, "special_equipment", rows, _source(who, "upload"))


@router.get("/imports/{import_id}", summary="An import's state and, once done, its report (each refused row named) "
                                            "and the position it wrote")
async def import_state(import_id: str, app=Depends(state), who: Principal = Depends(require_role(*IMPORTERS))):
    require_importer(who)
    return await app.import_jobs.get(who, import_id[:40])


@router.get("/special-equipment/follow-ups", summary="rule D5: special equipment without a code, per district, "
                                                     "with the user unit to contact")
async def follow_ups(district: DistrictFilter = None, state_: Literal["open", "closed"] | None = Query(None,
                     alias="state"), limit: int = Query(100, ge=1, le=500), skip: Skip = 0, after: After = None,
                     app=Depends(state), who: Principal = Depends(require_role(*READERS))):
    return await app.sharing_queries.follow_ups(who, district=district, state=state_, limit=limit, skip=skip,
                                                after=after)


@router.get("/special-equipment/follow-ups/progress", summary="rule D5: follow-ups open and closed per district")
async def follow_up_progress(district: DistrictFilter = None, app=Depends(state),
                             who: Principal = Depends(require_role(*READERS))):
    return await app.sharing_queries.progress(who, district=district)


@router.get("/special-equipment/{registration_number}", summary="One special-equipment record with its follow-up")
async def equipment_record(registration_number: str, app=Depends(state),
                           who: Principal = Depends(require_role(*READERS))):
    return await app.sharing_queries.equipment_record(who, registration_number[:40])


# manufacturers' disclosures (rule N1) ----------------------------------------------------------------------------
@router.post("/disclosures", status_code=202,
             summary="rule N1: push manufacturers' model disclosures (JSON), imported in the background")
async def push_disclosures(body: Pushed, app=Depends(state), who: Principal = Depends(require_role(*IMPORTERS))):
    require_importer(who)
    return await app.import_jobs.submit(who, "disclosures", _pushed(body, DISCLOSURE_HEADERS, facts=True),
                                        _source(who, "push"))


@router.post("/disclosures/imports", status_code=202,
             summary="rule N1: import model disclosures from a CSV, XLSX or JSON file (columns test_<name>: test "
                     "facts), in the background")
async def import_disclosures(file: UploadFile = File(...), app=Depends(state),
                             who: Principal = Depends(require_role(*IMPORTERS))):
    require_importer(who)
    rows = await _file_rows(file, DISCLOSURE_HEADERS, facts=True)
    return await app.import_jobs.submit(who, "disclosures", rows, _source(who, "upload"))


@router.get("/disclosures", summary="rule N1, public (no sign-in): a model's disclosed emission facts")
async def disclosure(brand: str = Query(..., min_length=1, max_length=100),
                     model: str = Query(..., min_length=1, max_length=100), app=Depends(state)):
    return await app.sharing_queries.disclosure(brand, model)


# spot checks (rule N2) -----------------------------------------------------------------------------------------
@router.post("/spot-checks", status_code=201, summary="rule N2: record a spot check of a new or sold machine")
async def record_spot_check(body: SpotCheckIn, app=Depends(state), idempotency_key: str | None = IDEMPOTENCY_KEY,
                            who: Principal = Depends(require_role(*SPOT_READERS))):
    return await app.spot_checks.record(who, body, idempotency_key)


@router.get("/spot-checks", summary="rule N2: spot checks, newest first")
async def spot_checks(response: Response, district: DistrictFilter = None,
                      manufacturer: str | None = Query(None, max_length=100), limit: int = Query(100, ge=1, le=500),
                      skip: Skip = 0, after: After = None, app=Depends(state),
                      who: Principal = Depends(require_role(*SPOT_READERS))):
    found, cursor = await app.sharing_queries.spot_checks(who, district=district, manufacturer=manufacturer,
                                                          limit=limit, skip=skip, after=after)
    set_next_cursor(response, cursor)
    return found


@router.get("/spot-checks/by-manufacturer", summary="rule N2: spot-check results per manufacturer")
async def spot_results(district: DistrictFilter = None, app=Depends(state),
                       who: Principal = Depends(require_role(*SPOT_READERS))):
    return await app.sharing_queries.by_manufacturer(who, district=district)
