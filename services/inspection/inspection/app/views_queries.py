"""Department views and rankings (rules D3, D6): key lookups on the refresher's read models (app/views_refresh.py).

Who sees what (deny by default): a department's viewers and administrators see their own department's view in their
district (city level: any district and the city); the ecology bureau, which leads everything, and auditors see every
department's view and the whole city's (department ``all``); market supervision governs no sites. A ranking covers
one department in one district (the bodies a district office evaluates)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.auth import Principal
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.errors import Forbidden, NotFound, ValidationFailed
from nrmm_kernel.reference import DEPARTMENT_NAMES, DISTRICTS, Department, Role

from ..domain.scoring import add, empty, indicators, score, scoring_rules, week_start, weeks_between
from ..projections.views_facts import ALL
from .views_figures import add_rows, unrow
from .views_refresh import COMPANY_FIGURES, DEPARTMENT_WEEKS, DEPARTMENTS, SITE_FIGURES

VIEW_ROLES = (Role.DEPARTMENT_VIEWER, Role.ADMIN, Role.AUDITOR)
# the departments that govern sites (rule D3); market supervision governs none, the ecology bureau reads them all
GOVERNING = (Department.HOUSING, Department.TRANSPORT, Department.WATER, Department.URBAN, Department.PLANNING,
             Department.ECONOMY, Department.STATE_ASSETS)
VIEW_DEPARTMENTS = (ALL, *(d.value for d in GOVERNING))
DEFAULT_WEEKS = 12
MAX_WEEKS = 106
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def sees_everything(who: Principal) -> bool:
    return who.department is Department.ECOLOGY or who.role is Role.AUDITOR


def department_name(department: str) -> str:
    return "全部场地" if department == ALL else DEPARTMENT_NAMES[Department(department)]


def district_name(district: str) -> str:
    return "全市" if district == ALL else DISTRICTS[district]


def scope(who: Principal, department: str | None, district: str | None) -> tuple[str, str]:
    """The (department, district) a caller asked for, or their own; refused outside what they may see."""
    if who.role not in VIEW_ROLES:
        raise Forbidden("无权查看部门视图 (role not allowed)", code="role_not_allowed")
    own = who.department.value if who.department else None
    if department is not None and department not in VIEW_DEPARTMENTS and department not in set(Department):
        raise ValidationFailed("主管部门不存在 (unknown department)", code="unknown_department", field="department")
    if department is None:
        department = ALL if sees_everything(who) else own
    if not sees_everything(who) and department != own:
        raise Forbidden("只能查看本部门的视图 (another department)", code="another_department", field="department")
    if department not in VIEW_DEPARTMENTS:
        raise Forbidden("本部门不主管场地 (governs no sites)", code="no_governed_sites", field="department")
    if district is None:
        district = who.district or ALL
    if district == ALL:
        if not who.city_level:
            raise Forbidden("只能查看本区县 (outside your jurisdiction)", code="outside_jurisdiction", field="district")
    elif district not in DISTRICTS:
        raise ValidationFailed("区县代码不存在 (01-41, all)", code="unknown_district", field="district")
    elif not who.can_see_district(district):
        raise Forbidden("只能查看本区县 (outside your jurisdiction)", code="outside_jurisdiction", field="district")
    return department, district


def period(date_from: date | None, date_to: date | None) -> tuple[date, date, list[str]]:
    """Whole ISO weeks: by default the last twelve, up to this one."""
    for name, value in (("from", date_from), ("to", date_to)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValidationFailed(f"日期须在 {EARLIEST} 至 {LATEST} 之间", code="date_out_of_range", field=name)
    date_to = date_to or today_in_chongqing()
    date_from = date_from or date_to - timedelta(weeks=DEFAULT_WEEKS - 1)
    if date_to < date_from:
        raise ValidationFailed("结束日期不能早于开始日期 (to before from)", code="dates_reversed", field="to")
    if (date_to - date_from).days >= MAX_WEEKS * 7:
        raise ValidationFailed(f"统计期间最长 {MAX_WEEKS} 周", code="period_too_long", field="from")
    weeks = weeks_between(date_from, date_to)
    return week_start(weeks[0]), week_start(weeks[-1]) + timedelta(days=6), weeks


def judged(figures: dict, weights: dict) -> dict:
    ind = indicators(figures)
    return {"figures": figures, "indicators": ind, "score": score(ind, weights)}


class ViewsQueries:
    def __init__(self, db: AsyncDatabase, weights: dict[str, float]):
        self.db = db
        self.weights = weights

    async def _weeks(self, department: str, district: str, weeks: list[str]) -> list[dict]:
        """The period's weeks of one department in one district: a lookup by key per week (concurrent), so a query
        costs the same however long the history."""
        collection = self.db[DEPARTMENT_WEEKS]
        docs = await asyncio.gather(*(collection.find_one({"_id": f"{department}:{district}:{w}"}) for w in weeks))
        return [doc for doc in docs if doc is not None]

    def _period(self, start: date, end: date, weeks: list[str]) -> dict:
        return {"from": start.isoformat(), "to": end.isoformat(), "weeks": weeks}

    async def department(self, who: Principal, *, department: str | None, district: str | None,
                         date_from: date | None, date_to: date | None, company: str | None) -> dict:
        """rule D3: what a department sees of the sites it governs, for a period, with a weekly trend."""
        department, district = scope(who, department, district)
        start, end, weeks = period(date_from, date_to)
        if company is not None and district == ALL:
            raise ValidationFailed("按施工单位筛选须指定区县 (district required)", code="district_required",
                                   field="district")
        summary = await self.db[DEPARTMENTS].find_one({"_id": f"{department}:{district}"}) or {}
        if company is not None:  # the weeks' rows: one lookup by department and district
            rows = {doc["week"]: (doc.get("companies") or {}).get(company)
                    for doc in await self._weeks(department, district, weeks)}
            by_week = {week: unrow(values) for week, values in rows.items() if values}
        else:  # the weeks' totals are in the summary: one lookup by key
            by_week = summary.get("weeks") or {}
        trend, total = [], empty()
        for week in weeks:
            figures = by_week.get(week) or empty()
            total = add(total, figures)
            trend.append({"week": week, "starts_on": week_start(week).isoformat(), **judged(figures, self.weights)})
        body = {"department": department, "department_name": department_name(department), "district": district,
                "district_name": district_name(district), "company": company,
                "period": self._period(start, end, weeks), "sites": summary.get("sites", 0),
                "sites_by_status": summary.get("sites_by_status", {}),
                "machines_now": summary.get("now") or {"inside": 0, "by_category": {}, "by_stage": {},
                                                       "by_colour": {}},
                **judged(total, self.weights), "trend": trend, "scoring": scoring_rules(self.weights)}
        if company is not None:
            body["company_name"] = (summary.get("company_names") or {}).get(company)
            body.pop("machines_now")  # kept per department, not per company
        return body

    async def ranking(self, who: Principal, *, by: str, department: str | None, district: str | None,
                      date_from: date | None, date_to: date | None) -> dict:
        """rule D6: the construction companies (or sites) a department governs in a district, scored."""
        department, district = scope(who, department, district)
        if district == ALL:
            raise ValidationFailed("排名须指定区县 (district required)", code="district_required", field="district")
        start, end, weeks = period(date_from, date_to)
        docs, summary = await asyncio.gather(self._weeks(department, district, weeks),
                                             self.db[DEPARTMENTS].find_one({"_id": f"{department}:{district}"}))
        names = (summary or {}).get("company_names" if by == "company" else "site_names") or {}
        sums: dict[str, list[int]] = {}
        for doc in docs:
            for key, values in ((doc or {}).get("companies" if by == "company" else "sites") or {}).items():
                sums[key] = add_rows(sums.get(key), values)
        rows = []
        for key, values in sums.items():
            ident = {"credit_code": key} if by == "company" else {"site_code": key}
            rows.append({**ident, "name": names.get(key), **judged(unrow(values), self.weights)})
        rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["name"] or "",
                                 r.get("credit_code") or r.get("site_code")))
        for rank, r in enumerate(rows, 1):
            r["rank"] = rank if r["score"] is not None else None
        return {"by": by, "department": department, "department_name": department_name(department),
                "district": district, "district_name": district_name(district),
                "period": self._period(start, end, weeks), "scoring": scoring_rules(self.weights), "rows": rows}

    async def site(self, who: Principal, site_code: str, date_from: date | None, date_to: date | None) -> dict:
        doc = await self.db[SITE_FIGURES].find_one({"_id": site_code})
        if doc is None:
            raise NotFound("场地不存在或尚无统计 (no such site)", code="site_not_found", field="site_code")
        if who.role not in VIEW_ROLES:
            raise Forbidden("无权查看部门视图 (role not allowed)", code="role_not_allowed")
        governs = who.department is not None and who.department.value in (doc.get("governed_by") or [])
        if not (sees_everything(who) or governs) or not who.can_see_district(doc.get("district")):
            raise Forbidden("该场地不归本部门、本区县主管 (outside your jurisdiction)", code="outside_jurisdiction")
        return self._entity(doc, {k: doc.get(k) for k in (
            "site_code", "name", "district", "category", "status", "company", "competent_department",
            "confirmed_department", "state_owned", "governed_by")}, date_from, date_to)

    async def company(self, who: Principal, credit_code: str, date_from: date | None, date_to: date | None) -> dict:
        """A company across every site and department: the ecology bureau's and auditors' at city level."""
        if who.role not in VIEW_ROLES:
            raise Forbidden("无权查看部门视图 (role not allowed)", code="role_not_allowed")
        if not (sees_everything(who) and who.city_level):
            raise Forbidden("施工单位全市视图限市级生态环境部门与审计 (city level only)", code="outside_jurisdiction")
        doc = await self.db[COMPANY_FIGURES].find_one({"_id": credit_code})
        if doc is None:
            raise NotFound("施工单位不存在或尚无统计 (no such company)", code="company_not_found", field="credit_code")
        return self._entity(doc, {"credit_code": credit_code, "name": doc.get("name"), "sites": doc.get("sites")},
                            date_from, date_to)

    def _entity(self, doc: dict, head: dict, date_from: date | None, date_to: date | None) -> dict:
        start, end, weeks = period(date_from, date_to)
        stored = doc.get("weeks") or {}
        trend, total = [], empty()
        for week in weeks:
            figures = stored.get(week) or empty()
            total = add(total, figures)
            trend.append({"week": week, "starts_on": week_start(week).isoformat(), **judged(figures, self.weights)})
        return {**head, "period": self._period(start, end, weeks), "machines_now": doc.get("now"),
                **judged(total, self.weights), "trend": trend, "scoring": scoring_rules(self.weights)}
