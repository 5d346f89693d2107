"""Read models of the registry: one document per machine record, one per other-province machine."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from nrmm_kernel.codes import parse_code
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projector import Projection, on

from ..domain.events import (
    ApplicationAmended,
    CodeCancelled,
    CodeIssued,
    CodeRejected,
    CodeRequested,
    ExternalMachineDeclared,
    MachineInfoCorrected,
    OwnerChangeCancelled,
    OwnerChanged,
    OwnerChangeRequested,
    PlateReissued,
    PlateReissueRequested,
    registry,
)
from ..domain.status import Status, status_after

MACHINES = "machine_records"
EXTERNAL = "external_machines"


class MachineRecords(Projection):
    """Applications and machines: what owners, reviewers, inspectors and gates read."""

    name = MACHINES
    contract = registry

    @staticmethod
    def _new(doc):
        return dict(doc or {"history": [], "previous_owners": [], "codes": [], "reissue_count": 0,
                            "reissue_requested": False, "pending_correction": None, "rejection_reasons": []})

    def evolve(self, doc, envelope: EventEnvelope):
        event = self.contract.decode(envelope)
        doc = self._new(doc)
        status = status_after(Status(doc["status"]) if doc.get("status") else None, event)  # the aggregate's rule
        doc["_history_extra"] = {}
        doc = getattr(self, self._handlers[type(event)])(doc, event, envelope)
        doc["status"] = status.value if status else None
        return self.finish(doc, envelope)

    @on(CodeRequested, ApplicationAmended)
    def submitted(self, doc, e: CodeRequested | ApplicationAmended, envelope: EventEnvelope):
        if isinstance(e, CodeRequested):
            doc.update(machine_id=e.machine_id, owner_account_id=e.owner_account_id,
                       applied_at=envelope.time.isoformat())
        doc.update(registrant=e.registrant.model_dump(mode="json"), machine=e.machine.model_dump(mode="json"),
                   uploads=e.uploads, submitted_on=e.submitted_on.isoformat(), late=e.late,
                   days_after_acquisition=e.days_after_acquisition, rejection_reasons=[])
        doc["_history_extra"] = {"late": e.late}
        return doc

    @on(CodeRejected)
    def rejected(self, doc, e: CodeRejected, envelope: EventEnvelope):
        if e.of_correction:
            doc["pending_correction"] = None
        doc["rejection_reasons"] = e.reasons
        doc["_history_extra"] = {"reasons": e.reasons}
        return doc

    @on(CodeIssued)
    def issued(self, doc, e: CodeIssued, envelope: EventEnvelope):
        if doc.get("pending_correction"):
            doc["machine"] = doc["pending_correction"]
        codes = doc["codes"] if e.code in doc["codes"] else [*doc["codes"], e.code]
        doc.update(code=e.code, issued_on=e.issued_on.isoformat(), pending_correction=None, codes=codes,
                   rejection_reasons=[])
        doc["_history_extra"] = {"code": e.code, "previous_code": e.previous_code}
        return doc

    @on(OwnerChangeRequested)
    def owner_change_requested(self, doc, e: OwnerChangeRequested, envelope: EventEnvelope):
        # rule C6: pending until the new owner accepts
        doc["owner_change"] = e.model_dump(mode="json", include={"new_owner_account_id", "transferred_on",
                                                                  "reported_on", "late", "expires_on"})
        doc["_history_extra"] = {"transferred_on": e.transferred_on.isoformat(), "late": e.late,
                                 "expires_on": e.expires_on.isoformat()}
        return doc

    @on(OwnerChangeCancelled)
    def owner_change_cancelled(self, doc, e: OwnerChangeCancelled, envelope: EventEnvelope):
        doc["owner_change"] = None
        doc["_history_extra"] = {"reason": e.reason}
        return doc

    @on(OwnerChanged)
    def owner_changed(self, doc, e: OwnerChanged, envelope: EventEnvelope):
        doc["previous_owners"] = [*doc["previous_owners"], doc["owner_account_id"]]
        doc.update(owner_account_id=e.new_owner_account_id, registrant=e.registrant.model_dump(mode="json"),
                   owner_change_late=e.late, owner_since_version=envelope.streamversion, owner_change=None)
        doc["_history_extra"] = {"transferred_on": e.transferred_on.isoformat(), "late": e.late}
        return doc

    @on(CodeCancelled)
    def cancelled(self, doc, e: CodeCancelled, envelope: EventEnvelope):
        doc["cancellation"] = e.model_dump(mode="json", include={"reason", "note", "occurred_on", "reported_on",
                                                                  "late"})
        doc["_history_extra"] = {"reason": e.reason, "late": e.late}
        return doc

    @on(PlateReissueRequested)
    def reissue_requested(self, doc, e: PlateReissueRequested, envelope: EventEnvelope):
        doc.update(reissue_requested=True, reissue_late=e.late)
        doc["_history_extra"] = {"late": e.late}
        return doc

    @on(PlateReissued)
    def reissued(self, doc, e: PlateReissued, envelope: EventEnvelope):
        doc.update(reissue_requested=False, reissue_count=e.reissue_count)
        doc["_history_extra"] = {"reissue_count": e.reissue_count}
        return doc

    @on(MachineInfoCorrected)
    def corrected(self, doc, e: MachineInfoCorrected, envelope: EventEnvelope):
        machine = e.machine.model_dump(mode="json")
        if e.requires_review:
            doc["pending_correction"] = machine
        else:
            doc["machine"] = machine
        doc["rejection_reasons"] = []
        doc["_history_extra"] = {"changed_fields": e.changed_fields, "reviewed_fields": e.reviewed_fields,
                                 "requires_review": e.requires_review}
        return doc

    def finish(self, doc, envelope: EventEnvelope):
        extra = doc.pop("_history_extra", {})
        machine = doc.get("pending_correction") or doc.get("machine") or {}
        current = doc.get("machine") or {}
        # flat fields the queue and searches filter on
        doc.update(district=current.get("district"), category=current.get("category"),
                   stage=(parse_code(doc["code"]).stage if doc.get("code") else machine.get("emission_stage")),
                   updated_at=envelope.time.isoformat())
        doc["history"] = [*doc["history"], {
            "event": envelope.event_name, "version": envelope.streamversion, "at": envelope.time.isoformat(),
            "actor_id": envelope.actorid, "actor_role": envelope.actorrole, **extra}]
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("owner_account_id", ASCENDING)])
        await collection.create_index([("owner_change.new_owner_account_id", ASCENDING)])
        await collection.create_index([("code", ASCENDING)])
        await collection.create_index([("codes", ASCENDING)])
        await collection.create_index([("district", ASCENDING), ("status", ASCENDING)])
        await collection.create_index([("updated_at", DESCENDING)])  # the city-wide list, newest change first


class ExternalMachines(Projection):
    """Machines with another province's code (rule C3), keyed by code."""

    name = EXTERNAL
    contract = registry

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.data["code"]

    @on(ExternalMachineDeclared)
    def declared(self, doc, e: ExternalMachineDeclared, envelope: EventEnvelope):
        doc = dict(doc or {"declared_at": envelope.time.isoformat()})
        doc.update(code=e.code, province=e.province, stage=e.stage, category=e.category or doc.get("category"),
                   source=e.source, declared_by_account_id=e.declared_by_account_id)
        return doc
