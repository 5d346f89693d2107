"""Department feeds on the real broker and database: the scoping rule (a department's sites; a machine's registry
events while it is on one of them; the ecology bureau: its whole district), personal data masked for department
viewers, the pull feed resumable from any cursor, Server-Sent Events resumed with Last-Event-ID, and bad input."""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import pytest

from nrmm_kernel.reference import Department, Role
from registry import contracts as registry
from sites import contracts as sites
from tests.feeds import events as ev
from tests.feeds.conftest import admin, publish, pull, subscribe
from tests.notifications.helpers import poll

pytestmark = pytest.mark.integration
TYPES = [ev.ENTERED, ev.EXITED, ev.OWNER_CHANGED, ev.REISSUE]


def types_of(feed: dict) -> list[tuple[str, str]]:
    return [(e["type"].rsplit(".", 1)[-1], e["data"].get("site_code", "")) for e in feed["events"]]


def test_a_department_receives_its_sites_and_their_machines_while_on_them(platform, infra):
    http = platform.client("notifications")
    housing, water = admin(platform, Department.HOUSING, "05"), admin(platform, Department.WATER, "05")
    ecology_city, ecology_04 = admin(platform, Department.ECOLOGY, None), admin(platform, Department.ECOLOGY, "04")
    ours = subscribe(http, housing, department="housing", district="05", event_types=TYPES)
    theirs = subscribe(http, water, department="water", district="05", event_types=TYPES)
    witness = subscribe(http, ecology_city, department="ecology", event_types=TYPES)  # receives everything
    eco_04 = subscribe(http, ecology_04, department="ecology", district="04", event_types=TYPES)
    auditor = subscribe(http, ecology_city, department="ecology", event_types=TYPES, subscriber_role="auditor")
    assert ours["masked"] and not auditor["masked"] and ours["secret"] is None

    tag = uuid.uuid4().hex[:6].upper()
    site_a, site_w, site_other = f"A-{tag}", f"W-{tag}", f"H-{tag}"
    for site, district, category in ((site_a, "05", "building"), (site_w, "05", "water_works"),
                                     (site_other, "04", "building")):
        publish(platform, infra, "sites", sites.events, f"site-{site}", [ev.site_registered(site, district, category)])
    code, code_w, code_4 = ev.new_code("05"), ev.new_code("05"), ev.new_code("04")
    machine = f"machine-{uuid.uuid4().hex}"
    publish(platform, infra, "registry", registry.events, machine, [ev.code_issued(code)])
    stays = [ev.entered(site_w, "05", "water", code_w), ev.entered(site_other, "04", "housing", code_4),
             ev.entered(site_a, "05", "housing", code)]
    for stay in stays:
        publish(platform, infra, "sites", sites.events, f"presence-{stay.machine.code[2:]}", [stay])
    eco = admin(platform, Department.ECOLOGY, None)
    poll(lambda: pull(http, eco, witness["subscription_id"]), lambda f: f["count"] == 3)
    # on site A (housing, 05): its registry events go to housing-05 too, masked
    mobile = "13912340000"
    publish(platform, infra, "registry", registry.events, machine, [ev.owner_changed(mobile)], first_version=2)
    poll(lambda: pull(http, eco, witness["subscription_id"]), lambda f: f["count"] == 4)
    # it leaves: what the registry says of it afterwards is no longer housing's
    publish(platform, infra, "sites", sites.events, f"presence-{code[2:]}", [ev.exited(stays[2])], first_version=2)
    publish(platform, infra, "registry", registry.events, machine, [ev.reissue_requested()], first_version=3)
    poll(lambda: pull(http, eco, witness["subscription_id"]), lambda f: f["count"] == 6)

    viewer = platform.token(Role.DEPARTMENT_VIEWER, "hv-05", district="05", department=Department.HOUSING)
    feed = pull(http, viewer, ours["subscription_id"])
    assert types_of(feed) == [("MachineEntered", site_a), ("OwnerChanged", ""), ("MachineExited", site_a)]
    registrant = feed["events"][1]["data"]["registrant"]
    assert registrant["mobile"] == "139****0000" and "*" in registrant["id_number"]
    event = feed["events"][0]
    assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
    assert event["sequence"] == "1" and "actorid" not in event
    assert types_of(pull(http, water, theirs["subscription_id"])) == [("MachineEntered", site_w)]
    assert types_of(pull(http, ecology_04, eco_04["subscription_id"])) == [("MachineEntered", site_other)]
    auditor_token = platform.token(Role.AUDITOR, "aud-city")
    unmasked = pull(http, auditor_token, auditor["subscription_id"])
    assert [e for e in unmasked["events"] if e["type"] == ev.OWNER_CHANGED][0]["data"]["registrant"]["mobile"] == mobile
    # the unmasked feed is the auditors' only; another department's or district's staff read nothing
    for who in (viewer, eco):
        assert http.get(f"/api/notifications/feeds/{auditor['subscription_id']}/events",
                        headers=who).status_code == 403
    other_district = platform.token(Role.DEPARTMENT_VIEWER, "hv-04", district="04", department=Department.HOUSING)
    for who in (other_district, water):
        answer = http.get(f"/api/notifications/feeds/{ours['subscription_id']}/events", headers=who)
        assert answer.status_code == 403 and answer.json()["code"] == "outside_jurisdiction"

    # resumable from any cursor
    first = pull(http, viewer, ours["subscription_id"], limit=1)
    assert first["count"] == 1 and first["cursor"] == f"{ours['subscription_id']}.1"
    rest = pull(http, viewer, ours["subscription_id"], cursor=first["cursor"])
    assert [e["id"] for e in rest["events"]] == [e["id"] for e in feed["events"][1:]]
    assert pull(http, viewer, ours["subscription_id"], cursor=rest["cursor"])["events"] == []


def test_server_sent_events_resume_with_last_event_id(platform, infra):
    http = platform.client("notifications")
    housing = admin(platform, Department.HOUSING, "05")
    sub = subscribe(http, housing, department="housing", district="05", event_types=[ev.ENTERED])["subscription_id"]
    site = f"S-{uuid.uuid4().hex[:6].upper()}"
    publish(platform, infra, "sites", sites.events, f"site-{site}", [ev.site_registered(site, "05")])
    received: list[tuple[str, dict]] = []
    done = threading.Event()

    def listen():
        with httpx.stream("GET", f"{platform.urls['notifications']}/api/notifications/feeds/{sub}/stream",
                          params={"cursor": f"{sub}.0"}, headers=housing, timeout=30) as answer:
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
            event_id = None
            for line in answer.iter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    received.append((event_id, json.loads(line[6:])))
                    if len(received) == 3:
                        done.set()
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    stays = [ev.entered(site, "05", "housing", ev.new_code("05")) for _ in range(3)]
    for stay in stays:
        publish(platform, infra, "sites", sites.events, f"presence-{stay.machine.code[2:]}", [stay])
    assert done.wait(30), received
    assert [e["data"]["stay_id"] for _, e in received] == [s.stay_id for s in stays]
    assert [i for i, _ in received] == [f"{sub}.{n}" for n in (1, 2, 3)]

    # resumed after the first: the second and third again
    with httpx.stream("GET", f"{platform.urls['notifications']}/api/notifications/feeds/{sub}/stream",
                      headers={**housing, "Last-Event-ID": received[0][0]}, timeout=30) as answer:
        ids = []
        for line in answer.iter_lines():
            if line.startswith("id: "):
                ids.append(line[4:])
                if len(ids) == 2:
                    break
    assert ids == [f"{sub}.2", f"{sub}.3"]
    other = subscribe(http, housing, department="housing", district="05", event_types=[ev.ENTERED])
    answer = http.get(f"/api/notifications/feeds/{other['subscription_id']}/stream",
                      headers={**housing, "Last-Event-ID": received[0][0]})
    assert answer.status_code == 422 and answer.json() == {
        "code": "cursor_of_another_subscription", "message": answer.json()["message"], "field": "Last-Event-ID"}


BAD_SUBSCRIPTIONS = [
    ({"event_types": ["cn.cq.nrmm.sites.NoSuchEvent"]}, 422, "unknown_event_type", "event_types[0]"),
    ({"district": "99"}, 422, "validation_error", "district"),
    ({"department": "police"}, 422, "validation_error", "department"),
    ({"webhook_url": "ftp://example.com/hook"}, 422, "invalid_webhook_url", "webhook_url"),
    ({"webhook_url": "javascript:alert(1)"}, 422, "invalid_webhook_url", "webhook_url"),
    ({"webhook_url": "http://example.com/hook"}, 422, "https_required", "webhook_url"),
    ({"webhook_url": "https://10.1.2.3/hook"}, 422, "private_target", "webhook_url"),
    ({"webhook_url": "https://[fd00::1]/hook"}, 422, "private_target", "webhook_url"),
    ({"department": "water"}, 403, "outside_jurisdiction", None),  # a housing administrator
    ({"district": "04"}, 403, "outside_jurisdiction", None),  # of district 05
    ({"subscriber_role": "auditor"}, 403, "unmasked_not_allowed", None),
]


@pytest.mark.parametrize(("change", "status", "code", "field"), BAD_SUBSCRIPTIONS)
def test_bad_subscriptions_are_clear_4xx_and_write_nothing(platform, change, status, code, field):
    http = platform.client("notifications")
    housing = admin(platform, Department.HOUSING, "05")
    name = f"bad-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "department": "housing", "district": "05", "event_types": [ev.ENTERED], **change}
    answer = http.post("/api/notifications/subscriptions", json=body, headers=housing)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code and answer.json()["field"] == field
    listed = http.get("/api/notifications/subscriptions", headers=admin(platform, Department.ECOLOGY, None))
    assert name not in [s["name"] for s in listed.json()]


def test_malformed_and_foreign_cursors_are_422(platform):
    http = platform.client("notifications")
    housing = admin(platform, Department.HOUSING, "05")
    one = subscribe(http, housing, department="housing", district="05", event_types=[ev.ENTERED])["subscription_id"]
    two = subscribe(http, housing, department="housing", district="05", event_types=[ev.ENTERED])["subscription_id"]
    for cursor, code in (("abc", "invalid_cursor"), (f"{one}.-1", "invalid_cursor"), (f"{one}.01", "invalid_cursor"),
                         (f"{two}.0", "cursor_of_another_subscription")):
        answer = http.get(f"/api/notifications/feeds/{one}/events", params={"cursor": cursor}, headers=housing)
        assert answer.status_code == 422 and answer.json()["code"] == code and answer.json()["field"] == "cursor"
    assert http.get("/api/notifications/feeds/NOSUCH/events", headers=housing).status_code == 404
