"""Violations from the inspection service (its contract, ``inspection.contracts``):
each violation's state (``notice_violations``, read by reminders' conditions and the fan-out) and the notices:
opened, due in 3 days, overdue (to the owner or the recorded operator, and the site), and an uncoded machine's
deadline (rule C2)."""

from __future__ import annotations

from datetime import timedelta

from inspection import contracts as inspection
from nrmm_kernel.projector import Projection, on

from ..domain.notices import account, days_after, notice, reminder

REMINDER_DAYS_BEFORE_DUE = 3
UNCODED_DEADLINE_DAYS = 30  # rule C2: a machine without a code applies within 30 days
UNCODED_REMINDERS = (7, 1)  # days before that deadline


def addressees(addressee, site_code: str) -> list[dict]:
    """The owner (an uncoded machine: its recorded operator) and the site."""
    found = []
    if addressee.owner_account_id:
        found.append(account(addressee.owner_account_id))
    elif addressee.operator is not None:
        found.append({"mobile": addressee.operator.mobile, "name": addressee.operator.contact_name})
    return [*found, {"site_admin": site_code}]


def machine_words(machine) -> str:
    return machine.code or " ".join(p for p in (machine.brand, machine.model) if p) or "未编码机械"


class ViolationContext(Projection):
    name = "notice_violations"
    contract = inspection.events

    def doc_id(self, envelope) -> str:
        return envelope.data["violation_id"]

    @on(inspection.ViolationOpened)
    def opened(self, doc, event, envelope) -> dict:
        return {"violation_id": event.violation_id, "check_id": event.check_id, "open": True, "coded": False,
                "site_code": event.site_code, "machine": machine_words(event.machine), "detail": event.detail,
                "due_on": event.due_on.isoformat()}

    @on(inspection.ViolationLinked)
    def linked(self, doc, event, envelope) -> dict:
        return {**(doc or {}), "coded": True}

    @on(inspection.ViolationClosed, inspection.ViolationWithdrawn)
    def closed(self, doc, event, envelope) -> dict:
        coded = (doc or {}).get("coded") or getattr(event, "reason", "") == "coded"
        return {**(doc or {}), "open": False, "coded": coded}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index("check_id")


class ViolationNotices(Projection):
    name = "notice_requests_inspection"
    contract = inspection.events

    def doc_id(self, envelope) -> str:
        return envelope.id

    def finish(self, doc: dict, envelope) -> dict:
        return {"event_id": envelope.id, "event_type": envelope.event_name, "stream": envelope.streamid,
                "version": envelope.streamversion, "at": envelope.time, "done": False, "notices": [],
                "reminders": [], **doc}

    @on(inspection.ViolationOpened)
    def opened(self, doc, event, envelope) -> dict:
        to = addressees(event.addressee, event.site_code)
        params = {"site_code": event.site_code, "machine": machine_words(event.machine), "detail": event.detail,
                  "due_on": event.due_on}
        due_soon = event.due_at - timedelta(days=REMINDER_DAYS_BEFORE_DUE)
        return {"notices": [notice("violation_opened", who, **params) for who in to],
                "reminders": [reminder(f"violation-due:{event.violation_id}:{i}", due_soon, "violation_due_soon", who,
                                       condition={"violation_open": event.violation_id}, **params)
                              for i, who in enumerate(to)]}

    @on(inspection.ViolationOverdue)
    def overdue(self, doc, event, envelope) -> dict:
        # the site is known by the violation's context (the event names the addressee only)
        to = [*addressees(event.addressee, "")[:-1], {"violation_site": event.violation_id}]
        return {"violation": event.violation_id, "notices": [notice("violation_overdue", who) for who in to]}

    @on(inspection.MachineChecked)
    def checked(self, doc, event, envelope) -> dict:
        if event.coded or event.operator is None:
            return {}
        # rule C2: a machine found uncoded is coded within 30 days of the finding; its operator is reminded 7 days
        # and 1 day before (unless it is coded by then)
        deadline = event.checked_on + timedelta(days=UNCODED_DEADLINE_DAYS)
        operator = {"mobile": event.operator.mobile, "name": event.operator.contact_name}
        return {"reminders": [
            reminder(f"uncoded:{event.check_id}:{days}", days_after(deadline, -days), "uncoded_deadline", operator,
                     condition={"check_uncoded": event.check_id}, site_code=event.site_code,
                     machine=machine_words(event.machine), deadline=deadline, days=days)
            for days in UNCODED_REMINDERS]}
