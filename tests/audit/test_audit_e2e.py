"""Issue #21's acceptance, end to end on the real broker and database with every service as a real process: an
auditor reads a machine's cross-service timeline after an application, issuance, two gate entries, an owner change
and an inspection; folds it as of a time between the entries and sees the first owner; rebuilds a district's
review queue as of a past time; verifies every store. Plus who may read what, and the bad input answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from nrmm_kernel.reference import Department, Role
from tests.conftest import ROOT
from tests.inspection.conftest import ENV, SERVICES, Inspection
from tests.platform import start_platform
from tests.registry.fixtures import registrant
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def city(infra):
    running = start_platform(infra, SERVICES, ENV)
    yield Inspection(running, infra)
    running.stop()


def now() -> str:
    return datetime.now(UTC).isoformat()


def cli(city, service: str, *args: str, namespace: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NRMM_KAFKA_BOOTSTRAP": city.infra.kafka_bootstrap, "NRMM_MONGODB_URL": city.infra.mongodb_url,
           "NRMM_NAMESPACE": namespace or city.platform.namespace, "NRMM_JWT_SECRET": city.platform.secret,
           "NRMM_SERVICE_NAME": service, "NRMM_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", f"{service}.main", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def story(city) -> dict:
    """Application, issuance, entry, (a moment), exit and second entry, owner change, inspection: district 05."""
    first_owner = "audit-owner-1"
    owner = city.token(Role.OWNER, first_owner)
    body = city.application(owner, district="05", stage="3")
    applied = city.registry.post("/api/registry/applications", json=body, headers=owner)
    assert applied.status_code == 201, applied.text
    machine_id = applied.json()["machine_id"]
    before_review = now()
    approved = city.registry.post(f"/api/registry/applications/{machine_id}/approval",
                                  headers=city.token(Role.REVIEWER, "audit-reviewer"), json={})
    assert approved.status_code == 200, approved.text
    code = approved.json()["code"]
    site, gate = city.register_site(district="05", street="新山村街道")
    city.enter(site, gate, code)
    between_entries = now()
    left = city.sites.post(f"/api/sites/sites/{site}/exits", headers=gate, json={"code": code})
    assert left.status_code == 201, left.text
    city.enter(site, gate, code)
    new_owner_id, new_mobile, new_owner = city.register_owner()
    asked = city.registry.post(f"/api/registry/machines/{code}/owner-change", headers=owner,
                               json={"new_owner_mobile": new_mobile, "transferred_on": "2026-11-20"})
    assert asked.status_code == 200, asked.text
    accepted = city.registry.post(f"/api/registry/machines/{code}/owner-change/acceptance", headers=new_owner,
                                  json={"registrant": registrant("李四")})
    assert accepted.status_code == 200, accepted.text
    inspector = city.inspector("05", account="audit-insp-05")
    city.scanned(inspector, site, code)
    checked = city.api.post("/api/inspection/checks", headers=inspector,
                            json={"site_code": site, "code": code, "plate": "affixed", "card_carried": True})
    assert checked.status_code == 201, checked.text
    return {"code": code, "machine_id": machine_id, "first_owner": first_owner, "new_owner": new_owner_id,
            "before_review": before_review, "between_entries": between_entries, "site": site}


def auditor(city, district: str | None = None) -> dict:
    return city.token(Role.AUDITOR, f"auditor-{district or 'city'}", district=district)


def test_an_auditor_reads_a_machines_timeline_across_services(city, story):
    wanted = ["CodeRequested", "CodeIssued", "MachineEntered", "MachineExited", "MachineEntered",
              "OwnerChangeRequested", "OwnerChanged", "MachineChecked"]
    last: list = [None]

    def complete():  # the inspection service finds a machine's checks in its read model: it may lag a moment
        last[0] = answer = city.gateway.get(f"/api/audit/machines/{story['code']}/timeline", headers=auditor(city))
        return answer.json() if answer.status_code == 200 and \
            [e["type"] for e in answer.json()["events"]] == wanted else None

    timeline = wait_until(complete, timeout=30, what="the whole timeline",
                          describe=lambda _: [e["type"] for e in last[0].json().get("events", [])])
    assert timeline["machine_id"] == story["machine_id"] and timeline["codes"] == [story["code"]]
    assert [e["service"] for e in timeline["events"]] == ["registry"] * 2 + ["sites"] * 3 + ["registry"] * 2 + [
        "inspection"]
    issued = timeline["events"][1]
    assert issued["actor"] == "audit-reviewer" and issued["role"] == "reviewer" and issued["correlation_id"]
    assert issued["position"] >= 1 and len(issued["commit_hash"]) == 64

    # by its record id too, and the same machine's stream on its own
    by_id = city.gateway.get(f"/api/audit/machines/{story['machine_id']}/timeline", headers=auditor(city))
    assert by_id.status_code == 200 and len(by_id.json()["events"]) >= 7
    stream = city.gateway.get(f"/api/audit/registry/streams/machine-{story['machine_id']}/events",
                              headers=auditor(city, "05"))
    assert stream.status_code == 200 and [e["version"] for e in stream.json()["events"]] == [1, 2, 3, 4]


def test_folded_as_of_a_time_between_the_entries_the_first_owner_holds_it(city, story):
    path = f"/api/audit/registry/streams/machine-{story['machine_id']}/state"
    then = city.gateway.get(path, params={"as_of": story["between_entries"]}, headers=auditor(city))
    assert then.status_code == 200, then.text
    assert then.json()["state"]["owner_account_id"] == story["first_owner"] and then.json()["version"] == 2
    today = city.gateway.get(path, headers=auditor(city)).json()
    assert today["state"]["owner_account_id"] == story["new_owner"]
    first = city.gateway.get(path, params={"version": 1}, headers=auditor(city)).json()
    assert first["state"]["status"] == "submitted"
    presence = city.gateway.get(f"/api/audit/sites/streams/presence-{story['code'][2:]}/state",
                                params={"as_of": story["between_entries"]}, headers=auditor(city))
    assert presence.status_code == 200 and list(presence.json()["state"]["inside"]) == [story["site"]]


def test_the_district_review_queue_as_it_stood_before_the_review(city, story):
    done = cli(city, "registry", "as-of", "machine_records", "--at", story["before_review"], "--where", "district=05",
               "--where", "status=submitted")
    assert done.returncode == 0, done.stderr
    queue = [json.loads(line) for line in done.stdout.splitlines()]
    assert f"machine-{story['machine_id']}" in [doc["_id"] for doc in queue]
    assert "as of" in done.stderr  # the progress bar
    now_queue = cli(city, "registry", "as-of", "machine_records", "--at", now(), "--where", "district=05",
                    "--where", "status=submitted")
    assert now_queue.returncode == 0 and story["machine_id"] not in now_queue.stdout
    leftovers = cli(city, "registry", "projections")
    assert "asof__" not in leftovers.stdout  # the scratch collections are dropped


def test_every_store_verifies_from_the_api_and_the_cli(city, story):
    checkpoint = cli(city, "registry", "checkpoint")
    assert checkpoint.returncode == 0, checkpoint.stderr
    answer = city.gateway.get("/api/audit/verify", headers=auditor(city))
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True, answer.text
    assert answer.json()["services"]["registry"]["checkpoints_checked"] >= 1
    for service in ("registry", "sites", "inspection"):
        done = cli(city, service, "verify")
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["first_break"] is None


def test_export_import_and_digest(city, story, tmp_path):
    out = tmp_path / "registry.jsonl"
    assert cli(city, "registry", "export", "--out", str(out)).returncode == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["specversion"] == "1.0" and len(lines[0]["commithash"]) == 64 and lines[0]["storeposition"] == 1
    streamed = city.gateway.get("/api/audit/registry/export", params={"stream": f"machine-{story['machine_id']}"},
                                headers=auditor(city, "05"))
    assert streamed.status_code == 200 and len(streamed.text.splitlines()) == 4
    source = cli(city, "registry", "digest").stdout
    regulator = f"{city.platform.namespace}r"  # a fresh namespace: the regulator's copy
    imported = cli(city, "registry", "import", str(out), namespace=regulator)
    assert imported.returncode == 0, imported.stderr
    copy = cli(city, "registry", "digest", namespace=regulator).stdout
    assert cli(city, "registry", "verify", "--no-topic", namespace=regulator).returncode == 0
    again = cli(city, "registry", "import", str(out), namespace=regulator)
    assert again.returncode == 2 and "not empty" in again.stderr
    digests = {line.split("\t")[0]: line.split("\t")[2] for line in source.splitlines()}
    copied = {line.split("\t")[0]: line.split("\t")[2] for line in copy.splitlines()}
    assert digests == copied and digests, (source, copy)


def test_only_auditors_read_and_each_read_is_recorded(city, story):
    stream = f"/api/audit/registry/streams/machine-{story['machine_id']}/events"
    reviewer = city.token(Role.REVIEWER, "rev-nosy")
    for path in (stream, "/api/audit/verify", f"/api/audit/machines/{story['code']}/timeline",
                 "/api/audit/registry/log", "/api/audit/sites/log"):
        assert city.gateway.get(path, headers=reviewer).status_code == 403
    assert city.gateway.get(stream).status_code == 401
    assert city.gateway.get(stream, headers=auditor(city, "05")).status_code == 200
    elsewhere = city.gateway.get(stream, headers=auditor(city, "04"))
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "outside_jurisdiction"
    assert city.gateway.get("/api/audit/registry/log", params={"district": "04"},
                            headers=auditor(city, "05")).status_code == 403
    # the ecology bureau's city administrator reads the log of audit reads; a district one does not
    ecology = city.token(Role.ADMIN, "eco-admin", department=Department.ECOLOGY)
    reads = city.gateway.get("/api/audit/reads", headers=ecology)
    assert reads.status_code == 200, reads.text
    assert any(r["what"] == "stream" and r["account_id"] == "auditor-05" for r in reads.json()["reads"])
    assert any(r["what"] == "timeline" for r in reads.json()["reads"])
    district_admin = city.token(Role.ADMIN, "eco-admin-05", department=Department.ECOLOGY, district="05")
    assert city.gateway.get("/api/audit/reads", headers=district_admin).status_code == 403
    assert city.gateway.get("/api/audit/reads", headers=auditor(city)).status_code == 200


def test_bad_input_gets_clear_answers(city, story):
    state = f"/api/audit/registry/streams/machine-{story['machine_id']}/state"
    who = auditor(city)
    bad = city.gateway.get(state, params={"as_of": "yesterday"}, headers=who)
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (422, "invalid_time", "as_of")
    naive = city.gateway.get(state, params={"as_of": "2026-11-29T10:00:00"}, headers=who)
    assert naive.status_code == 422 and naive.json()["code"] == "invalid_time"
    early = city.gateway.get(state, params={"as_of": "2020-01-01T00:00:00+08:00"}, headers=who)
    assert (early.status_code, early.json()["code"]) == (422, "before_stream_existed")
    unknown = city.gateway.get("/api/audit/registry/streams/machine-nope/events", headers=who)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "stream_not_found")
    malformed = city.gateway.get("/api/audit/registry/streams/NOT A STREAM/events", headers=who)
    assert malformed.status_code == 422 and malformed.json()["field"] == "stream_id"
    assert city.gateway.get("/api/audit/nowhere/log", headers=who).status_code == 404
    paged = city.gateway.get("/api/audit/registry/log", params={"limit": 2}, headers=who)
    assert paged.status_code == 200 and len(paged.json()["events"]) == 2 and paged.json()["next_position"]
    rest = city.gateway.get("/api/audit/registry/log", params={"limit": 200, "from_position":
                                                                paged.json()["next_position"]}, headers=who)
    assert rest.status_code == 200
    too_many = city.gateway.get("/api/audit/registry/log", params={"limit": 100000}, headers=who)
    assert too_many.status_code == 422 and too_many.json()["field"] == "limit"
    typed = city.gateway.get("/api/audit/registry/log", params={"type": "CodeIssued"}, headers=who).json()
    assert typed["events"] and {e["type"] for e in typed["events"]} == {"CodeIssued"}
    ranged = city.gateway.get("/api/audit/registry/log", params={"since": now()}, headers=who).json()
    assert ranged["events"] == []


def gateway_matrix(story: dict) -> list:
    from tests.authz import AUDITORS, Endpoint

    stream = f"machine-{story['machine_id']}"
    readers = AUDITORS | {"ecology_admin_city"}
    table = [
        ("timeline", f"/api/audit/machines/{story['code']}/timeline", AUDITORS),
        ("verify all", "/api/audit/verify", AUDITORS),
        ("reads", "/api/audit/reads", readers),
        ("one service", f"/api/audit/registry/streams/{stream}/events", {"auditor_city"}),
        ("one service's log", "/api/audit/registry/log", AUDITORS),
        # the gateway's own store (accounts, issue #22): none yet, so a 404 for those who may ask
        ("accounts events", "/api/audit/accounts/streams/account-x/events", AUDITORS),
        ("accounts state", "/api/audit/accounts/streams/account-x/state", AUDITORS),
        ("accounts log", "/api/audit/accounts/log", AUDITORS),
        ("accounts verify", "/api/audit/accounts/verify", AUDITORS),
        ("accounts export", "/api/audit/accounts/export", {"auditor_city"}),
        ("accounts reads", "/api/audit/accounts/reads", readers),
    ]
    return [Endpoint(name, "GET", path, frozenset(allowed)) for name, path, allowed in table]


def test_the_gateway_audit_routes_answer_exactly_their_readers_and_never_a_5xx(city, story):
    from gateway.api.audit import accounts, router
    from tests.authz import BASE_CALLERS, token_headers, uncovered, wrong_cells

    specs = {**BASE_CALLERS, "ecology_admin_city": (Role.ADMIN, "mx-eco-city", None, Department.ECOLOGY)}
    callers = {name: token_headers(city.platform.verifier, spec) for name, spec in specs.items()}
    wrong = [cell for endpoint in gateway_matrix(story) for cell in wrong_cells(city.gateway, endpoint, callers)]
    assert not wrong, "\n".join(wrong)
    assert not uncovered([router, accounts], gateway_matrix({"machine_id": "x", "code": "x"}))
