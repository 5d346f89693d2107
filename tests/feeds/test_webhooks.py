"""Webhooks of department feeds on the real broker and database, to endpoints on loopback: signed per Standard
Webhooks (verified with the `standardwebhooks` package), two signatures during a rotation, retries then a dead letter
and its redelivery, an endpoint that hangs slowing no other subscriber, and a kill -9 mid-delivery losing nothing
and redelivering with the same webhook-id."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from standardwebhooks.webhooks import Webhook

from nrmm_kernel.reference import Department
from sites import contracts as sites
from tests.feeds import events as ev
from tests.feeds.conftest import FEED_ENV, admin, publish, subscribe
from tests.feeds.receiver import Receiver
from tests.notifications.helpers import poll
from tests.platform import start_platform

pytestmark = pytest.mark.integration


def new_site(platform, infra, district: str = "05") -> str:
    site = f"WH-{uuid.uuid4().hex[:6].upper()}"
    publish(platform, infra, "sites", sites.events, f"site-{site}", [ev.site_registered(site, district)])
    return site


def enter(platform, infra, site: str, district: str = "05") -> sites.MachineEntered:
    stay = ev.entered(site, district, "housing", ev.new_code(district))
    publish(platform, infra, "sites", sites.events, f"presence-{stay.machine.code[2:]}", [stay])
    return stay


def test_deliveries_are_signed_and_verify_also_across_a_rotation(platform, infra, receiver):
    http = platform.client("notifications")
    housing = admin(platform, Department.HOUSING, "05")
    sub = subscribe(http, housing, department="housing", district="05", event_types=[ev.ENTERED],
                    webhook_url=receiver.url)
    secret, sub_id = sub["secret"], sub["subscription_id"]
    assert secret.startswith("whsec_") and sub["webhook_url"] == receiver.url
    shown = http.get(f"/api/notifications/subscriptions/{sub_id}", headers=housing).json()
    assert "secret" not in shown and secret not in json.dumps(shown)  # shown once, at creation

    site = new_site(platform, infra)
    stay = enter(platform, infra, site)
    first = receiver.wait_for(lambda got: got)[0]
    event = Webhook(secret).verify(first["body"], first["headers"])
    assert event["type"] == ev.ENTERED and event["data"]["stay_id"] == stay.stay_id
    assert first["headers"]["webhook-id"] == f"{sub_id}.1"
    assert first["headers"]["content-type"].startswith("application/cloudevents+json")

    rotated = http.post(f"/api/notifications/subscriptions/{sub_id}/secrets", headers=housing)
    assert rotated.status_code == 201
    new_secret = rotated.json()["secret"]
    assert len(rotated.json()["secrets"]) == 2 and new_secret != secret
    enter(platform, infra, site)
    second = receiver.wait_for(lambda got: got if len(got) >= 2 else None)[1]
    assert second["headers"]["webhook-signature"].count("v1,") == 2
    for key in (secret, new_secret):  # a subscriber on either secret accepts it
        Webhook(key).verify(second["body"], second["headers"])
    retired = http.delete(f"/api/notifications/subscriptions/{sub_id}/secrets/previous", headers=housing)
    assert len(retired.json()["secrets"]) == 1
    enter(platform, infra, site)
    third = receiver.wait_for(lambda got: got if len(got) >= 3 else None)[2]
    assert third["headers"]["webhook-signature"].count("v1,") == 1
    Webhook(new_secret).verify(third["body"], third["headers"])
    with pytest.raises(Exception):  # noqa: B017 - the package's verification error
        Webhook(secret).verify(third["body"], third["headers"])


def test_a_refusing_endpoint_gets_retries_then_a_dead_letter_sent_again_with_the_same_id(platform, infra, receiver):
    http = platform.client("notifications")
    housing = admin(platform, Department.HOUSING, "05")
    receiver.status = 500
    sub_id = subscribe(http, housing, department="housing", district="05", event_types=[ev.ENTERED],
                       webhook_url=receiver.url)["subscription_id"]
    enter(platform, infra, new_site(platform, infra))
    dead = poll(lambda: http.get(f"/api/notifications/subscriptions/{sub_id}/dead-letters", headers=housing).json(),
                lambda d: len(d) == 1)[0]
    assert dead["attempts"] == 3 and dead["last_error"] == "http_500" and dead["status"] == "dead"
    assert receiver.ids() == [f"{sub_id}.1"] * 3  # three attempts (NRMM_FEED_WEBHOOK_MAX_ATTEMPTS), one id

    receiver.status = 204
    again = http.post(f"/api/notifications/subscriptions/{sub_id}/dead-letters/1/redelivery", headers=housing)
    assert again.status_code == 202 and again.json()["status"] == "pending"
    receiver.wait_for(lambda got: len(got) == 4)
    assert receiver.ids()[-1] == f"{sub_id}.1"
    poll(lambda: http.get(f"/api/notifications/subscriptions/{sub_id}/dead-letters", headers=housing).json(),
         lambda d: d == [])
    missing = http.post(f"/api/notifications/subscriptions/{sub_id}/dead-letters/99/redelivery", headers=housing)
    assert missing.status_code == 404 and missing.json()["code"] == "delivery_not_found"


def test_an_endpoint_that_hangs_slows_no_other_subscriber(platform, infra):
    http = platform.client("notifications")
    housing = admin(platform, Department.HOUSING, "05")
    hanging, healthy = Receiver(hold=threading.Event()).start(), Receiver().start()
    try:
        for endpoint in (hanging, healthy):
            subscribe(http, housing, department="housing", district="05", event_types=[ev.ENTERED],
                      webhook_url=endpoint.url)
        site = new_site(platform, infra)
        for _ in range(20):
            enter(platform, infra, site)
        healthy.wait_for(lambda got: len(got) == 20)
        assert not hanging.hold.is_set()  # the other endpoint has answered nothing all along
        assert hanging.received  # and it was being tried
    finally:
        hanging.stop()
        healthy.stop()


def test_kill_9_mid_delivery_loses_nothing_and_redelivers_with_the_same_webhook_id(infra):
    endpoint = Receiver(hold=threading.Event()).start()
    first = start_platform(infra, ["notifications"], {**FEED_ENV, "NRMM_FEED_WEBHOOK_TIMEOUT_SECONDS": "60"})
    second = None
    try:
        http = first.client("notifications")
        housing = admin(first, Department.HOUSING, "05")
        sub = subscribe(http, housing, department="housing", district="05", event_types=[ev.ENTERED],
                        webhook_url=endpoint.url)
        stay = enter(first, infra, new_site(first, infra))
        endpoint.wait_for(lambda got: got)  # the delivery is in flight: the endpoint holds it unanswered
        first.processes["notifications"].kill()  # SIGKILL
        first.processes["notifications"].wait(10)

        endpoint.hold.set()  # from now on the endpoint answers
        second = start_platform(infra, ["notifications"], FEED_ENV, joining=first)
        got = endpoint.wait_for(lambda got: got if len(got) >= 2 else None)
        ids = [r["headers"]["webhook-id"] for r in got]
        assert ids[:2] == [f"{sub['subscription_id']}.1"] * 2
        again = Webhook(sub["secret"]).verify(got[1]["body"], got[1]["headers"])
        assert again["data"]["stay_id"] == stay.stay_id
        assert json.loads(got[0]["body"]) == again
        # nothing lost, nothing doubled in the feed
        feed = second.client("notifications").get(f"/api/notifications/feeds/{sub['subscription_id']}/events",
                                                  headers=housing).json()
        assert [e["data"]["stay_id"] for e in feed["events"]] == [stay.stay_id]
    finally:
        endpoint.stop()
        if second is not None:
            second.stop()
        first.stop()
