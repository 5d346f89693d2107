"""One contract per event: the registry's MachineInfoCorrected went from schema v1 (``requires_review``) to v2
(``reviewed_fields``), with an upcaster in the registry's contract. A v1 event in the registry's store (written as
it was before the change) is upcast wherever it is read: by the registry's aggregate, and by the sites gate's copy of
the codes, live and after a rebuild from the registry's topic. Real processes, broker and database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from nrmm_kernel.codes import parse_code
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.reference import Role
from nrmm_kernel.runtime import mongo_client
from registry.contracts import MachineInfoCorrected, events
from tests.conftest import ROOT
from tests.sites.conftest import reported


async def _append_v1_correction(infra, namespace: str, machine_id: str, corrected: dict) -> int:
    """A stage correction as the registry stored it under schema v1; returns its position."""
    client = mongo_client(infra.mongodb_url)
    try:
        store = EventStore(client[f"{namespace}_registry"])
        stream = f"machine-{machine_id}"
        version = await store.stream_version(stream)
        v2 = MachineInfoCorrected(machine=corrected, changed_fields=["emission_stage"],
                                  reviewed_fields=["emission_stage"])
        envelope = events.wrap(v2, stream_id=stream, stream_version=version + 1)
        v1 = envelope.model_copy(update={"schemaversion": 1, "data": {
            "machine": corrected, "changed_fields": ["emission_stage"], "requires_review": True}})
        commit = await store.append(stream, version, [v1])
        return commit.position
    finally:
        await client.close()


def test_a_v1_event_is_upcast_by_the_registry_and_by_the_gate_live_and_after_a_rebuild(platform, infra):
    p = platform
    owner = p.token(Role.OWNER, "owner-contract")
    code = p.issue_code(owner="owner-contract", district="04", stage="4")
    site, _ = p.register_site(district="04")
    gate = p.token(Role.SITE_ADMIN, f"gate-{site}", site_id=site)
    record = p.registry.get(f"/api/registry/machines/{code}", headers=owner).json()
    corrected = {**record["machine"], "emission_stage": "3"}
    position = asyncio.run(_append_v1_correction(infra, p.platform.namespace, record["machine_id"], corrected))
    waits = {"X-Min-Position": f"registry:{position}"}

    # the registry's aggregate folds the v1 event: the correction waits for review, and approving it issues the
    # corrected stage's code with the same serial
    queue = p.registry.get(f"/api/registry/applications/{record['machine_id']}", headers={**owner, **waits})
    assert queue.json()["status"] == "correction_review"
    assert queue.json()["history"][-1]["reviewed_fields"] == ["emission_stage"]
    scan = p.sites.post(f"/api/sites/sites/{site}/scans", json={"code": code}, headers={**gate, **waits})
    assert scan.json()["admitted"] and scan.json()["colour"] == "blue"  # the old code stays in force meanwhile

    approved = p.registry.post(f"/api/registry/applications/{record['machine_id']}/approval",
                               headers=p.token(Role.REVIEWER, "rev-contract"), json={})
    assert approved.status_code == 200, approved.text
    new_code = approved.json()["code"]
    assert new_code == parse_code(code).with_stage("3").text

    def decisions(headers: dict) -> tuple[str, str | None, bool]:
        old = p.sites.post(f"/api/sites/sites/{site}/scans", json={"code": code}, headers=headers).json()
        new = p.sites.post(f"/api/sites/sites/{site}/scans", json={"code": new_code}, headers=headers).json()
        return old["reason"], old["current_code"], new["admitted"]

    live = decisions({**gate, "X-Min-Position": approved.headers["X-Position"]})
    assert live == ("code_superseded", new_code, True)

    env = {**os.environ, "NRMM_KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "NRMM_MONGODB_URL": infra.mongodb_url,
           "NRMM_NAMESPACE": p.platform.namespace, "NRMM_JWT_SECRET": p.platform.secret, "NRMM_SERVICE_NAME": "sites",
           "NRMM_LOG_LEVEL": "WARNING"}
    rebuilt = subprocess.run([sys.executable, "-m", "sites.main", "rebuild", "registry_codes"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert decisions(gate) == live  # the copy replayed from the topic, v1 event included, decides the same

    entered = p.sites.post(f"/api/sites/sites/{site}/entries", headers=gate,
                           json={"code": new_code, **reported()})
    assert entered.status_code == 201 and entered.json()["machine"]["stage"] == "3", entered.text
