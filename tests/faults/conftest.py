"""Fault tests run on a broker and a database of their own (their own ports and data, started here with
deploy/native.sh from the same binaries), never on the shared ones: killing those would break every other test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, Infra
from tests.platform import free_port

NATIVE = str(ROOT / "deploy" / "native.sh")


@dataclass
class OwnInfra:
    infra: Infra
    env: dict[str, str]
    state: Path

    def kill(self, process: str) -> None:
        """kill -9 of ``kafka`` or ``ferretdb``."""
        os.kill(int((self.state / "run" / f"{process}.pid").read_text()), signal.SIGKILL)

    def start(self) -> None:
        """Start what is not running (after a kill)."""
        subprocess.run(["bash", NATIVE, "start"], env=self.env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def own_infra(infra) -> OwnInfra:
    subprocess.run(["bash", NATIVE, "install"], check=True)  # the shared binaries, built once
    state = ROOT / "var" / "faults" / uuid.uuid4().hex[:8]
    state.mkdir(parents=True)
    ports = {name: free_port() for name in ("KAFKA", "KAFKA_CONTROLLER", "FERRETDB", "PG")}
    env = {**os.environ, "NRMM_NATIVE_STATE_DIR": str(state),
           **{f"NRMM_NATIVE_{name}_PORT": str(port) for name, port in ports.items()}}
    own = OwnInfra(Infra(f"127.0.0.1:{ports['KAFKA']}", f"mongodb://127.0.0.1:{ports['FERRETDB']}/", "own"),
                   env, state)
    own.start()
    yield own
    subprocess.run(["bash", NATIVE, "stop"], env=env, capture_output=True)
    shutil.rmtree(state, ignore_errors=True)
