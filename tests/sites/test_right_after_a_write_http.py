"""Right after a write, every answer is right (issue: write-side decisions and read-your-writes), end to end over
HTTP on real infrastructure. No sleep and no retry stands between a write and the read that checks it: commands
decide from the write side, and a query sent with the write's X-Position waits for its read model."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from nrmm_kernel.codes import qr_payload
from nrmm_kernel.reference import Role
from tests.sites.conftest import period, reported


def position(response) -> dict:
    """The header a front end sends back after a write."""
    assert "X-Position" in response.headers, f"no X-Position on {response.request.url}: {response.text[:200]}"
    return {"X-Min-Position": response.headers["X-Position"]}


def test_twenty_codes_work_the_instant_their_approval_answers(platform):
    p = platform
    site, _ = p.register_site(district="04")
    gate = p.token(Role.SITE_ADMIN, f"gate-{site}", site_id=site)
    reviewer = p.token(Role.REVIEWER, "rev-gate")
    buyer_id, buyer_mobile, buyer = p.register_owner()  # the machines pass to one real owner account (rule C6)
    for n in range(20):
        owner_id = f"owner-now-{n}"
        owner = p.token(Role.OWNER, owner_id)
        code = p.issue_code(owner=owner_id, district="04", stage="4")  # returns as soon as the approval answered
        for document in ("card.pdf", "plate.pdf"):
            pdf = p.registry.get(f"/api/registry/machines/{code}/{document}", headers=owner)
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), (n, document, pdf.text[:200])
        verified = p.registry.get("/api/registry/verify", params={"code": code}, headers=gate)
        assert verified.json()["valid"] is True, (n, verified.json())

        entered = p.sites.post(f"/api/sites/sites/{site}/entries", headers=gate,
                               json={"qr": qr_payload(code), "working_period": period(), "machine_type": "excavator",
                                     "emission_stage": "4"})
        assert entered.status_code == 201, (n, entered.text)
        roster = p.sites.get(f"/api/sites/sites/{site}/roster", headers={**gate, **position(entered)})
        assert code in [row["code"] for row in roster.json()], (n, roster.text[:300])

        reissue = p.registry.post(f"/api/registry/machines/{code}/plate-reissue", headers=owner,
                                  json={"damaged_on": "2026-01-02", "reason": "字迹不清"})
        assert reissue.status_code == 200, (n, reissue.text)
        reissued = p.registry.post(f"/api/registry/machines/{code}/plate-reissue/completion", headers=reviewer)
        assert reissued.status_code == 200, (n, reissued.text)
        changed = p.registry.post(f"/api/registry/machines/{code}/owner-change", headers=owner,
                                  json={"new_owner_mobile": buyer_mobile, "transferred_on": "2026-01-03"})
        assert changed.status_code == 200, (n, changed.text)
        offered = p.registry.get("/api/registry/owner-changes", headers={**buyer, **position(changed)})
        assert code in [o["code"] for o in offered.json()["incoming"]], (n, offered.text[:300])
        accepted = p.registry.post(f"/api/registry/machines/{code}/owner-change/acceptance", headers=buyer,
                                   json={"registrant": registrant_next()})
        assert accepted.status_code == 200, (n, accepted.text)
        mine = p.registry.get("/api/registry/machines", headers={**buyer, **position(accepted)})
        assert code in [m["code"] for m in mine.json()], (n, mine.text[:300])


def registrant_next() -> dict:
    from tests.registry.fixtures import registrant

    return registrant()


def test_an_owner_sees_the_application_they_just_sent(platform):
    p = platform
    owner = p.token(Role.OWNER, f"owner-{uuid.uuid4().hex[:6]}")
    sent = []
    for _ in range(5):
        applied = p.registry.post("/api/registry/applications", headers=owner, json=p.application(owner, district="05"))
        assert applied.status_code == 201, applied.text
        sent.append(applied.json()["machine_id"])
        listed = p.registry.get("/api/registry/applications", headers={**owner, **position(applied)})
        assert sorted(a["machine_id"] for a in listed.json()) == sorted(sent)


def test_a_zone_is_listed_right_after_it_is_defined(platform):
    p = platform
    ecology = p.token(Role.REVIEWER, "eco-06", district="06")
    for n in range(5):
        zone = p.sites.post("/api/sites/zones", headers=ecology,
                            json={"name": f"江北区禁用区 {n} {uuid.uuid4().hex[:4]}", "district": "06",
                                  "kind": "streets", "streets": [f"街道{n}"]})
        assert zone.status_code == 201, zone.text
        listed = p.sites.get("/api/sites/zones", params={"district": "06"}, headers={**ecology, **position(zone)})
        assert zone.json()["zone_id"] in [z["zone_id"] for z in listed.json()]


def test_a_site_admin_signs_in_and_reads_their_site_right_after_registering(platform):
    p = platform
    code, mobile = f"S-{uuid.uuid4().hex[:8].upper()}", f"137{uuid.uuid4().int % 10**8:08d}"
    body = {"site_code": code, "password": "Site-Passw0rd", "sms_code": p.sms_code(mobile),
            "details": {"name": "读写一致工地", "company": {"name": "中建某局", "credit_code": _credit()},
                        "district": "07", "category": "building", "address": {"street": "小龙坎街道", "detail": "2 号"},
                        "starts_on": "2026-01-01", "ends_on": "2027-12-31",
                        "manager": {"name": "赵六", "mobile": mobile}}}
    registered = p.gateway.post("/api/sites/registrations", json=body)  # through the single entry point
    assert registered.status_code == 201, registered.text
    admin = p.login(code, "Site-Passw0rd")
    read = p.gateway.get(f"/api/sites/sites/{code}", headers={**admin, **position(registered)})
    assert read.status_code == 200 and read.json()["status"] == "in_construction", read.text


def _credit() -> str:
    from tests.registry.fixtures import credit_code

    return credit_code()


def test_a_position_the_read_model_never_reaches_answers_503_and_a_malformed_one_400(platform):
    p = platform
    ecology = p.token(Role.REVIEWER, "eco-06", district="06")
    started = time.monotonic()
    behind = p.sites.get("/api/sites/zones", headers={**ecology, "X-Min-Position": "sites:999999999"})
    waited = time.monotonic() - started
    assert behind.status_code == 503 and behind.json()["code"] == "read_model_behind"
    assert behind.headers["Retry-After"] == "1" and waited >= 1.5
    # a position of a service whose events this one does not read is not waited for
    other = p.registry.get("/api/registry/machines", headers={**p.token(Role.OWNER, "o"),
                                                              "X-Min-Position": "sites:999999999"})
    assert other.status_code == 200
    bad = p.sites.get("/api/sites/zones", headers={**ecology, "X-Min-Position": "sites:-1"})
    assert bad.status_code == 400 and bad.json()["field"] == "X-Min-Position"


@pytest.mark.parametrize("race", range(50))
def test_an_entry_racing_the_completion_never_leaves_a_machine_inside_a_completed_site(platform, race_machine, race):
    p = platform
    site, _ = p.register_site(district="08")
    gate = p.token(Role.SITE_ADMIN, f"gate-{site}", site_id=site)
    answers: dict[str, object] = {}
    start = threading.Barrier(2)

    def enter():
        start.wait()
        answers["entry"] = p.sites.post(f"/api/sites/sites/{site}/entries", headers=gate,
                                        json={"code": race_machine, **reported()})

    def complete():
        start.wait()
        answers["completion"] = p.sites.post(f"/api/sites/sites/{site}/status", headers=gate,
                                             json={"status": "completed"})

    threads = [threading.Thread(target=enter), threading.Thread(target=complete)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entry, completion = answers["entry"], answers["completion"]
    assert entry.status_code in (201, 409) and completion.status_code in (200, 409), (entry.text, completion.text)
    assert not (entry.status_code == 201 and completion.status_code == 200), ("inside a completed site", entry.text,
                                                                              completion.text)
    waits = {"X-Min-Position": ", ".join(r.headers["X-Position"] for r in (entry, completion)
                                         if "X-Position" in r.headers)}
    state = p.sites.get(f"/api/sites/sites/{site}", headers={**gate, **waits}).json()
    roster = p.sites.get(f"/api/sites/sites/{site}/roster", headers={**gate, **waits}).json()
    assert not (state["status"] == "completed" and roster), (state["status"], roster)
    if entry.status_code == 201:  # free the machine for the next race
        left = p.sites.post(f"/api/sites/sites/{site}/exits", headers=gate, json={"code": race_machine})
        assert left.status_code == 201, left.text


@pytest.fixture(scope="module")
def race_machine(platform) -> str:
    return platform.issue_code(owner="owner-race", district="08", stage="4")
