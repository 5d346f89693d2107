"""Notices from the sites service's events (published here as its relay would, onto its topic on the real broker):
a site registered, a refusal at the gate told to the machine's owner in words, and a site past its end date with a
machine still inside reminded once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from nrmm_kernel import bus
from nrmm_kernel.clock import today_in_chongqing
from nrmm_kernel.reference import Role
from sites import contracts as sites
from tests.notifications.conftest import new_mobile
from tests.notifications.helpers import inbox, issue_code, poll, registry_client
from tests.registry.fixtures import credit_code


def publish(platform, infra, stream: str, events: list) -> None:
    async def send():
        producer = bus.make_producer(infra.kafka_bootstrap)
        await producer.start()
        try:
            for version, event in enumerate(events, start=1):
                key, value, headers = bus.encode(sites.events.wrap(event, stream_id=stream, stream_version=version))
                await producer.send_and_wait(platform.topic("sites"), value=value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(send())


def details(mobile: str, ends_on: str) -> dict:
    return {"name": "两江工地", "company": {"name": "中建某局", "credit_code": credit_code()}, "district": "12",
            "category": "building", "address": {"street": "鱼洞街道", "detail": "1 号"}, "starts_on": "2026-01-01",
            "ends_on": ends_on, "manager": {"name": "王五", "mobile": mobile}}


def test_site_registration_refusal_and_a_site_past_its_end_date(platform, providers, infra):
    http, svc = platform.client("notifications"), registry_client(platform)
    site, manager_mobile = f"NT-{uuid.uuid4().hex[:6].upper()}", new_mobile()
    ended = today_in_chongqing() - timedelta(days=2)  # the reminder was due yesterday morning
    owner_account, owner_mobile = "owner-site-notice", new_mobile()
    _, code = issue_code(svc, svc.owner(owner_account), owner_mobile)

    facts = sites.MachineFacts(code=code, province="N", stage=code[0], registry_status="issued")
    publish(platform, infra, f"site-{site}", [sites.SiteRegistered(
        site_code=site, details=details(manager_mobile, ended.isoformat()), status="in_construction",
        admin_account_id=f"acct-{site}")])
    publish(platform, infra, f"presence-{code[2:]}", [sites.MachineEntered(
        stay_id=f"stay-{site}", site_code=site, district="12", department="housing", machine=facts,
        other_province=False, colour="blue", reason="ok", working_period={"starts_on": "2026-10-01",
                                                                          "ends_on": "2026-12-31"},
        entered_on="2026-10-01")])
    publish(platform, infra, f"refusal-{uuid.uuid4().hex}", [sites.EntryRefused(
        site_code=site, district="12", scanned=code, code=code, reason="high_emission_in_zone",
        message="高排放机械不得进入禁用区", machine=facts)])

    admin = platform.token(Role.SITE_ADMIN, f"acct-{site}", site_id=site)
    box = poll(lambda: inbox(http, admin), lambda b: {"site_registered", "site_past_end_date"} <=
               {i["template"] for i in b["items"]})
    past_end = next(i for i in box["items"] if i["template"] == "site_past_end_date")
    assert "仍有1台机械在场" in past_end["text"] and site in past_end["text"]
    assert box["total"] == 2
    owner = platform.token(Role.OWNER, owner_account)
    refused = poll(lambda: inbox(http, owner), lambda b: "entry_refused" in [i["template"] for i in b["items"]])
    notice = next(i for i in refused["items"] if i["template"] == "entry_refused")
    assert "高排放机械不得进入禁用区" in notice["text"] and site in notice["text"]
    poll(lambda: providers.sms_to(manager_mobile), lambda found: len(found) == 2)
