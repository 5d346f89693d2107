"""Department views and rankings (rules D3, D6): p50 / p99 of the view and ranking queries at a given size, and how
fast the refresher recomputes sites. Prints figures; asserts nothing.

    uv run python bench/views_bench.py [--sites 2000] [--machines-per-site 20] [--weeks 12] [--queries 200]

It writes, into a database of its own (dropped at the end unless --keep), the documents the inspection service's
projectors keep (who governs each site, each stay, checks, violations, refusals) for ``--sites`` sites spread over
the 41 districts and the six category departments (a fifth of them state-owned), ``--machines-per-site`` stays each
over the last ``--weeks`` weeks, a check for every other machine and a violation for every fifth check; then runs the
views refresher over every site (the read models as the live service keeps them), and times the queries the API
runs (``ViewsQueries``, in process: the database lookups and the arithmetic, without HTTP) for a department in a
district, the city, a ranking of companies and of sites over twelve weeks, and one site. On the same 2 cores as the
database, so the figures are upper bounds of the queries alone.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import endpoints, line  # noqa: E402

from inspection.app.views_queries import ViewsQueries  # noqa: E402
from inspection.app.views_refresh import ViewsRefresher  # noqa: E402
from inspection.domain.scoring import DEFAULT_WEIGHTS  # noqa: E402
from inspection.projections.own import CHECKS, VIOLATIONS  # noqa: E402
from inspection.projections.views_facts import VIEW_REFUSALS, VIEW_SITES, VIEW_STAYS, governed_by  # noqa: E402
from nrmm_kernel.auth import Principal  # noqa: E402
from nrmm_kernel.clock import today_in_chongqing  # noqa: E402
from nrmm_kernel.reference import DISTRICTS, Department, Role  # noqa: E402
from nrmm_kernel.runtime import mongo_client  # noqa: E402

DEPARTMENTS = ["housing", "housing", "housing", "transport", "water", "urban", "planning", "economy"]
CATEGORIES = {"housing": "building", "transport": "transport_works", "water": "water_works",
              "urban": "municipal_maintenance", "planning": "ecological_restoration",
              "economy": "industrial_enterprise"}
STAGES, COLOURS = ["2", "3", "4", "4", "D"], {"2": "yellow", "3": "blue", "4": "blue", "D": "green"}


def documents(n_sites: int, per_site: int, weeks: int, rng: random.Random) -> dict[str, list[dict]]:
    today = today_in_chongqing()
    now = datetime.now(UTC)
    docs: dict[str, list[dict]] = {VIEW_SITES: [], VIEW_STAYS: [], CHECKS: [], VIOLATIONS: [], VIEW_REFUSALS: []}
    districts = sorted(DISTRICTS)
    companies = [f"9150000{i:010d}X"[:18] for i in range(max(n_sites // 5, 1))]
    for s in range(n_sites):
        code = f"B-{s:06d}"
        department = DEPARTMENTS[s % len(DEPARTMENTS)]
        site = {"_id": code, "site_code": code, "name": f"工地 {s}", "district": districts[s % len(districts)],
                "category": CATEGORIES[department], "status": "in_construction", "competent_department": department,
                "confirmed_department": department, "state_ownership_confirmed": s % 5 == 0,
                "company": {"name": f"建筑公司 {s % len(companies)}", "credit_code": companies[s % len(companies)]}}
        site["governed_by"] = governed_by(site)
        docs[VIEW_SITES].append(site)
        for m in range(per_site):
            day = today - timedelta(days=rng.randrange(weeks * 7))
            stage = rng.choice(STAGES)
            docs[VIEW_STAYS].append({"_id": f"{code}-{m}", "site_code": code, "machine_key": f"K{s}-{m}",
                                     "category": "excavator", "stage": stage, "colour": COLOURS[stage],
                                     "entered_on": day.isoformat(), "inside": m % 3 != 0})
            if m % 2:
                continue
            check_id = f"{code}-C{m}"
            docs[CHECKS].append({"_id": check_id, "site_code": code, "checked_on": day.isoformat(),
                                 "coded": rng.random() < 0.9, "entry_registered": rng.random() < 0.8})
            if m % 10 == 0:
                opened = now - timedelta(days=(today - day).days)
                closed = rng.random() < 0.6
                docs[VIOLATIONS].append({
                    "_id": f"{check_id}-uncoded", "site_code": code, "opened_at": opened.isoformat(),
                    "due_at": (opened + timedelta(days=10)).isoformat(), "status": "closed" if closed else "open",
                    "overdue": not closed and rng.random() < 0.5,
                    "closed_at": (opened + timedelta(days=rng.randrange(20))).isoformat() if closed else None})
        if s % 7 == 0:
            docs[VIEW_REFUSALS].append({"_id": f"refusal-{code}", "site_code": code, "reason": "high_emission_in_zone",
                                        "day": today.isoformat()})
    return docs


async def timed(label: str, queries: int, call) -> None:
    times = []
    for _ in range(queries):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{label:<48} {queries:>5} queries  p50 {statistics.median(times):7.1f} ms  p99 {p99:7.1f} ms  "
          f"max {times[-1]:7.1f} ms", flush=True)


async def main(args) -> None:
    _, mongodb_url = endpoints()
    client = mongo_client(mongodb_url)
    db = client[f"bench_views_{uuid.uuid4().hex[:8]}"]
    rng = random.Random(1)
    try:
        docs = documents(args.sites, args.machines_per_site, args.weeks, rng)
        refresher = ViewsRefresher(db)
        await refresher.ensure_indexes()
        await db[VIEW_STAYS].create_index("site_code")
        await db[VIEW_REFUSALS].create_index("site_code")
        await db[CHECKS].create_index("site_code")
        await db[VIOLATIONS].create_index("site_code")
        started = time.perf_counter()
        written = 0
        for name, rows in docs.items():
            for i in range(0, len(rows), 5000):
                await db[name].insert_many(rows[i:i + 5000], ordered=False)
                written += len(rows[i:i + 5000])
        line("fact documents written", written, time.perf_counter() - started, "docs")
        started = time.perf_counter()
        sites = await refresher.refresh_everything()
        line("sites recomputed (and their departments, companies)", sites, time.perf_counter() - started, "sites")

        queries = ViewsQueries(db, DEFAULT_WEIGHTS)
        viewer = Principal(account_id="bench", role=Role.DEPARTMENT_VIEWER, department=Department.HOUSING,
                           district="04")
        city = Principal(account_id="bench", role=Role.DEPARTMENT_VIEWER, department=Department.HOUSING)
        ecology = Principal(account_id="bench", role=Role.AUDITOR)
        site = next(d["site_code"] for d in docs[VIEW_SITES] if d["district"] == "04" and
                    "housing" in d["governed_by"])
        kwargs = {"date_from": None, "date_to": None}
        print(f"sites {args.sites}, stays {len(docs[VIEW_STAYS])}, checks {len(docs[CHECKS])}, "
              f"violations {len(docs[VIOLATIONS])}; a ranking covers the last 12 weeks", flush=True)
        await timed("view: housing, district 04", args.queries, lambda: queries.department(
            viewer, department=None, district=None, company=None, **kwargs))
        await timed("view: housing, the city", args.queries, lambda: queries.department(
            city, department=None, district="all", company=None, **kwargs))
        await timed("view: all departments, district 04 (ecology)", args.queries, lambda: queries.department(
            ecology, department="all", district="04", company=None, **kwargs))
        await timed("ranking: companies, housing, district 04", args.queries, lambda: queries.ranking(
            viewer, by="company", department=None, district=None, **kwargs))
        await timed("ranking: sites, housing, district 04", args.queries, lambda: queries.ranking(
            viewer, by="site", department=None, district=None, **kwargs))
        await timed("ranking: sites, all departments, district 04", args.queries, lambda: queries.ranking(
            ecology, by="site", department="all", district="04", **kwargs))
        await timed("one site", args.queries, lambda: queries.site(viewer, site, None, None))
    finally:
        if not args.keep:
            await client.drop_database(db.name)
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--machines-per-site", type=int, default=20)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    asyncio.run(main(parser.parse_args()))
