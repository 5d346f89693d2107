"""Read models of the registry: one document per machine record, one per other-province machine."""

from __future__ import annotations

from pymongo import ASCENDING

from nrmm_kernel.codes import parse_code
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projector import Projection

MACHINES = "machine_records"
EXTERNAL = "external_machines"


def _history_entry(envelope: EventEnvelope, **extra) -> dict:
    return {"event": envelope.event_name, "version": envelope.streamversion, "at": envelope.time.isoformat(),
            "actor_id": envelope.actorid, "actor_role": envelope.actorrole, **extra}


class MachineRecords(Projection):
    """Applications and machines: what owners, reviewers, inspectors and gates read."""

    name = MACHINES
    event_names = frozenset({
        "CodeRequested", "ApplicationAmended", "CodeRejected", "CodeIssued", "OwnerChanged", "CodeCancelled",
        "PlateReissueRequested", "PlateReissued", "MachineInfoCorrected", "OwnerChangeRequested",
        "OwnerChangeCancelled",
    })

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        doc = dict(doc or {"history": [], "previous_owners": [], "codes": [], "reissue_count": 0,
                           "reissue_requested": False, "pending_correction": None, "rejection_reasons": []})
        extra: dict = {}
        match envelope.event_name:
            case "CodeRequested" | "ApplicationAmended":
                if envelope.event_name == "CodeRequested":
                    doc.update(machine_id=d["machine_id"], owner_account_id=d["owner_account_id"],
                               applied_at=envelope.time.isoformat())
                doc.update(status="submitted", registrant=d["registrant"], machine=d["machine"], uploads=d["uploads"],
                           submitted_on=d["submitted_on"], late=d["late"],
                           days_after_acquisition=d["days_after_acquisition"], rejection_reasons=[])
                extra = {"late": d["late"]}
            case "CodeRejected":
                if d["of_correction"]:
                    doc.update(status="issued", pending_correction=None)
                else:
                    doc.update(status="rejected")
                doc["rejection_reasons"] = d["reasons"]
                extra = {"reasons": d["reasons"]}
            case "CodeIssued":
                if doc.get("pending_correction"):
                    doc["machine"] = doc["pending_correction"]
                codes = doc["codes"] if d["code"] in doc["codes"] else [*doc["codes"], d["code"]]
                doc.update(status="issued", code=d["code"], issued_on=d["issued_on"], pending_correction=None,
                           codes=codes, rejection_reasons=[])
                extra = {"code": d["code"], "previous_code": d.get("previous_code")}
            case "OwnerChangeRequested":  # rule C6: pending until the new owner accepts
                doc["owner_change"] = {k: d[k] for k in ("new_owner_account_id", "transferred_on", "reported_on",
                                                         "late", "expires_on")}
                extra = {"transferred_on": d["transferred_on"], "late": d["late"], "expires_on": d["expires_on"]}
            case "OwnerChangeCancelled":
                doc["owner_change"] = None
                extra = {"reason": d["reason"]}
            case "OwnerChanged":
                doc["previous_owners"] = [*doc["previous_owners"], doc["owner_account_id"]]
                doc.update(owner_account_id=d["new_owner_account_id"], registrant=d["registrant"],
                           owner_change_late=d["late"], owner_since_version=envelope.streamversion, owner_change=None)
                extra = {"transferred_on": d["transferred_on"], "late": d["late"]}
            case "CodeCancelled":
                doc.update(status="cancelled", cancellation={k: d[k] for k in
                                                             ("reason", "note", "occurred_on", "reported_on", "late")})
                extra = {"reason": d["reason"], "late": d["late"]}
            case "PlateReissueRequested":
                doc.update(reissue_requested=True, reissue_late=d["late"])
                extra = {"late": d["late"]}
            case "PlateReissued":
                doc.update(reissue_requested=False, reissue_count=d["reissue_count"])
                extra = {"reissue_count": d["reissue_count"]}
            case "MachineInfoCorrected":
                if d["requires_review"]:
                    doc.update(status="correction_review", pending_correction=d["machine"])
                else:
                    doc["machine"] = d["machine"]
                doc["rejection_reasons"] = []
                extra = {"changed_fields": d["changed_fields"], "requires_review": d["requires_review"]}
        machine = doc.get("pending_correction") or doc.get("machine") or {}
        current = doc.get("machine") or {}
        # flat fields the queue and searches filter on
        doc.update(district=current.get("district"), category=current.get("category"),
                   stage=(parse_code(doc["code"]).stage if doc.get("code") else machine.get("emission_stage")),
                   updated_at=envelope.time.isoformat())
        doc["history"] = [*doc["history"], _history_entry(envelope, **extra)]
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("owner_account_id", ASCENDING)])
        await collection.create_index([("owner_change.new_owner_account_id", ASCENDING)])
        await collection.create_index([("code", ASCENDING)])
        await collection.create_index([("district", ASCENDING), ("status", ASCENDING)])


class ExternalMachines(Projection):
    """Machines with another province's code (rule C3), keyed by code."""

    name = EXTERNAL
    event_names = frozenset({"ExternalMachineDeclared"})

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.data["code"]

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        doc = dict(doc or {"declared_at": envelope.time.isoformat()})
        doc.update(code=d["code"], province=d["province"], stage=d["stage"],
                   category=d.get("category") or doc.get("category"), source=d["source"],
                   declared_by_account_id=d.get("declared_by_account_id"))
        return doc
