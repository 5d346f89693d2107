"""Message delivery behind one interface (services/notifications): services send, the development outbox keeps,
an administrator reads it newest first."""

from nrmm_kernel.reference import Role
from tests.gateway.conftest import new_mobile


def test_services_send_messages_and_an_administrator_reads_the_outbox(gateway):
    g = gateway
    service = g.platform.token(Role.SERVICE, "svc-test")
    mobile, openid = new_mobile(), "oWx-test-openid-1"
    sent = []
    for channel, to, template in (("sms", mobile, "review_result"), ("wechat", openid, "review_result"),
                                  ("sms", mobile, "deadline_reminder")):
        answer = g.http.post("/api/notifications/messages", headers=service, json={
            "channel": channel, "to": to, "template": template, "params": {"code": "渝A1234567", "days": 3}})
        assert answer.status_code == 202, answer.text
        sent.append(answer.json()["message_id"])
    assert len(set(sent)) == 3

    outbox = g.http.get("/api/notifications/outbox", params={"to": mobile}, headers=g.admin).json()
    assert [m["message_id"] for m in outbox] == [sent[2], sent[0]]  # newest first
    assert outbox[0]["template"] == "deadline_reminder" and outbox[0]["params"]["days"] == 3
    wechat = g.http.get("/api/notifications/outbox", params={"channel": "wechat", "to": openid}, headers=g.admin)
    assert [m["message_id"] for m in wechat.json()] == [sent[1]]
    one = g.http.get("/api/notifications/outbox", params={"to": mobile, "limit": 1}, headers=g.admin).json()
    assert [m["message_id"] for m in one] == [sent[2]]


def test_a_malformed_message_is_refused_with_its_field(gateway):
    g = gateway
    service = g.platform.token(Role.SERVICE, "svc-test")
    bad = g.http.post("/api/notifications/messages", headers=service, json={
        "channel": "fax", "to": "x", "template": "t", "params": {}})
    assert bad.status_code == 422 and bad.json()["field"] == "channel"
    not_a_mobile = g.http.post("/api/notifications/messages", headers=service, json={
        "channel": "sms", "to": "oWx-openid", "template": "t", "params": {}})
    assert not_a_mobile.status_code == 422 and not_a_mobile.json()["field"] == "to"
    assert not_a_mobile.json()["reason"] == "invalid_mobile"
