"""The inspection service's own copies of other services' facts, fed from their topics: the registry's machines
(what a check shows and compares, rule D4) and the sites' sites and stays (entry registered at this site, rule E2).
Never another service's database."""

from __future__ import annotations

from pymongo import ASCENDING

from nrmm_kernel.codes import parse_code
from nrmm_kernel.identity import mask_id_number, mask_mobile
from nrmm_kernel.personal import ERASED, is_sealed
from nrmm_kernel.projector import Projection, on
from registry import contracts as reg
from registry.contracts import IN_FORCE, Status, status_after
from sites import contracts as site

from ..domain.rules import serial_key

SEALED_SHOWN = "***"
REGISTRY_MACHINES = "registry_machines"
SITES = "sites"
STAYS = "stays"
PHOTO_KINDS = ("photo_front", "photo_back", "photo_left", "photo_right", "photo_other", "machine_nameplate",
               "engine_nameplate", "environmental_label")


def _masked(value: str, mask) -> str:
    # sealed under the registry's key (#14): inspection cannot open it, and keeps no trace of it
    return SEALED_SHOWN if is_sealed(value) or value == ERASED else mask(value)


def _registrant(registrant) -> dict:
    # inspectors see ID numbers and mobiles masked: the copy never holds them in full; a person's name (sealed by
    # the registry) is not shown here either: the registry's lookup by code shows it to inspectors, opened
    return {"kind": registrant.kind.value, "name": _masked(registrant.name, str),
            "id_number": _masked(registrant.id_number, mask_id_number),
            "mobile": _masked(registrant.mobile, mask_mobile)}


def _machine(machine) -> dict:
    data = machine.model_dump(mode="json")
    data["engine_serial"] = machine.engine.serial
    return data


class RegistryMachines(Projection):
    """One document per registry machine record: its codes, owner (masked registrant), machine and photos."""

    name = REGISTRY_MACHINES
    contract = reg.events

    def evolve(self, doc, envelope):
        event = self.contract.decode(envelope)
        before = Status(doc["status"]) if doc and doc.get("status") else None
        doc = getattr(self, self._handlers[type(event)])(doc, event, envelope)
        status = status_after(before, event)  # the registry's own rule
        doc.update(status=status.value if status else None, in_force=status in IN_FORCE)
        return doc

    def _base(self, doc, envelope) -> dict:
        return dict(doc or {"registry_machine_id": envelope.streamid.removeprefix("machine-"), "codes": [],
                            "machine_keys": [], "code": None, "status": None})

    def _machine_fields(self, doc: dict) -> dict:
        machine = doc.get("machine") or {}
        doc["serial_key"] = serial_key(machine.get("brand"), machine.get("factory_serial"))
        return doc

    @on(reg.CodeRequested)
    def requested(self, doc, event: reg.CodeRequested, envelope):
        doc = self._base(doc, envelope)
        doc.update(owner_account_id=event.owner_account_id, registrant=_registrant(event.registrant),
                   machine=_machine(event.machine),
                   photos={k: v for k, v in event.uploads.items() if k in PHOTO_KINDS})
        return self._machine_fields(doc)

    @on(reg.ApplicationAmended)
    def amended(self, doc, event: reg.ApplicationAmended, envelope):
        doc = self._base(doc, envelope)
        doc.update(registrant=_registrant(event.registrant), machine=_machine(event.machine),
                   photos={k: v for k, v in event.uploads.items() if k in PHOTO_KINDS})
        return self._machine_fields(doc)

    @on(reg.CodeRejected)
    def rejected(self, doc, event: reg.CodeRejected, envelope):
        doc = self._base(doc, envelope)
        doc.pop("pending_machine", None)
        return doc

    @on(reg.CodeIssued)
    def issued(self, doc, event: reg.CodeIssued, envelope):
        doc = self._base(doc, envelope)
        if doc.get("pending_machine"):
            doc["machine"] = doc.pop("pending_machine")
        key = parse_code(event.code).machine_key
        doc.update(code=event.code, codes=sorted({*doc["codes"], event.code}),
                   machine_keys=sorted({*doc["machine_keys"], key}), issued_on=event.issued_on.isoformat())
        return self._machine_fields(doc)

    @on(reg.OwnerChanged)
    def owner_changed(self, doc, event: reg.OwnerChanged, envelope):
        doc = self._base(doc, envelope)
        doc.update(owner_account_id=event.new_owner_account_id, registrant=_registrant(event.registrant))
        return doc

    @on(reg.CodeCancelled)
    def cancelled(self, doc, event: reg.CodeCancelled, envelope):
        return self._base(doc, envelope)  # the status is all that changes

    @on(reg.MachineInfoCorrected)
    def corrected(self, doc, event: reg.MachineInfoCorrected, envelope):
        doc = self._base(doc, envelope)
        if event.requires_review:
            doc["pending_machine"] = _machine(event.machine)
        else:
            doc["machine"] = _machine(event.machine)
        return self._machine_fields(doc)

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("codes", ASCENDING)])
        await collection.create_index([("serial_key", ASCENDING), ("in_force", ASCENDING)])


class Sites(Projection):
    """One document per site: where it is, who governs it, its company and its admin (rule E1)."""

    name = SITES
    contract = site.events

    def doc_id(self, envelope) -> str:
        return envelope.streamid.removeprefix("site-")

    def _details(self, doc: dict, details) -> dict:
        doc.update(district=details.district, department=details.department.value if details.department else None,
                   name=details.name, street=details.address.street,
                   company={"name": details.company.name, "credit_code": details.company.credit_code})
        return doc

    @on(site.SiteRegistered)
    def registered(self, doc, event: site.SiteRegistered, envelope):
        doc = dict(doc or {})
        doc.update(site_code=event.site_code, status=event.status.value, admin_account_id=event.admin_account_id)
        return self._details(doc, event.details)

    @on(site.SiteUpdated)
    def updated(self, doc, event: site.SiteUpdated, envelope):
        return self._details(dict(doc or {}), event.details)

    @on(site.SiteStatusChanged)
    def status_changed(self, doc, event: site.SiteStatusChanged, envelope):
        return {**(doc or {}), "status": event.status.value}


class Stays(Projection):
    """One document per stay of a machine on a site: whether it is inside now (rule E2)."""

    name = STAYS
    contract = site.events

    def doc_id(self, envelope) -> str:
        return envelope.data["stay_id"]

    @on(site.MachineEntered)
    def entered(self, doc, event: site.MachineEntered, envelope):
        doc = dict(doc or {})
        doc.update(stay_id=event.stay_id, site_code=event.site_code, code=event.machine.code,
                   machine_key=parse_code(event.machine.code).machine_key, entered_on=event.entered_on.isoformat(),
                   zones=[z.model_dump() for z in event.zones])
        doc.setdefault("inside", True)
        return doc

    @on(site.MachineExited)
    def exited(self, doc, event: site.MachineExited, envelope):
        return {**(doc or {}), "inside": False, "exited_on": event.exited_on.isoformat(), "site_code": event.site_code}

    async def ensure_indexes(self, collection) -> None:
        await collection.create_index([("site_code", ASCENDING), ("machine_key", ASCENDING), ("inside", ASCENDING)])
