"""HTTP API of department views and rankings (rules D3, D6), under /api/inspection/views, with CSV and XLSX
exports holding the same figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from nrmm_kernel.auth import Principal, require_role

from ..app.views_export import ranking_tables, to_csv, to_xlsx, view_tables
from ..app.views_queries import VIEW_ROLES
from .routes import state

router = APIRouter(prefix="/api/inspection/views", tags=["department views and rankings"])

DepartmentFilter = Annotated[str | None, Query(max_length=20, description="default: your own (ecology: all)")]
DistrictScope = Annotated[str | None, Query(max_length=3, description="01-41 or all; default: your own")]
From = Annotated[date | None, Query(alias="from", description="default: 11 weeks before `to`; whole ISO weeks")]
To = Annotated[date | None, Query(alias="to", description="default: today")]
Format = Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
viewer = require_role(*VIEW_ROLES)


def _file(tables: dict, main: str, fmt: str, name: str) -> Response:
    if fmt == "csv":
        return Response(to_csv(tables, main), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(to_xlsx(tables, main), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.get("/departments", summary="A department's view of the sites it governs, for a period, with a weekly trend")
async def department_view(app=Depends(state), who: Principal = Depends(viewer), department: DepartmentFilter = None,
                          district: DistrictScope = None, date_from: From = None, date_to: To = None,
                          company: Annotated[str | None, Query(max_length=40, description="credit code")] = None):
    return await app.views_queries.department(who, department=department, district=district, date_from=date_from,
                                              date_to=date_to, company=company)


@router.get("/departments/export", summary="The same view as CSV or XLSX")
async def department_export(fmt: Format, app=Depends(state), who: Principal = Depends(viewer),
                            department: DepartmentFilter = None, district: DistrictScope = None,
                            date_from: From = None, date_to: To = None,
                            company: Annotated[str | None, Query(max_length=40)] = None):
    view = await app.views_queries.department(who, department=department, district=district, date_from=date_from,
                                              date_to=date_to, company=company)
    return _file(view_tables(view), "trend", fmt, f"view-{view['department']}-{view['district']}")


@router.get("/rankings", summary="rule D6: the companies (or sites) a department governs in a district, scored, "
                                 "with the formula, the weights and each body's indicators")
async def ranking(app=Depends(state), who: Principal = Depends(viewer),
                  by: Annotated[Literal["company", "site"], Query()] = "company", department: DepartmentFilter = None,
                  district: DistrictScope = None, date_from: From = None, date_to: To = None):
    return await app.views_queries.ranking(who, by=by, department=department, district=district,
                                           date_from=date_from, date_to=date_to)


@router.get("/rankings/export", summary="The same ranking as CSV or XLSX")
async def ranking_export(fmt: Format, app=Depends(state), who: Principal = Depends(viewer),
                         by: Annotated[Literal["company", "site"], Query()] = "company",
                         department: DepartmentFilter = None, district: DistrictScope = None,
                         date_from: From = None, date_to: To = None):
    ranked = await app.views_queries.ranking(who, by=by, department=department, district=district,
                                             date_from=date_from, date_to=date_to)
    return _file(ranking_tables(ranked), "ranking", fmt, f"ranking-{by}-{ranked['department']}-{ranked['district']}")


@router.get("/sites/{site_code}", summary="One site's figures, indicators and score (its department, its district)")
async def site_view(site_code: Annotated[str, Path(min_length=3, max_length=40)], app=Depends(state),
                    who: Principal = Depends(viewer), date_from: From = None, date_to: To = None):
    return await app.views_queries.site(who, site_code.strip().upper(), date_from, date_to)


@router.get("/companies/{credit_code}", summary="A construction company across the city (ecology bureau, auditors)")
async def company_view(credit_code: Annotated[str, Path(min_length=1, max_length=40)], app=Depends(state),
                       who: Principal = Depends(viewer), date_from: From = None, date_to: To = None):
    return await app.views_queries.company(who, credit_code, date_from, date_to)


@router.get("/scoring", summary="The scoring formula and weights (configuration data)")
async def scoring(app=Depends(state), who: Principal = Depends(viewer)):
    from ..domain.scoring import scoring_rules

    return scoring_rules(app.views_queries.weights)
