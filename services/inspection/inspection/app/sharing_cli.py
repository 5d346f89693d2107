"""Operator commands of data sharing (rules D5, N1), with a progress bar and a per-row error report:

    python -m inspection.main import-special-equipment FILE [--errors errors.csv]
    python -m inspection.main import-disclosures FILE [--errors errors.csv]

FILE is CSV, XLSX or JSON (by content and suffix). The command writes to the service's event store like the API
(the running service's relay publishes what it records); importing the same file again records nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path

from nrmm_kernel.envelope import Actor
from nrmm_kernel.errors import AppError
from nrmm_kernel.logging import configure_logging

from ..domain.special_equipment import DISCLOSURE_HEADERS, EQUIPMENT_HEADERS
from .sharing_files import detect_format, read_rows

COMMANDS = {"import-special-equipment": ("import_equipment", EQUIPMENT_HEADERS, False),
            "import-disclosures": ("import_disclosures", DISCLOSURE_HEADERS, True)}
OPERATOR = Actor(account_id="operator-cli", role="admin")


def count_rows(data: bytes, fmt: str) -> int | None:
    if fmt == "csv":
        return max(data.count(b"\n") - 1, 0) or None
    return None  # JSON and XLSX: the bar counts without a total


def run(command: str, argv: list[str], build_runtime: Callable) -> int:
    parser = argparse.ArgumentParser(prog=f"inspection.main {command}")
    parser.add_argument("file", type=Path)
    parser.add_argument("--errors", type=Path, help="write the refused rows' faults to this CSV file")
    args = parser.parse_args(argv)
    method, headers, facts = COMMANDS[command]
    if not args.file.is_file():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    data = args.file.read_bytes()
    fmt = detect_format(args.file.name, data[:8])

    async def main() -> int:
        from tqdm import tqdm

        runtime = build_runtime()
        configure_logging("WARNING", runtime.settings.log_json, runtime.settings.service_name)
        runtime.run_background = False
        await runtime.start()
        try:
            with tqdm(total=count_rows(data, fmt), unit="row", desc=args.file.name, file=sys.stderr) as bar:
                importer = getattr(runtime.sharing, method)
                report = await importer(read_rows(data, fmt, headers, facts=facts), source="cli", actor=OPERATOR,
                                        progress=bar.update)
        except AppError as refused:
            print(f"refused: {refused.message} ({refused.code})", file=sys.stderr)
            return 2
        finally:
            await runtime.stop()
        errors = report.pop("errors")
        print(json.dumps(report, ensure_ascii=False))
        for entry in errors[:20]:
            print(f"row {entry['row']}: {entry['field']}: {entry['code']}: {entry['message']}", file=sys.stderr)
        if args.errors is not None:
            with args.errors.open("w", newline="", encoding="utf-8-sig") as out:
                writer = csv.DictWriter(out, fieldnames=["row", "field", "code", "message"])
                writer.writeheader()
                writer.writerows(errors)
        return 0 if not report["rejected"] else 1

    return asyncio.run(main())
