"""What the benchmarks share: the infrastructure endpoints and how figures are printed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def endpoints() -> tuple[str, str]:
    """NRMM_KAFKA_BOOTSTRAP and NRMM_MONGODB_URL, else the native infrastructure (deploy/native.sh)."""
    kafka, mongo = os.environ.get("NRMM_KAFKA_BOOTSTRAP"), os.environ.get("NRMM_MONGODB_URL")
    if kafka and mongo:
        return kafka, mongo
    subprocess.run([str(ROOT / "deploy/native.sh"), "start"], check=True)
    out = subprocess.run([str(ROOT / "deploy/native.sh"), "env"], check=True, capture_output=True, text=True).stdout
    values = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
    return values["NRMM_KAFKA_BOOTSTRAP"], values["NRMM_MONGODB_URL"]


def line(label: str, count: int, seconds: float, unit: str) -> None:
    print(f"{label:<48} {count:>7} {unit:<8} in {seconds:6.2f} s  = {count / seconds:9.0f} {unit}/s", flush=True)
