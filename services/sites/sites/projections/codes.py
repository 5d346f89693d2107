"""The sites service's own copy of the registry's codes, from the registry topic (rule E3: the platform
verifies the code; the gate path reads only this service's database)."""

from __future__ import annotations

from pymongo import ASCENDING

from nrmm_kernel.codes import parse_code
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projector import Projection

REGISTRY_CODES = "registry_codes"
EXTERNAL_CODES = "external_codes"
MACHINE_FIELDS = ("category", "fuel", "brand", "model", "emission_stage", "rated_power_kw", "district")


class RegistryCodes(Projection):
    """One document per registry machine record: its codes, status and what a gate shows."""

    name = REGISTRY_CODES
    event_names = frozenset({"CodeRequested", "ApplicationAmended", "CodeRejected", "CodeIssued", "OwnerChanged",
                             "CodeCancelled", "MachineInfoCorrected"})

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        doc = dict(doc or {"codes": [], "status": None, "code": None})
        match envelope.event_name:
            case "CodeRequested" | "ApplicationAmended":
                if envelope.event_name == "CodeRequested":
                    doc["owner_account_id"] = d["owner_account_id"]
                doc.update(status="submitted", machine={k: d["machine"].get(k) for k in MACHINE_FIELDS})
            case "CodeRejected":
                doc["status"] = "issued" if d["of_correction"] else "rejected"
                doc.pop("pending_machine", None)
            case "CodeIssued":
                if doc.get("pending_machine"):
                    doc["machine"] = doc.pop("pending_machine")
                codes = doc["codes"] if d["code"] in doc["codes"] else [*doc["codes"], d["code"]]
                doc.update(status="issued", code=d["code"], codes=codes)
            case "OwnerChanged":
                # a new owner sees the machine's site history from here on, not the previous owner's
                doc.update(owner_account_id=d["new_owner_account_id"], owner_since=envelope.time.isoformat())
            case "CodeCancelled":
                doc["status"] = "cancelled"
            case "MachineInfoCorrected":
                machine = {k: d["machine"].get(k) for k in MACHINE_FIELDS}
                if d["requires_review"]:
                    doc.update(status="correction_review", pending_machine=machine)
                else:
                    doc["machine"] = machine
        machine = doc.get("machine") or {}
        doc.update(category=machine.get("category"), fuel=machine.get("fuel"), brand=machine.get("brand"),
                   model=machine.get("model"),
                   stage=parse_code(doc["code"]).stage if doc.get("code") else machine.get("emission_stage"))
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("codes", ASCENDING)])


class ExternalCodes(Projection):
    """Other provinces' codes declared in the registry (rule C3): what category they are."""

    name = EXTERNAL_CODES
    event_names = frozenset({"ExternalMachineDeclared", "ExternalMachineConfirmed"})

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.data["code"]

    def evolve(self, doc, envelope: EventEnvelope):
        d = envelope.data
        doc = dict(doc or {})
        if envelope.event_name == "ExternalMachineConfirmed":
            doc["confirmed"] = True
            return doc
        doc.update(code=d["code"], province=d["province"], stage=d["stage"],
                   machine_key=parse_code(d["code"]).machine_key,
                   confirmed=d.get("confirmed", False) or doc.get("confirmed", False),
                   category=d.get("category") or doc.get("category"))
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("machine_key", ASCENDING)])
