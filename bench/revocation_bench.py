"""Revocation latency (issue #22): from an administrator's disabling (the 200 answer) to the first 401 for the
account's access token, at the gateway and at a service behind it (the registry, directly). Prints figures;
asserts nothing.

    uv run python bench/revocation_bench.py [--accounts 10]

It starts the gateway, the registry and the notifications service as real processes on the real broker and
database (NRMM_KAFKA_BOOTSTRAP / NRMM_MONGODB_URL, else deploy/native.sh), makes staff accounts, signs each in,
disables it and polls every 20 ms. The promise is 5 s: relay + consumer + the revocation cache (2 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, endpoints  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.conftest import Infra  # noqa: E402
from tests.platform import start_platform  # noqa: E402

ADMIN, ADMIN_PASSWORD, PASSWORD = "bench-admin", "Bench-Admin-Passw0rd", "Bench-Staff-Passw0rd-1"
POLL = 0.02


def until_refused(http: httpx.Client, path: str, bearer: dict, started: float) -> float:
    while http.get(path, headers=bearer).status_code != 401:
        if time.monotonic() - started > 30:
            return float("inf")
        time.sleep(POLL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
    kafka, mongo = endpoints()
    platform = start_platform(Infra(kafka, mongo, "bench"), ["notifications", "registry", "gateway"], {
        "NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN, "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD})
    try:
        gateway, registry = platform.client("gateway"), platform.client("registry")
        token = gateway.post("/api/auth/token", data={"username": ADMIN, "password": ADMIN_PASSWORD}).json()
        admin = {"Authorization": f"Bearer {token['access_token']}"}
        at_gateway, at_registry = [], []
        for i in range(args.accounts):
            username = f"bench-{time.time_ns() % 10**8}-{i}"
            made = gateway.post("/api/auth/staff", headers=admin, json={
                "username": username, "password": PASSWORD, "role": "inspector", "department": "ecology",
                "district": "04"}).json()
            signed_in = gateway.post("/api/auth/token", data={"username": username, "password": PASSWORD}).json()
            bearer = {"Authorization": f"Bearer {signed_in['access_token']}"}
            assert registry.get("/api/registry/applications", headers=bearer).status_code != 401
            gateway.post(f"/api/auth/accounts/{made['account_id']}/disable", headers=admin, json={"reason": "bench"})
            started = time.monotonic()
            at_gateway.append(until_refused(gateway, "/api/auth/me", bearer, started))
            at_registry.append(until_refused(registry, "/api/registry/applications", bearer, started))
        for label, seconds in (("gateway", at_gateway), ("registry (a service behind)", at_registry)):
            print(f"disabling -> 401 at {label:<28} p50 {statistics.median(seconds):5.2f} s   "
                  f"max {max(seconds):5.2f} s   ({len(seconds)} accounts)", flush=True)
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
