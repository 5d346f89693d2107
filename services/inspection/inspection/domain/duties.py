"""The site's own duties (stream ``duties-<site code>``): machine-management rules (rule E5), the project owner and
the NRMM clauses of its contracts (rule D2), fuel purchase receipts checked by the supervision engineer (rule E6)."""

from __future__ import annotations

from datetime import date

from nrmm_kernel.aggregate import Aggregate, folds
from nrmm_kernel.errors import Conflict, NotFound

from .events import (
    ContractReviewed,
    ContractUploaded,
    FuelReceiptDecided,
    FuelReceiptSubmitted,
    ManagementRulesReviewed,
    ManagementRulesUploaded,
    ProjectOwnerRecorded,
)

MAX_CONTRACTS = 50
MAX_RECEIPTS = 5000


class SiteDuties(Aggregate):
    def __init__(self, site_code: str):
        super().__init__(site_code)
        self.rules_status: str | None = None  # submitted | accepted | rejected
        self.project_owner: ProjectOwnerRecorded | None = None
        self.contracts: dict[str, str] = {}  # id -> submitted | accepted | rejected
        self.receipts: dict[str, str] = {}

    # rule E5 ---------------------------------------------------------------------------------------
    def upload_rules(self, title: str, documents: list[str]) -> None:
        self.record(ManagementRulesUploaded(site_code=self.id, title=title, documents=documents))

    def review_rules(self, accepted: bool, reason: str | None) -> None:
        if self.rules_status != "submitted":
            raise Conflict("没有待检查的机械管理制度 (no rules to check)", code="nothing_to_review")
        self.record(ManagementRulesReviewed(site_code=self.id, accepted=accepted, reason=reason))

    # rule D2 ---------------------------------------------------------------------------------------
    def record_project_owner(self, name: str, credit_code: str) -> None:
        if self.project_owner and (self.project_owner.name, self.project_owner.credit_code) == (name, credit_code):
            raise Conflict("建设单位信息未变化 (nothing changed)", code="nothing_changed", field="name")
        self.record(ProjectOwnerRecorded(site_code=self.id, name=name, credit_code=credit_code))

    def upload_contract(self, contract_id: str, *, kind: str, counterparty: str, clauses: str,
                        documents: list[str]) -> None:
        if self.project_owner is None:
            raise Conflict("请先登记建设单位 (record the project owner first)", code="project_owner_required",
                           field="kind")
        if len(self.contracts) >= MAX_CONTRACTS:
            raise Conflict("合同数量已达上限", code="too_many_contracts")
        self.record(ContractUploaded(site_code=self.id, contract_id=contract_id, kind=kind, counterparty=counterparty,
                                     clauses=clauses, documents=documents))

    def review_contract(self, contract_id: str, accepted: bool, reason: str | None) -> None:
        if contract_id not in self.contracts:
            raise NotFound("合同不存在 (no such contract)", code="unknown_contract", field="contract_id")
        if self.contracts[contract_id] != "submitted":
            raise Conflict("合同已检查 (already checked)", code="already_reviewed", field="contract_id")
        self.record(ContractReviewed(site_code=self.id, contract_id=contract_id, accepted=accepted, reason=reason))

    # rule E6 ---------------------------------------------------------------------------------------
    def submit_receipt(self, receipt_id: str, *, supplier: str, purchased_on: date, quantity_litres: float,
                       fuel_standard: str, photo: str) -> None:
        if len(self.receipts) >= MAX_RECEIPTS:
            raise Conflict("凭证数量已达上限", code="too_many_receipts")
        self.record(FuelReceiptSubmitted(site_code=self.id, receipt_id=receipt_id, supplier=supplier,
                                         purchased_on=purchased_on, quantity_litres=quantity_litres,
                                         fuel_standard=fuel_standard, photo=photo))

    def decide_receipt(self, receipt_id: str, accepted: bool, reason: str | None) -> None:
        if receipt_id not in self.receipts:
            raise NotFound("凭证不存在 (no such receipt)", code="unknown_receipt", field="receipt_id")
        if self.receipts[receipt_id] != "submitted":
            raise Conflict("凭证已审核 (already decided)", code="already_decided", field="receipt_id")
        self.record(FuelReceiptDecided(site_code=self.id, receipt_id=receipt_id, accepted=accepted, reason=reason))

    # folding ---------------------------------------------------------------------------------------
    @folds(ManagementRulesUploaded)
    def on_ManagementRulesUploaded(self, event: ManagementRulesUploaded) -> None:
        self.rules_status = "submitted"

    @folds(ManagementRulesReviewed)
    def on_ManagementRulesReviewed(self, event: ManagementRulesReviewed) -> None:
        self.rules_status = "accepted" if event.accepted else "rejected"

    @folds(ProjectOwnerRecorded)
    def on_ProjectOwnerRecorded(self, event: ProjectOwnerRecorded) -> None:
        self.project_owner = event

    @folds(ContractUploaded)
    def on_ContractUploaded(self, event: ContractUploaded) -> None:
        self.contracts[event.contract_id] = "submitted"

    @folds(ContractReviewed)
    def on_ContractReviewed(self, event: ContractReviewed) -> None:
        self.contracts[event.contract_id] = "accepted" if event.accepted else "rejected"

    @folds(FuelReceiptSubmitted)
    def on_FuelReceiptSubmitted(self, event: FuelReceiptSubmitted) -> None:
        self.receipts[event.receipt_id] = "submitted"

    @folds(FuelReceiptDecided)
    def on_FuelReceiptDecided(self, event: FuelReceiptDecided) -> None:
        self.receipts[event.receipt_id] = "accepted" if event.accepted else "rejected"
