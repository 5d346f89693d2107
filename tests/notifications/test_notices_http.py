"""Notices from the registry's events: the owner's inbox and an SMS through the provider's SDK, once each."""

from __future__ import annotations

import asyncio
import json
import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from nrmm_kernel import bus
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.reference import Role
from tests.kafka_helpers import read_topic
from tests.notifications.conftest import new_mobile
from tests.notifications.helpers import admin, inbox, issue_code, poll, registry_client
from tests.registry.fixtures import machine, registrant


def republish_registry_topic(platform, infra) -> int:
    """Every event of the registry's topic sent again; the topic's end offset, over its partitions."""
    async def again() -> int:
        envelopes = await read_topic(infra.kafka_bootstrap, platform.topic("registry"), at_least=1, timeout=5)
        producer = bus.make_producer(infra.kafka_bootstrap)
        await producer.start()
        try:
            for envelope in envelopes:
                key, value, headers = bus.encode(envelope)
                await producer.send_and_wait(platform.topic("registry"), value=value, key=key, headers=headers)
            partitions = [TopicPartition(platform.topic("registry"), p)
                          for p in await producer.partitions_for(platform.topic("registry"))]
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap)
        await consumer.start()
        try:
            return sum((await consumer.end_offsets(partitions)).values())  # the topic's end, duplicates included
        finally:
            await consumer.stop()

    return asyncio.run(again())


def consumed(infra, platform) -> int:
    """Messages the notifications service's registry consumer group has committed, over all partitions."""
    async def committed() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(f"{platform.namespace}.notifications.from-registry")
            return sum(meta.offset for meta in offsets.values())
        finally:
            await admin.close()

    return asyncio.run(committed())


def test_an_approval_tells_the_owner_to_collect_plate_and_card_once(platform, providers, notifications_db, infra):
    svc, http = registry_client(platform), platform.client("notifications")
    owner_account, mobile = "owner-notice-1", new_mobile()
    owner = platform.token(Role.OWNER, owner_account)
    _, code = issue_code(svc, svc.owner(owner_account), mobile)

    # rule C4: the registrant is told to collect the code plate and the information card
    box = poll(lambda: inbox(http, owner), lambda b: b["items"])
    [notice] = box["items"]
    assert notice["template"] == "code_issued" and code in notice["text"]
    assert "领取编码标牌和信息采集卡" in notice["text"]
    assert notice["read"] is False
    sms = poll(lambda: providers.sms_to(mobile), lambda found: found)
    assert sms[0]["TemplateCode"] == "SMS_NRMM_CODE_ISSUED" and code in sms[0]["TemplateParam"]
    assert sms[0]["SignName"] == "重庆非道路机械" and sms[0]["OutId"].endswith(":sms")
    delivery = poll(lambda: http.get(f"/api/notifications/deliveries/{sms[0]['OutId']}", headers=admin(platform)),
                    lambda a: a.status_code == 200 and a.json()["status"] == "sent").json()
    assert delivery["attempts"] == 1 and delivery["provider_id"] == f"biz-{sms[0]['OutId']}"

    # the unread count, then marked read; nobody else sees it or can mark it
    assert http.get("/api/notifications/inbox/unread-count", headers=owner).json() == {"unread": 1}
    other = platform.token(Role.OWNER, "owner-notice-other")
    assert inbox(http, other)["total"] == 0
    stolen = http.post(f"/api/notifications/inbox/{notice['notice_id']}/read", headers=other)
    assert stolen.status_code == 404 and stolen.json()["code"] == "notice_not_found"
    read = http.post(f"/api/notifications/inbox/{notice['notice_id']}/read", headers=owner)
    assert read.status_code == 200 and read.json()["read"] is True
    assert http.get("/api/notifications/inbox/unread-count", headers=owner).json() == {"unread": 0}

    # the registry's events again, as a relay that died before its marks republishes them: nothing twice
    end = republish_registry_topic(platform, infra)
    poll(lambda: notifications_db.projection_positions.find_one(
        {"_id": f"{platform.namespace}.notifications.from-registry"}), lambda doc: doc)
    poll(lambda: consumed(infra, platform), lambda n: n >= end, seconds=30)  # the duplicates were all applied
    poll(lambda: notifications_db.notice_requests_registry.count_documents({}), lambda n: n == 0)
    assert inbox(http, owner)["total"] == 1
    assert len(providers.sms_to(mobile)) == 1  # and no second message


def test_a_rejection_says_why_and_an_owner_change_tells_both_owners(platform, providers):
    svc, http = registry_client(platform), platform.client("notifications")
    owner = svc.owner("owner-notice-2")
    mobile = new_mobile()
    body = {"registrant": registrant(mobile=mobile),
            "machine": machine(factory_serial=f"SY-{uuid.uuid4().hex[:10].upper()}", today=today_in_chongqing()),
            "uploads": svc.upload_all(owner)}
    machine_id = svc.http.post("/api/registry/applications", json=body, headers=owner).json()["machine_id"]
    rejected = svc.http.post(f"/api/registry/applications/{machine_id}/rejection", headers=svc.reviewer(),
                             json={"reasons": ["铭牌照片不清晰"]})
    assert rejected.status_code == 200, rejected.text
    box = poll(lambda: inbox(http, owner), lambda b: b["items"])
    assert box["items"][0]["template"] == "application_rejected" and "铭牌照片不清晰" in box["items"][0]["text"]


def test_a_paged_inbox_is_newest_first_and_bad_paging_is_a_clear_4xx(platform):
    http = platform.client("notifications")
    owner = platform.token(Role.OWNER, "owner-notice-1")
    bad = http.get("/api/notifications/inbox", headers=owner, params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
    service = platform.token(Role.SERVICE, "svc-x")
    assert http.get("/api/notifications/inbox", headers=service).status_code == 403


def test_a_cancellation_tells_the_owner_why(platform, providers):
    svc, http = registry_client(platform), platform.client("notifications")
    owner_account, mobile = "owner-cancel-a", new_mobile()
    _, code = issue_code(svc, svc.owner(owner_account), mobile)
    cancelled = svc.http.post(f"/api/registry/machines/{code}/cancellation", headers=svc.owner(owner_account),
                              json={"reason": "scrapped", "occurred_on": "2026-11-25"})
    assert cancelled.status_code == 200, cancelled.text
    owner = platform.token(Role.OWNER, owner_account)
    # rule C7
    poll(lambda: [i["template"] for i in inbox(http, owner)["items"]],
         lambda t: sorted(t) == ["code_cancelled", "code_issued"])
    cancel_sms = poll(lambda: [r for r in providers.sms_to(mobile)
                               if r["TemplateCode"] == "SMS_NRMM_CODE_CANCELLED"], lambda found: found)
    assert json.loads(cancel_sms[0]["TemplateParam"])["reason"] == "机械报废"
