"""Acceptance, on the real broker and database with real processes: an approval gives exactly one "collect your
plate and card" notice and one outbound message even when the notifications service is killed (kill -9) while
sending; a reminder due while the service was down is sent once after it starts, by two instances at once."""

from __future__ import annotations

import signal
import threading

from nrmm_kernel.reference import Role
from tests.notifications.conftest import new_mobile, provider_env
from tests.notifications.helpers import admin, inbox, issue_code, poll, registry_client
from tests.platform import start_platform

ELEVEN_DAYS = str(11 * 24 * 3600)


def kill_notifications(platform) -> None:
    process = platform.processes.pop("notifications")
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def test_killed_while_sending_the_owner_still_gets_one_notice_and_one_message(infra, providers):
    platform = start_platform(infra, ["registry", "notifications"], provider_env(providers))
    restarted = None
    try:
        svc, mobile = registry_client(platform), new_mobile()
        providers.held[mobile] = hold = threading.Event()  # the provider takes the message and never answers
        owner_account = "owner-accept-1"
        _, code = issue_code(svc, svc.owner(owner_account), mobile)
        poll(lambda: providers.sms_to(mobile), lambda found: found)  # the message is on its way...
        kill_notifications(platform)  # ...when the service dies
        hold.set()

        restarted = start_platform(infra, ["notifications"], provider_env(providers), joining=platform)
        http, owner = restarted.client("notifications"), platform.token(Role.OWNER, owner_account)
        box = poll(lambda: inbox(http, owner), lambda b: b["items"])
        out_id = providers.sms_to(mobile)[0]["OutId"]
        sent = poll(lambda: http.get(f"/api/notifications/deliveries/{out_id}", headers=admin(platform)).json(),
                    lambda d: d["status"] == "sent")
        assert [i["template"] for i in box["items"]] == ["code_issued"] and code in box["items"][0]["text"]
        # at least once to the provider, one deduplication key: one message for the phone
        requests = providers.sms_to(mobile)
        assert len({r["OutId"] for r in requests}) == 1 and len(requests) == 2
        assert [h["outcome"] for h in sent["history"]] == ["abandoned", "sent"]
        assert inbox(http, owner)["total"] == 1
    finally:
        platform.stop()
        if restarted:
            restarted.stop()


def test_a_reminder_due_while_the_service_was_down_is_sent_once(infra, providers):
    platform = start_platform(infra, ["registry", "notifications"], provider_env(providers))
    later = None
    try:
        svc, mobile = registry_client(platform), new_mobile()
        owner_account = "owner-reminded-1"
        owner = platform.token(Role.OWNER, owner_account)
        _, code = issue_code(svc, svc.owner(owner_account), mobile)
        reported = svc.http.post(f"/api/registry/machines/{code}/plate-reissue", headers=svc.owner(owner_account),
                                 json={"damaged_on": "2026-11-01", "reason": "标牌脱落"})
        assert reported.status_code == 200, reported.text
        done = svc.http.post(f"/api/registry/machines/{code}/plate-reissue/completion", headers=svc.reviewer())
        assert done.status_code == 200, done.text
        http = platform.client("notifications")
        poll(lambda: [i["template"] for i in inbox(http, owner)["items"]],
             lambda t: "plate_reissue_ready" in t)
        kill_notifications(platform)

        # rule C8: ten days later nobody collected it; two instances start with their clocks eleven days on
        env = {**provider_env(providers), "NRMM_CLOCK_OFFSET_SECONDS": ELEVEN_DAYS}
        later = start_platform(infra, ["notifications"], env, joining=platform)
        second = start_platform(infra, ["notifications"], env, joining=platform)
        later.processes["second"] = second.processes["notifications"]
        http = later.client("notifications")
        box = poll(lambda: inbox(http, owner), lambda b: "plate_reissue_not_collected" in
                   [i["template"] for i in b["items"]])
        reminder_sms = poll(lambda: [r for r in providers.sms_to(mobile)
                                     if r["TemplateCode"] == "SMS_NRMM_PLATE_NOT_COLLECTED"], lambda found: found)
        poll(lambda: http.get("/api/notifications/deliveries", params={"status": "pending"},
                              headers=admin(platform)).json(), lambda pending: not pending)
        templates = [i["template"] for i in inbox(http, owner)["items"]]
        assert templates.count("plate_reissue_not_collected") == 1, templates
        assert len({r["OutId"] for r in reminder_sms}) == 1
        assert box["items"][0]["params"]["days"] == 10 and code in box["items"][0]["text"]
    finally:
        platform.stop()
        if later:
            later.stop()
