"""Data sharing (issue 18): import of special-equipment rows (rule D5) on the real database. Prints figures;
asserts nothing.

    uv run python bench/sharing_bench.py [--rows 100000] [--matched 1000]

A CSV of ``rows`` forklift records is written, read back and imported the way
``python -m inspection.main import-special-equipment FILE`` imports it (validated row by row, one stream per record,
the write-side index, the matching against the registry's applications, a follow-up task per uncoded machine);
then imported again (every row unchanged). Figures: rows per second of each pass, and the process's peak
resident memory (ru_maxrss) before and after. A database of its own, dropped at the end.

Endpoints: NRMM_KAFKA_BOOTSTRAP and NRMM_MONGODB_URL, else the native infrastructure (deploy/native.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from inspection.app.sharing import SharingImports
from inspection.app.sharing_files import read_rows
from inspection.domain.rules import serial_key
from inspection.domain.special_equipment import EQUIPMENT_HEADERS
from inspection.projections.sharing import APPLICATIONS
from nrmm_kernel.envelope import Actor
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.logging import configure_logging
from nrmm_kernel.runtime import mongo_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import endpoints, line  # noqa: E402

DISTRICTS = [f"{n:02d}" for n in range(1, 42)]
KINDS = ["叉车", "起重机", "叉车", "叉车", "场内车辆"]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["登记证编号", "设备种类", "使用单位", "品牌", "型号", "出厂编号", "区县"])
        for i in range(rows):
            writer.writerow([f"TS{i:07d}", KINDS[i % len(KINDS)], f"重庆某物流有限公司{i % 997}", "合力", "CPCD30",
                             f"HL{i:08d}", DISTRICTS[i % len(DISTRICTS)]])


async def main(rows: int, matched: int) -> None:
    _, mongo = endpoints()
    configure_logging("WARNING", True, "bench")
    client = mongo_client(mongo)
    name = f"bench_sharing_{uuid.uuid4().hex[:8]}"
    db = client[name]
    try:
        store = EventStore(db)
        await store.ensure_indexes()
        imports = SharingImports(db, store)
        await imports.ensure_indexes()
        await db[APPLICATIONS].create_index("serial_key")
        # the registry's applications the inspection service's copy holds: ``matched`` of the rows are coded
        await db[APPLICATIONS].insert_many([{"_id": f"machine-M{i}", "registry_machine_id": f"M{i}",
                                             "serial_key": serial_key("合力", f"HL{i:08d}"), "status": "issued",
                                             "code": None} for i in range(0, rows, max(rows // matched, 1))])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "special-equipment.csv"
            started = time.perf_counter()
            write_csv(path, rows)
            print(f"CSV of {rows} rows: {path.stat().st_size / 1024 / 1024:.1f} MiB, written in "
                  f"{time.perf_counter() - started:.1f} s; peak memory so far {peak_mib():.0f} MiB", flush=True)
            data = path.read_bytes()
        started = time.perf_counter()
        parsed = sum(1 for _ in read_rows(data, "csv", EQUIPMENT_HEADERS))
        line("read and map CSV rows", parsed, time.perf_counter() - started, "rows")
        actor = Actor(account_id="bench", role="admin")
        for label in ("import (new records)", "import again (unchanged)"):
            started = time.perf_counter()
            report = await imports.import_equipment(read_rows(data, "csv", EQUIPMENT_HEADERS), source="cli",
                                                    actor=actor)
            line(label, report["rows"], time.perf_counter() - started, "rows")
            report.pop("errors")
            print(f"  {report}; peak memory {peak_mib():.0f} MiB", flush=True)
    finally:
        await client.drop_database(name)
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--matched", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.matched))
