"""Import jobs (rules D5, N1): a push or an upload is taken at once (202 with its id) and imported in the
background, so a large import never outlasts an HTTP timeout; ``GET /imports/{id}`` answers its state and report.

A job is one document holding its rows, written before the answer: nothing taken is lost. The runner (supervised,
``/readyz``: ``runners.sharing-imports``) takes queued jobs in order; a job found ``running`` at start was cut
short by a crash and is run again from its first row; the import is idempotent, so rows recorded before the crash
count as unchanged the second time (the report says ``resumed``). The report keeps the position the job wrote
(``position``: send it as ``X-Min-Position`` to read what it recorded).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import ulid
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from nrmm_kernel.aio import wait_any
from nrmm_kernel.auth import Principal
from nrmm_kernel.envelope import Actor, utcnow
from nrmm_kernel.errors import AppError, Forbidden, NotFound
from nrmm_kernel.logging import get_logger
from nrmm_kernel.positions import collect_written
from nrmm_kernel.reference import Role
from nrmm_kernel.supervisor import Health

from .sharing import SharingImports

log = get_logger("sharing_jobs")
JOBS = "sharing_import_jobs"
KINDS = {"special_equipment": "import_equipment", "disclosures": "import_disclosures"}
MAX_JOB_ROWS = 20_000  # larger files: the command line (python -m inspection.main import-special-equipment FILE)


class TooManyRows(AppError):
    status = 413
    code = "too_many_rows"


class ImportJobs:
    def __init__(self, db: AsyncDatabase, imports: SharingImports, service: str, clock: Callable = utcnow):
        self.jobs = db[JOBS]
        self.imports = imports
        self.service = service
        self.clock = clock
        self.health = Health("sharing-imports", needs_broker=False)
        self.wake = asyncio.Event()

    async def ensure_indexes(self) -> None:
        await self.jobs.create_index([("state", ASCENDING)])

    async def submit(self, who: Principal, kind: str, rows, source: str) -> dict:
        # as one JSON text: a pushed key may be anything ("$where", "a.b"), which a document field may not, and
        # FerretDB keeps no arrays of arrays
        taken = [[number, row] for number, row in rows]
        if len(taken) > MAX_JOB_ROWS:
            raise TooManyRows(f"一次最多导入 {MAX_JOB_ROWS} 行，更大的文件请用命令行导入 (too many rows)",
                              field="file", details={"limit": MAX_JOB_ROWS})
        job = {"_id": str(ulid.ULID()), "kind": kind, "source": source, "state": "queued",
               "rows": json.dumps(taken, ensure_ascii=False), "row_count": len(taken), "account_id": who.account_id,
               "role": who.role.value,
               "department": who.department.value if who.department else None, "created_at": self.clock(),
               "runs": 0}
        await self.jobs.insert_one(job)
        self.wake.set()
        return shown(job)

    async def get(self, who: Principal, import_id: str) -> dict:
        job = await self.jobs.find_one({"_id": import_id}, projection={"rows": 0})
        if job is None:
            raise NotFound("导入任务不存在 (no such import)", code="import_not_found", field="import_id")
        mine = job["account_id"] == who.account_id
        if not mine and not (who.role is Role.ADMIN and who.district is None):
            raise Forbidden("只能查看自己提交的导入 (not your import)", code="not_your_import")
        return shown(job)

    async def run_once(self) -> int:
        """Every job waiting (or cut short by a crash), oldest first; the number run."""
        done = 0
        for job in await self.jobs.find({"state": {"$in": ["queued", "running"]}},
                                        projection={"rows": 0}).sort("_id", ASCENDING).to_list(100):
            await self._run(job["_id"])
            done += 1
        return done

    async def _run(self, job_id: str) -> None:
        job = await self.jobs.find_one({"_id": job_id})
        resumed = job["state"] == "running"
        await self.jobs.update_one({"_id": job_id}, {"$set": {"state": "running", "started_at": self.clock()},
                                                     "$inc": {"runs": 1}})
        written = collect_written()
        actor = Actor(account_id=job["account_id"], role=job["role"])
        importer = getattr(self.imports, KINDS[job["kind"]])
        report = await importer(((n, r) for n, r in json.loads(job["rows"])), source=job["source"], actor=actor,
                                progress=lambda _: self.health.ok())
        if resumed:
            report["resumed"] = True
        position = f"{self.service}:{max(written)}" if written else None
        await self.jobs.update_one({"_id": job_id}, {"$set": {"state": "done", "report": report,
                                                              "position": position, "finished_at": self.clock()},
                                                     "$unset": {"rows": ""}})
        log.info("import.done", import_id=job_id, kind=job["kind"], rows=report["rows"],
                 recorded=report["recorded"], rejected=report["rejected"])

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            self.wake.clear()
            await self.run_once()
            self.health.ok()
            await wait_any(stop, self.wake, seconds=poll_seconds)


def shown(job: dict) -> dict:
    out = {k: v for k, v in job.items() if k not in ("_id", "rows")}
    out["import_id"] = job["_id"]
    return out
