"""Read models of data sharing (rules D5, N1, N2): special-equipment records with their follow-up tasks, the
public disclosures, spot checks; and the copy of the registry's applications the matching works from (fed from
the registry's topic, with a mark for the follow-up closer)."""

from __future__ import annotations

from pymongo import ASCENDING

from nrmm_kernel.projector import Projection, on
from registry import contracts as reg
from registry.contracts import Status, status_after

from ..domain.events import registry as own
from ..domain.rules import serial_key
from ..domain.sharing_events import (
    FollowUpClosed,
    FollowUpOpened,
    ModelDisclosed,
    SpecialEquipmentMatched,
    SpecialEquipmentRecorded,
    SpotCheckRecorded,
)

APPLICATIONS = "sharing_applications"
SPECIAL_EQUIPMENT = "special_equipment"
DISCLOSURES = "disclosures"
SPOT_CHECKS = "spot_checks"
# a machine the registry knows, coded or applied for: its special-equipment record needs no follow-up (rule D5)
KNOWN_STATUSES = frozenset({Status.SUBMITTED.value, Status.ISSUED.value, Status.CORRECTION_REVIEW.value})


class SharingApplications(Projection):
    """One document per registry machine record: its brand + factory serial, status and code. ``closer`` is
    ``new`` when the machine became known (or its serial changed): the follow-up closer looks for those."""

    name = APPLICATIONS
    contract = reg.events

    def evolve(self, doc, envelope):
        event = self.contract.decode(envelope)
        doc = dict(doc or {"registry_machine_id": envelope.streamid.removeprefix("machine-"), "code": None,
                           "status": None, "serial_key": None, "closer": "done"})
        before = Status(doc["status"]) if doc.get("status") else None
        was_known = doc.get("status") in KNOWN_STATUSES
        old_key = doc.get("serial_key")
        doc = getattr(self, self._handlers[type(event)])(doc, event, envelope)
        status = status_after(before, event)
        doc["status"] = status.value if status else None
        if doc["status"] in KNOWN_STATUSES and (not was_known or doc["serial_key"] != old_key):
            doc.update(closer="new", known_at=envelope.time.isoformat())
        return doc

    @staticmethod
    def _machine(doc, machine) -> dict:
        doc["serial_key"] = serial_key(machine.brand, machine.factory_serial)
        return doc

    @on(reg.CodeRequested, reg.ApplicationAmended)
    def applied(self, doc, event, envelope):
        return self._machine(doc, event.machine)

    @on(reg.MachineInfoCorrected)
    def corrected(self, doc, event: reg.MachineInfoCorrected, envelope):
        return self._machine(doc, event.machine)

    @on(reg.CodeIssued)
    def issued(self, doc, event: reg.CodeIssued, envelope):
        return {**doc, "code": event.code}

    @on(reg.CodeRejected, reg.CodeCancelled)
    def other(self, doc, event, envelope):
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("serial_key", ASCENDING)])
        await collection.create_index([("closer", ASCENDING)])


class SpecialEquipmentView(Projection):
    """One document per special-equipment record (rule D5), with its match and its follow-up task."""

    name = SPECIAL_EQUIPMENT
    contract = own

    def doc_id(self, envelope) -> str:
        return envelope.streamid.removeprefix("special-equipment-")

    @on(SpecialEquipmentRecorded)
    def recorded(self, doc, event: SpecialEquipmentRecorded, envelope):
        doc = dict(doc or {"follow_up": None, "match": None, "first_recorded_at": envelope.time.isoformat()})
        doc.update(event.equipment.model_dump(), serial_key=event.serial_key, source=event.source,
                   updated_at=envelope.time.isoformat())
        return doc

    @on(SpecialEquipmentMatched)
    def matched(self, doc, event: SpecialEquipmentMatched, envelope):
        return {**(doc or {}), "match": {"registry_machine_id": event.registry_machine_id, "code": event.code}}

    @on(FollowUpOpened)
    def opened(self, doc, event: FollowUpOpened, envelope):
        return {**(doc or {}), "follow_up": {
            "state": "open", "district": event.district, "contact": event.contact,
            "opened_on": event.opened_on.isoformat(), "opened_at": envelope.time.isoformat()},
            "follow_up_state": "open"}

    @on(FollowUpClosed)
    def closed(self, doc, event: FollowUpClosed, envelope):
        doc = dict(doc or {})
        doc["follow_up"] = {**(doc.get("follow_up") or {}), "state": "closed", "reason": event.reason,
                            "registry_machine_id": event.registry_machine_id,
                            "closed_at": event.closed_at.isoformat()}
        doc["follow_up_state"] = "closed"
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("district", ASCENDING), ("follow_up_state", ASCENDING)])
        await collection.create_index([("follow_up_state", ASCENDING)])


class DisclosuresView(Projection):
    """One document per disclosed model (rule N1): what the public query answers."""

    name = DISCLOSURES
    contract = own

    def doc_id(self, envelope) -> str:
        return envelope.streamid.removeprefix("disclosure-")

    @on(ModelDisclosed)
    def disclosed(self, doc, event: ModelDisclosed, envelope):
        body = event.model_dump(mode="json", exclude={"digest", "source"})
        history = [*(doc or {}).get("history", []),
                   {"at": envelope.time.isoformat(), "version": envelope.streamversion}]
        return {**body, "disclosed_at": envelope.time.isoformat(), "history": history[-20:]}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("brand", ASCENDING)])


class SpotChecksView(Projection):
    """One document per spot check (rule N2), with its findings; results per manufacturer aggregate over them."""

    name = SPOT_CHECKS
    contract = own

    def doc_id(self, envelope) -> str:
        return envelope.streamid.removeprefix("spot-check-")

    @on(SpotCheckRecorded)
    def recorded(self, doc, event: SpotCheckRecorded, envelope):
        body = event.model_dump(mode="json")
        body["manufacturer_key"] = "".join(event.manufacturer.split()).upper()
        body["recorded_at"] = envelope.time.isoformat()
        body["inspector_account_id"] = envelope.actorid
        return body

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("district", ASCENDING)])
        await collection.create_index([("manufacturer_key", ASCENDING)])


def sharing_projections() -> list[Projection]:
    return [SpecialEquipmentView(), DisclosuresView(), SpotChecksView()]
