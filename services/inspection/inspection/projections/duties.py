"""Read model of a site's own duties (rules D2, E5, E6): one document per site."""

from __future__ import annotations

from nrmm_kernel.projector import Projection, on

from ..domain import events as ev

DUTIES = "site_duties"


class SiteDutiesView(Projection):
    name = DUTIES
    contract = ev.registry

    def doc_id(self, envelope) -> str:
        return envelope.streamid.removeprefix("duties-")

    def _base(self, doc, event) -> dict:
        return dict(doc or {"site_code": event.site_code, "management_rules": None, "project_owner": None,
                            "contracts": [], "fuel_receipts": []})

    @staticmethod
    def _replace(rows: list, key: str, value: str, **changes) -> list:
        return [{**row, **changes} if row[key] == value else row for row in rows]

    @on(ev.ManagementRulesUploaded)
    def rules_uploaded(self, doc, event: ev.ManagementRulesUploaded, envelope):
        doc = self._base(doc, event)
        doc["management_rules"] = {"title": event.title, "documents": event.documents, "status": "submitted",
                                   "uploaded_at": envelope.time.isoformat()}
        return doc

    @on(ev.ManagementRulesReviewed)
    def rules_reviewed(self, doc, event: ev.ManagementRulesReviewed, envelope):
        doc = self._base(doc, event)
        doc["management_rules"] = {**(doc["management_rules"] or {}),
                                   "status": "accepted" if event.accepted else "rejected", "reason": event.reason,
                                   "reviewed_by": envelope.actorid, "reviewed_at": envelope.time.isoformat()}
        return doc

    @on(ev.ProjectOwnerRecorded)
    def project_owner(self, doc, event: ev.ProjectOwnerRecorded, envelope):
        doc = self._base(doc, event)
        doc["project_owner"] = {"name": event.name, "credit_code": event.credit_code}
        return doc

    @on(ev.ContractUploaded)
    def contract_uploaded(self, doc, event: ev.ContractUploaded, envelope):
        doc = self._base(doc, event)
        row = {**event.model_dump(mode="json", exclude={"site_code"}), "status": "submitted",
               "uploaded_at": envelope.time.isoformat()}
        doc["contracts"] = [*doc["contracts"], row]
        return doc

    @on(ev.ContractReviewed)
    def contract_reviewed(self, doc, event: ev.ContractReviewed, envelope):
        doc = self._base(doc, event)
        doc["contracts"] = self._replace(doc["contracts"], "contract_id", event.contract_id,
                                         status="accepted" if event.accepted else "rejected", reason=event.reason,
                                         reviewed_by=envelope.actorid)
        return doc

    @on(ev.FuelReceiptSubmitted)
    def receipt_submitted(self, doc, event: ev.FuelReceiptSubmitted, envelope):
        doc = self._base(doc, event)
        row = {**event.model_dump(mode="json", exclude={"site_code"}), "status": "submitted",
               "submitted_at": envelope.time.isoformat()}
        doc["fuel_receipts"] = [*doc["fuel_receipts"], row]
        return doc

    @on(ev.FuelReceiptDecided)
    def receipt_decided(self, doc, event: ev.FuelReceiptDecided, envelope):
        doc = self._base(doc, event)
        doc["fuel_receipts"] = self._replace(doc["fuel_receipts"], "receipt_id", event.receipt_id,
                                             status="accepted" if event.accepted else "rejected", reason=event.reason,
                                             decided_by=envelope.actorid)
        return doc
