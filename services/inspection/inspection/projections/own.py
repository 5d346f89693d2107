"""Read models of the inspection service's own events: checks and violations."""

from __future__ import annotations

from pymongo import ASCENDING

from nrmm_kernel.projector import Projection, on

from ..domain import events as ev

CHECKS = "checks"
VIOLATIONS = "violations"


class Checks(Projection):
    """One document per check: what the inspector recorded and which violations it opened."""

    name = CHECKS
    contract = ev.registry

    def doc_id(self, envelope) -> str:
        return envelope.streamid.removeprefix("check-")

    @on(ev.MachineChecked)
    def checked(self, doc, event: ev.MachineChecked, envelope):
        data = event.model_dump(mode="json")
        return {**data, "owner_account_id": event.machine.owner_account_id, "machine_key": event.machine.machine_key,
                "at": envelope.time.isoformat(), "inspector_account_id": envelope.actorid}

    @on(ev.ViolationLinked)
    def linked(self, doc, event: ev.ViolationLinked, envelope):
        # the machine found uncoded was coded: its owner now reads the check too
        return {**(doc or {}), "owner_account_id": event.owner_account_id, "linked_code": event.code}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("site_code", ASCENDING)])
        await collection.create_index([("district", ASCENDING), ("department", ASCENDING)])
        await collection.create_index([("owner_account_id", ASCENDING)])
        await collection.create_index([("machine_key", ASCENDING)])  # an auditor's machine timeline
        await collection.create_index([("at", ASCENDING)])  # the city's latest checks


class Violations(Projection):
    """One document per violation, from opening to closure, with its history."""

    name = VIOLATIONS
    contract = ev.registry

    def doc_id(self, envelope) -> str:
        return envelope.data["violation_id"]

    def _step(self, doc: dict, envelope, **extra) -> dict:
        doc = dict(doc)
        doc["history"] = [*doc.get("history", []), {"event": envelope.event_name, "at": envelope.time.isoformat(),
                                                    "actor_id": envelope.actorid, "actor_role": envelope.actorrole,
                                                    **extra}]
        doc["updated_at"] = envelope.time.isoformat()
        return doc

    @on(ev.ViolationOpened)
    def opened(self, doc, event: ev.ViolationOpened, envelope):
        data = event.model_dump(mode="json")
        addressee = data["addressee"]
        doc = {**(doc or {}), **data, "status": "open", "overdue": False, "opened_at": envelope.time.isoformat(),
               "owner_account_id": addressee.get("owner_account_id"),
               "company_name": (addressee.get("company") or {}).get("name"),
               "machine_key": data["machine"].get("machine_key"), "serial_key": data["machine"].get("serial_key"),
               "rectifications": [], "retests": []}
        return self._step(doc, envelope)

    @on(ev.RectificationSubmitted)
    def submitted(self, doc, event: ev.RectificationSubmitted, envelope):
        doc = dict(doc or {})
        entry = {**event.model_dump(mode="json", exclude={"violation_id"}), "at": envelope.time.isoformat()}
        doc.update(status="rectification_submitted", rectifications=[*doc.get("rectifications", []), entry])
        return self._step(doc, envelope, measure=event.measure)

    @on(ev.RectificationReviewed)
    def reviewed(self, doc, event: ev.RectificationReviewed, envelope):
        doc = dict(doc or {})
        if not event.accepted:
            doc["status"] = "open"
        return self._step(doc, envelope, accepted=event.accepted, reason=event.reason)

    @on(ev.SmokeRetested)
    def retested(self, doc, event: ev.SmokeRetested, envelope):
        doc = dict(doc or {})
        doc["retests"] = [*doc.get("retests", []), {**event.smoke.model_dump(mode="json"),
                                                    "at": envelope.time.isoformat()}]
        if not event.passed:
            doc["status"] = "open"
        return self._step(doc, envelope, passed=event.passed)

    @on(ev.ViolationLinked)
    def linked(self, doc, event: ev.ViolationLinked, envelope):
        doc = dict(doc or {})
        doc.update(owner_account_id=event.owner_account_id, linked_code=event.code,
                   machine={**doc.get("machine", {}), "code": event.code,
                            "registry_machine_id": event.registry_machine_id,
                            "owner_account_id": event.owner_account_id},
                   addressee={**doc.get("addressee", {}), "owner_account_id": event.owner_account_id})
        return self._step(doc, envelope, code=event.code)

    @on(ev.ViolationClosed)
    def closed(self, doc, event: ev.ViolationClosed, envelope):
        doc = dict(doc or {})
        doc.update(status="closed", closed_at=envelope.time.isoformat(), closed_reason=event.reason)
        return self._step(doc, envelope, reason=event.reason)

    @on(ev.ViolationWithdrawn)
    def withdrawn(self, doc, event: ev.ViolationWithdrawn, envelope):
        doc = dict(doc or {})
        doc.update(status="withdrawn", closed_at=envelope.time.isoformat(), closed_reason="withdrawn")
        return self._step(doc, envelope, reason=event.reason)

    @on(ev.ViolationOverdue)
    def overdue(self, doc, event: ev.ViolationOverdue, envelope):
        doc = dict(doc or {})
        doc.update(overdue=True, overdue_at=envelope.time.isoformat())
        return self._step(doc, envelope)

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("owner_account_id", ASCENDING)])
        await collection.create_index([("site_code", ASCENDING)])
        await collection.create_index([("district", ASCENDING), ("department", ASCENDING)])
        await collection.create_index([("machine_key", ASCENDING)])
