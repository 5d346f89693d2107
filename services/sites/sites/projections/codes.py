"""The sites service's own copy of the registry's codes, from the registry topic (rule E3: the platform
verifies the code; the gate decides from this service's database, and asks the registry before refusing).

Typed by the registry's contract (``registry.contracts``): its events, their upcasters and the status rule."""

from __future__ import annotations

from pymongo import ASCENDING

from nrmm_kernel.codes import parse_code
from nrmm_kernel.envelope import EventEnvelope
from nrmm_kernel.projector import Projection, on
from registry import contracts as registry
from registry.contracts import Status, status_after

REGISTRY_CODES = "registry_codes"
EXTERNAL_CODES = "external_codes"
MACHINE_FIELDS = {"category", "fuel", "brand", "model", "emission_stage", "rated_power_kw", "district"}


def gate_facts(machine) -> dict:
    return machine.model_dump(mode="json", include=MACHINE_FIELDS)


class RegistryCodes(Projection):
    """One document per registry machine record: its codes, status and what a gate shows."""

    name = REGISTRY_CODES
    contract = registry.events

    def evolve(self, doc, envelope: EventEnvelope):
        event = self.contract.decode(envelope)
        doc = dict(doc or {"codes": [], "status": None, "code": None})
        status = status_after(Status(doc["status"]) if doc.get("status") else None, event)  # the registry's rule
        doc = getattr(self, self._handlers[type(event)])(doc, event, envelope)
        doc["status"] = status.value if status else None
        machine = doc.get("machine") or {}
        doc.update(category=machine.get("category"), fuel=machine.get("fuel"), brand=machine.get("brand"),
                   model=machine.get("model"),
                   stage=parse_code(doc["code"]).stage if doc.get("code") else machine.get("emission_stage"))
        return doc

    @on(registry.CodeRequested, registry.ApplicationAmended)
    def submitted(self, doc, e, envelope: EventEnvelope):
        if isinstance(e, registry.CodeRequested):
            doc["owner_account_id"] = e.owner_account_id
        doc["machine"] = gate_facts(e.machine)
        return doc

    @on(registry.CodeRejected)
    def rejected(self, doc, e: registry.CodeRejected, envelope: EventEnvelope):
        doc.pop("pending_machine", None)
        return doc

    @on(registry.CodeIssued)
    def issued(self, doc, e: registry.CodeIssued, envelope: EventEnvelope):
        if doc.get("pending_machine"):
            doc["machine"] = doc.pop("pending_machine")
        codes = doc["codes"] if e.code in doc["codes"] else [*doc["codes"], e.code]
        doc.update(code=e.code, codes=codes)
        return doc

    @on(registry.OwnerChanged)
    def owner_changed(self, doc, e: registry.OwnerChanged, envelope: EventEnvelope):
        # a new owner sees the machine's site history from here on, not the previous owner's
        doc.update(owner_account_id=e.new_owner_account_id, owner_since=envelope.time.isoformat())
        return doc

    @on(registry.CodeCancelled)
    def cancelled(self, doc, e: registry.CodeCancelled, envelope: EventEnvelope):
        return doc  # the status is all that changes

    @on(registry.MachineInfoCorrected)
    def corrected(self, doc, e: registry.MachineInfoCorrected, envelope: EventEnvelope):
        if e.requires_review:
            doc["pending_machine"] = gate_facts(e.machine)
        else:
            doc["machine"] = gate_facts(e.machine)
        return doc

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("codes", ASCENDING)])


class ExternalCodes(Projection):
    """Other provinces' codes declared in the registry (rule C3): what category they are."""

    name = EXTERNAL_CODES
    contract = registry.events

    def doc_id(self, envelope: EventEnvelope) -> str:
        return envelope.data["code"]

    @on(registry.ExternalMachineDeclared)
    def declared(self, doc, e: registry.ExternalMachineDeclared, envelope: EventEnvelope):
        doc = dict(doc or {})
        doc.update(code=e.code, province=e.province, stage=e.stage, machine_key=parse_code(e.code).machine_key,
                   confirmed=e.confirmed or doc.get("confirmed", False), category=e.category or doc.get("category"))
        return doc

    @on(registry.ExternalMachineConfirmed)
    def confirmed(self, doc, e: registry.ExternalMachineConfirmed, envelope: EventEnvelope):
        return {**(doc or {}), "confirmed": True}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("machine_key", ASCENDING)])
