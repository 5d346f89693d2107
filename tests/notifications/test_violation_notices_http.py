"""Violations told to whom they are addressed (the inspection service's events, real processes of every service
it stands on, the development outbox channel): the owner and the site's admin in their inboxes, an uncoded machine's
recorded operator by SMS, and the reminders set: 3 days before the deadline, and 7 days and 1 day before an uncoded
machine's 30 days (rule C2)."""

from __future__ import annotations

import pymongo

from nrmm_kernel.reference import Role
from tests.inspection.conftest import platform, serial  # noqa: F401 - the inspection platform, as its tests run it
from tests.notifications.conftest import new_mobile
from tests.notifications.helpers import inbox, poll


def templates(p, headers: dict) -> list[str]:
    return [i["template"] for i in inbox(p.api, headers)["items"]]


def test_a_violation_tells_the_owner_the_site_and_an_uncoded_machines_operator(platform):  # noqa: F811
    p = platform
    site, admin = p.register_site(district="04")
    owner = p.token(Role.OWNER, "owner-violation-notice")
    code = p.issue_code(owner="owner-violation-notice", district="04", stage="3")
    p.enter(site, admin, code)
    inspector = p.inspector("04")
    p.scanned(inspector, site, code, until=lambda d: d["open_stay"] is not None)
    smoky = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": site, "qr": f"NRMM:1:{code}", "plate": "affixed", "card_carried": True,
        "observed": {"brand": "三一", "model": "SY215C", "emission_stage": "3"},
        "photos": [p.photo(inspector)], "smoke": {"k": 1.35, "ringelmann": 1}})
    assert smoky.status_code == 201, smoky.text
    violation = smoky.json()["violations"][0]["violation_id"]
    operator_mobile = new_mobile()
    uncoded = p.api.post("/api/inspection/checks", headers=inspector, json={
        "site_code": site, "photos": [p.photo(inspector)],
        "uncoded": {"category": "forklift", "brand": "合力", "model": "CPCD30", "factory_serial": serial(),
                    "operator": {"user_unit": "某某租赁公司", "contact_name": "李四", "mobile": operator_mobile}}})
    assert uncoded.status_code == 201, uncoded.text
    check_id = uncoded.json()["check_id"]

    poll(lambda: templates(p, owner), lambda t: "violation_opened" in t)
    poll(lambda: templates(p, admin), lambda t: t.count("violation_opened") == 2)  # both machines on its site
    sms = poll(lambda: p.api.get("/api/notifications/outbox", params={"to": operator_mobile},
                                 headers=p.admin).json(), lambda found: found)
    assert [m["template"] for m in sms] == ["violation_opened"] and sms[0]["params"]["machine"] == "合力 CPCD30"

    client = pymongo.MongoClient(p.infra.mongodb_url, tz_aware=True)
    try:
        reminders = client[f"{p.platform.namespace}_notifications"]["reminders"]
        keys = {r["_id"] for r in poll(lambda: list(reminders.find({"source": {"$exists": True}})),
                                       lambda found: any(k["_id"].startswith("uncoded:") for k in found))}
        assert {f"uncoded:{check_id}:7", f"uncoded:{check_id}:1"} <= keys  # rule C2
        assert any(k.startswith(f"violation-due:{violation}:") for k in keys)
    finally:
        client.close()
