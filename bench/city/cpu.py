"""Where a phase's CPU went: the CPU seconds of each process of the stack (FerretDB, PostgreSQL, Kafka, each
service, the benchmark's client) between two snapshots, from /proc (Linux)."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _role(cmdline: list[str]) -> str | None:
    if not cmdline:
        return None
    text, program = " ".join(cmdline), Path(cmdline[0].split()[0]).name
    if program.startswith("postgres"):  # the server and its backends ("postgres: user db ...")
        return "postgresql"
    if program.startswith("ferretdb"):
        return "ferretdb"
    if "kafka.Kafka" in text:
        return "kafka"
    for arg in cmdline:
        if arg.endswith(".main:create_app"):
            return arg.split(".", 1)[0]  # a service: registry, sites ...
        if arg == "bare_app:app":
            return "bare endpoint"
    if any(arg.endswith("scale_bench.py") for arg in cmdline):
        return "benchmark client"
    return None


def snapshot() -> Counter[str]:
    """CPU seconds so far of each role (processes that ended before the snapshot are not counted)."""
    seconds: Counter[str] = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        role = _role([c for c in cmdline if c])
        if role is None:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after the command name, which may contain spaces
        seconds[role] += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return seconds


def per_item(before: Counter[str], after: Counter[str], items: int) -> dict[str, float]:
    """CPU milliseconds per item of each role over the phase, largest first."""
    spent = {role: (after[role] - before[role]) * 1000 / max(1, items) for role in after}
    return {role: round(ms, 2) for role, ms in sorted(spent.items(), key=lambda kv: -kv[1]) if ms > 0}


def transactions() -> int | None:
    """PostgreSQL transactions so far in FerretDB's database (each FerretDB command is one or more): None without
    the native stack's PostgreSQL (NRMM_NATIVE_PG_PORT) or psql."""
    port = os.environ.get("NRMM_NATIVE_PG_PORT", "5433")
    try:
        out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "ferretdb", "-tAc",
                              "select xact_commit + xact_rollback from pg_stat_database where datname = 'ferretdb'"],
                             capture_output=True, text=True, timeout=10, check=True)
        return int(out.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def transactions_per_item(before: int | None, after: int | None, items: int) -> float | None:
    return None if before is None or after is None else round((after - before) / max(1, items), 1)
