"""The views' refresher (rules D3, D6): consumes the change marks the projections leave (projections/views_facts.py)
and recomputes, whole, the read models of each entity a change touched:

- a site's figures per week (``view_site_figures``), from the site's own documents;
- each department × district × week (``view_department_weeks``: the totals and a row per site and company) and
  department × district summary (``view_departments``: sites, machines inside, the weeks' totals) the site counts
  in, before and after the change, from the figures of the sites of that department and district; the city
  (district ``all``, a summary) from the districts' summaries;
- the site's company (``view_company_figures``), from the figures of its sites.

Nothing is a counter: the same documents give the same read models, so a duplicate or a replayed event, or a
refresher that died halfway and starts again, changes nothing. Marks are deleted, by id, only after every read
model they touch was written: a change arriving meanwhile has its own mark and is taken on the next pass. One
refresher per service process (it is the only writer of these read models)."""

from __future__ import annotations

import asyncio

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aio import sleep_or_stop
from nrmm_kernel.logging import get_logger
from nrmm_kernel.supervisor import Health

from ..domain.scoring import add, empty
from ..projections.own import CHECKS, VIOLATIONS
from ..projections.views_facts import (
    ALL,
    CHANGES_FROM_SITES,
    CHANGES_OWN,
    VIEW_REFUSALS,
    VIEW_SITES,
    VIEW_STAYS,
)
from .views_figures import add_now, add_rows, row, site_figures

log = get_logger("views")
SITE_FIGURES = "view_site_figures"
COMPANY_FIGURES = "view_company_figures"
DEPARTMENT_WEEKS = "view_department_weeks"
DEPARTMENTS = "view_departments"
_CHECK_FIELDS = {"checked_on": 1, "coded": 1, "entry_registered": 1}
_VIOLATION_FIELDS = {"status": 1, "overdue": 1, "opened_at": 1, "closed_at": 1, "due_at": 1}


def _strip(doc: dict | None) -> dict | None:
    return None if doc is None else {k: v for k, v in doc.items() if k != "_id"}


class ViewsRefresher:
    def __init__(self, db: AsyncDatabase, batch_size: int = 500):
        self.db = db
        self.batch_size = batch_size
        self.health = Health("views", needs_broker=False)

    async def ensure_indexes(self) -> None:
        await self.db[SITE_FIGURES].create_index([("governed_by", ASCENDING), ("district", ASCENDING)])
        await self.db[SITE_FIGURES].create_index([("company_credit_code", ASCENDING)])
        await self.db[DEPARTMENT_WEEKS].create_index([("department", ASCENDING), ("district", ASCENDING)])
        await self.db[DEPARTMENT_WEEKS].create_index([("department", ASCENDING), ("week", ASCENDING)])
        await self.db[DEPARTMENTS].create_index([("department", ASCENDING)])

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        """A pass whenever marks wait (at once again while they keep coming), else every ``poll_seconds``; an error
        ends the run and the runtime's supervisor starts it again with backoff."""
        while not stop.is_set():
            done = await self.run_once()
            self.health.ok(lag=await self.pending())
            if done < self.batch_size:
                await sleep_or_stop(stop, poll_seconds)

    async def pending(self) -> int:
        return sum([await self.db[name].count_documents({}) for name in (CHANGES_FROM_SITES, CHANGES_OWN)])

    async def run_once(self) -> int:
        """One batch of marks: the sites they name recomputed, then everything those sites count in."""
        marks = {name: await self.db[name].find({}, limit=self.batch_size).to_list()
                 for name in (CHANGES_FROM_SITES, CHANGES_OWN)}
        site_codes: set[str] = set()
        for mark in (*marks[CHANGES_FROM_SITES], *marks[CHANGES_OWN]):
            code = mark.get("site_code")
            if code is None and mark.get("check_id"):
                check = await self.db[CHECKS].find_one({"_id": mark["check_id"]}, {"site_code": 1})
                code = (check or {}).get("site_code")  # written before its mark, by the same projector
            if code:
                site_codes.add(code)
        await self.refresh_sites(site_codes)
        for name, rows in marks.items():
            if rows:
                await self.db[name].delete_many({"_id": {"$in": [m["_id"] for m in rows]}})
        return sum(len(rows) for rows in marks.values())

    async def refresh_sites(self, site_codes) -> None:
        keys: set[tuple[str, str]] = set()
        companies: set[str] = set()
        limit = asyncio.Semaphore(4)  # sites are independent documents: a few at once

        async def one(code: str):
            async with limit:
                return await self.refresh_site(code)

        for before, after in await asyncio.gather(*(one(code) for code in sorted(site_codes))):
            for doc in (before, after):
                if doc and doc.get("district"):
                    keys |= {(department, doc["district"]) for department in doc.get("governed_by", [])}
                    if doc.get("company_credit_code"):
                        companies.add(doc["company_credit_code"])
        await self.refresh_rollups(keys, companies)

    async def refresh_rollups(self, keys: set[tuple[str, str]], companies: set[str]) -> None:
        touched: set[str] = set()
        for department, district in sorted(keys):
            if await self.refresh_department(department, district):
                touched.add(department)
        for department in sorted(touched):
            await self.refresh_city(department)
        for credit_code in sorted(companies):
            await self.refresh_company(credit_code)

    # one site ------------------------------------------------------------------------------------------
    async def refresh_site(self, code: str) -> tuple[dict | None, dict | None]:
        before = await self.db[SITE_FIGURES].find_one({"_id": code})
        facts = await self.db[VIEW_SITES].find_one({"_id": code})
        if facts is None:  # not yet known (its registration is on its way): its own mark will come
            return before, before
        by_site = {"site_code": code}
        figures = site_figures(*await asyncio.gather(
            self.db[VIEW_STAYS].find(by_site).to_list(),
            self.db[VIEW_REFUSALS].find(by_site).to_list(),
            self.db[CHECKS].find(by_site, _CHECK_FIELDS).to_list(),
            self.db[VIOLATIONS].find(by_site, _VIOLATION_FIELDS).to_list()))
        after = {key: facts.get(key) for key in (
            "site_code", "name", "district", "category", "status", "company", "competent_department",
            "confirmed_department", "state_ownership", "governed_by")}
        after.update(state_owned=bool(facts.get("state_ownership_confirmed")),
                     company_credit_code=(facts.get("company") or {}).get("credit_code"), **figures)
        await self.db[SITE_FIGURES].replace_one({"_id": code}, after, upsert=True)
        return before, after

    # a department in a district ------------------------------------------------------------------------------
    async def refresh_department(self, department: str, district: str) -> bool:
        """Recomputes every week of one department × district from its sites' figures, and its summary (with the
        weeks' totals: a view is one lookup); whether anything changed."""
        weeks: dict[str, dict] = {}
        summary = {"_id": f"{department}:{district}", "department": department, "district": district, "sites": 0,
                   "sites_by_status": {}, "now": {}, "site_names": {}, "company_names": {}, "weeks": {}}
        async for site in self.db[SITE_FIGURES].find({"governed_by": department, "district": district}):
            summary["sites"] += 1
            status = site.get("status") or "unknown"
            summary["sites_by_status"][status] = summary["sites_by_status"].get(status, 0) + 1
            summary["now"] = add_now(summary["now"], site.get("now") or {})
            summary["site_names"][site["site_code"]] = site.get("name")
            company = site.get("company") or {}
            credit = company.get("credit_code") or "-"
            summary["company_names"][credit] = company.get("name")
            for week, figures in (site.get("weeks") or {}).items():
                doc = weeks.setdefault(week, {"figures": empty(), "sites": {}, "companies": {}})
                doc["figures"] = add(doc["figures"], figures)
                doc["sites"][site["site_code"]] = row(figures)
                doc["companies"][credit] = add_rows(doc["companies"].get(credit), row(figures))
        existing = {doc["week"]: doc async for doc in
                    self.db[DEPARTMENT_WEEKS].find({"department": department, "district": district})}
        touched = set()
        for week in sorted(set(weeks) | set(existing)):
            key = f"{department}:{district}:{week}"
            if week not in weeks:
                await self.db[DEPARTMENT_WEEKS].delete_one({"_id": key})
                touched.add(week)
                continue
            doc = {"department": department, "district": district, "week": week, **weeks[week]}
            if _strip(existing.get(week)) != doc:
                await self.db[DEPARTMENT_WEEKS].replace_one({"_id": key}, doc, upsert=True)
                touched.add(week)
        summary["weeks"] = {week: doc["figures"] for week, doc in sorted(weeks.items())}
        before = await self.db[DEPARTMENTS].find_one({"_id": summary["_id"]})
        if before != summary:
            await self.db[DEPARTMENTS].replace_one({"_id": summary["_id"]}, summary, upsert=True)
        return bool(touched) or before != summary

    async def refresh_city(self, department: str) -> None:
        """The city (district ``all``): the districts' summaries summed, week by week (totals only)."""
        city = {"_id": f"{department}:{ALL}", "department": department, "district": ALL, "sites": 0,
                "sites_by_status": {}, "now": {}, "weeks": {}}
        async for doc in self.db[DEPARTMENTS].find({"department": department}):
            if doc["district"] == ALL:
                continue
            city["sites"] += doc["sites"]
            for status, n in doc["sites_by_status"].items():
                city["sites_by_status"][status] = city["sites_by_status"].get(status, 0) + n
            city["now"] = add_now(city["now"], doc["now"])
            for week, figures in (doc.get("weeks") or {}).items():
                city["weeks"][week] = add(city["weeks"].get(week, empty()), figures)
        city["weeks"] = dict(sorted(city["weeks"].items()))
        await self.db[DEPARTMENTS].replace_one({"_id": city["_id"]}, city, upsert=True)

    # a company -----------------------------------------------------------------------------------------------
    async def refresh_company(self, credit_code: str) -> None:
        weeks: dict[str, dict] = {}
        sites, name, now = [], None, {}
        async for site in self.db[SITE_FIGURES].find({"company_credit_code": credit_code}):
            name = (site.get("company") or {}).get("name") or name
            sites.append({"site_code": site["site_code"], "name": site.get("name"), "district": site.get("district"),
                          "governed_by": site.get("governed_by")})
            now = add_now(now, site.get("now") or {})
            for week, figures in (site.get("weeks") or {}).items():
                weeks[week] = add(weeks.get(week, empty()), figures)
        if not sites:
            await self.db[COMPANY_FIGURES].delete_one({"_id": credit_code})
            return
        total = empty()
        for figures in weeks.values():
            total = add(total, figures)
        await self.db[COMPANY_FIGURES].replace_one({"_id": credit_code}, {
            "credit_code": credit_code, "name": name, "sites": sorted(sites, key=lambda s: s["site_code"]),
            "now": now, "weeks": dict(sorted(weeks.items())), "total": total}, upsert=True)

    async def refresh_everything(self) -> int:
        """Every site again (after a read model was rebuilt by hand, say); returns how many."""
        codes = [doc["_id"] async for doc in self.db[VIEW_SITES].find({}, {"_id": 1})]
        await self.refresh_sites(codes)
        return len(codes)
