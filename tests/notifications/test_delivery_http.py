"""Delivery to outside providers: an error code or a provider that hangs is recorded on its message, retried with
backoff, then a dead letter an administrator sends again; the caller gets a 202 and other messages keep flowing."""

from __future__ import annotations

import time

from nrmm_kernel.reference import Role
from tests.notifications.conftest import new_mobile
from tests.notifications.helpers import admin, poll


def send(http, platform, channel: str, to: str, template: str = "code_issued", **params):
    service = platform.token(Role.SERVICE, "svc-test")
    params = params or {"code": "4-N01A7K2P", "brand": "三一", "model": "SY75", "district": "万州区"}
    return http.post("/api/notifications/messages", headers=service,
                     json={"channel": channel, "to": to, "template": template, "params": params})


def delivery(http, platform, delivery_id: str) -> dict:
    answer = http.get(f"/api/notifications/deliveries/{delivery_id}", headers=admin(platform))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_error_code_and_a_hanging_provider_are_recorded_and_others_flow(platform, providers):
    http = platform.client("notifications")
    refused, hanging, fine = new_mobile(), new_mobile(), new_mobile()
    providers.failing[refused] = "isv.BUSINESS_LIMIT_CONTROL"
    providers.hanging.add(hanging)

    answer = send(http, platform, "sms", refused)
    assert answer.status_code == 202 and answer.json()["error_code"] == "isv.BUSINESS_LIMIT_CONTROL"
    started = time.monotonic()
    slow = send(http, platform, "sms", hanging)
    assert slow.status_code == 202 and slow.json()["error_code"] == "provider_timeout", slow.text
    assert time.monotonic() - started < 5  # cut off by the timeout (1 s here), not by the provider
    ok = send(http, platform, "sms", fine)
    assert ok.status_code == 202 and ok.json()["status"] == "sent", ok.text

    # retried with backoff until the attempts run out: dead letters, each with its reason
    dead = poll(lambda: delivery(http, platform, answer.json()["message_id"]), lambda d: d["status"] == "dead")
    assert dead["attempts"] == 3 and dead["error_code"] == "isv.BUSINESS_LIMIT_CONTROL"
    assert [h["outcome"] for h in dead["history"]] == ["isv.BUSINESS_LIMIT_CONTROL"] * 3
    assert len(providers.sms_to(refused)) == 3 and len({r["OutId"] for r in providers.sms_to(refused)}) == 1
    timed_out = poll(lambda: delivery(http, platform, slow.json()["message_id"]), lambda d: d["status"] == "dead")
    assert timed_out["error_code"] == "provider_timeout"
    letters = http.get("/api/notifications/deliveries", params={"status": "dead"}, headers=admin(platform)).json()
    assert {answer.json()["message_id"], slow.json()["message_id"]} <= {d["delivery_id"] for d in letters}
    assert all("params" not in d for d in letters)  # a live SMS code is not shown

    # the provider mends; an administrator sends the dead letter again
    del providers.failing[refused]
    again = http.post(f"/api/notifications/deliveries/{answer.json()['message_id']}/redelivery",
                      headers=admin(platform))
    assert again.status_code == 202 and again.json()["status"] == "pending"
    sent = poll(lambda: delivery(http, platform, answer.json()["message_id"]), lambda d: d["status"] == "sent")
    assert sent["attempts"] == 4
    unknown = http.post("/api/notifications/deliveries/nope/redelivery", headers=admin(platform))
    assert unknown.status_code == 404 and unknown.json()["code"] == "delivery_not_found"


def test_an_unknown_template_is_a_dead_letter_not_an_error(platform, providers):
    http = platform.client("notifications")
    answer = send(http, platform, "sms", new_mobile(), template="no_such_template", code="1")
    assert answer.status_code == 202
    assert answer.json()["status"] == "dead" and answer.json()["error_code"] == "unknown_template"


def test_wechat_subscription_messages_reuse_the_cached_access_token(platform, providers):
    http = platform.client("notifications")
    before = providers.tokens_issued
    for openid in ("oWx-openid-1", "oWx-openid-2"):
        answer = send(http, platform, "wechat", openid)
        assert answer.status_code == 202 and answer.json()["status"] == "sent", answer.text
    sent = [m for m in providers.wechat if m["touser"] in ("oWx-openid-1", "oWx-openid-2")]
    assert len(sent) == 2 and sent[0]["template_id"] == "NRMM_CODE_ISSUED"
    assert sent[0]["data"]["character_string1"] == {"value": "4-N01A7K2P"}
    assert providers.tokens_issued - before <= 1 and sent[0]["access_token"] == sent[1]["access_token"]
