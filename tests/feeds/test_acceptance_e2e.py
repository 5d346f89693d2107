"""Issue #20's acceptance, end to end on real infrastructure with the real registry, sites, gateway and notifications
services: a housing-department subscriber of district 05 receives, by pull, Server-Sent Events and webhook, the
MachineEntered events of its sites and none of another district's or department's; the webhook verifies with the
`standardwebhooks` package. (kill -9 mid-delivery: test_webhooks.py.)"""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from nrmm_kernel.reference import Department, Role
from tests.feeds import events as ev
from tests.feeds.conftest import FEED_ENV, admin, pull, subscribe
from tests.feeds.receiver import Receiver
from tests.notifications.helpers import poll
from tests.platform import start_platform
from tests.sites.conftest import ADMIN_PASSWORD, ADMIN_USER, SERVICES, Sites, reported

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def city(infra):
    running = start_platform(infra, SERVICES, {**FEED_ENV, "NRMM_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
                                               "NRMM_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
                                               "NRMM_SMS_RESEND_SECONDS": "0"})
    yield Sites(running)
    running.stop()


def test_a_housing_subscriber_of_district_05_receives_its_sites_entries_by_pull_sse_and_webhook(city):
    platform, http = city.platform, city.platform.client("notifications")
    receiver = Receiver().start()
    try:
        housing = admin(platform, Department.HOUSING, "05")
        sub = subscribe(http, housing, name="住建委大渡口区进场", department="housing", district="05",
                        event_types=[ev.ENTERED], webhook_url=receiver.url)
        sub_id = sub["subscription_id"]
        ecology = admin(platform, Department.ECOLOGY, None)
        witness = subscribe(http, ecology, department="ecology", event_types=[ev.ENTERED])["subscription_id"]

        streamed: list[dict] = []
        listening, stop = threading.Event(), threading.Event()

        def listen():
            with httpx.stream("GET", f"{platform.urls['notifications']}/api/notifications/feeds/{sub_id}/stream",
                              headers=housing, params={"cursor": f"{sub_id}.0"}, timeout=120) as answer:
                listening.set()
                for line in answer.iter_lines():  # a keep-alive comment comes every 15 s at the latest
                    if line.startswith("data: "):
                        streamed.append(json.loads(line[6:]))
                    if stop.is_set():
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert listening.wait(30)

        ours, _ = city.register_site(district="05", street="新山村街道")  # building: housing
        water, _ = city.register_site(district="05", street="新山村街道", category="water_works")
        elsewhere, _ = city.register_site(district="04")  # housing, district 04
        entries = {}
        for site in (water, elsewhere, ours):
            code = city.issue_code(owner=f"owner-{site}", district="05")
            gate = city.login(site, "Site-Passw0rd")
            city.known_at_gate(site, gate, code)
            entered = city.sites.post(f"/api/sites/sites/{site}/entries", headers=gate,
                                      json={"code": code, **reported()})
            assert entered.status_code == 201, entered.text
            entries[site] = entered.json()["stay_id"]

        # the ecology bureau's city-level feed has all three: the router has routed every one of them
        poll(lambda: pull(http, ecology, witness), lambda f: f["count"] == 3, seconds=60)
        viewer = platform.token(Role.DEPARTMENT_VIEWER, "housing-05", district="05", department=Department.HOUSING)
        feed = pull(http, viewer, sub_id)
        assert [(e["type"], e["data"]["site_code"], e["data"]["stay_id"]) for e in feed["events"]] == [
            (ev.ENTERED, ours, entries[ours])]

        poll(lambda: streamed, lambda s: len(s) >= 1)
        assert [e["data"]["stay_id"] for e in streamed] == [entries[ours]]

        delivered = receiver.wait_for(lambda got: got)
        assert len(delivered) == 1
        event = Webhook(sub["secret"]).verify(delivered[0]["body"], delivered[0]["headers"])
        assert event == feed["events"][0] and event["data"]["department"] == "housing"
        assert delivered[0]["headers"]["webhook-id"] == f"{sub_id}.1"
        stop.set()
        listener.join(30)  # the stream is closed: the service's shutdown waits for no open stream
    finally:
        receiver.stop()
