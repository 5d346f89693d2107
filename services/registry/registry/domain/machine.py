"""The machine record aggregate: one machine's code from application to cancellation (rules C2-C8)."""

from __future__ import annotations

import re
from datetime import date

from nrmm_kernel.aggregate import CreatedAggregate, folds
from nrmm_kernel.codes import parse_code
from nrmm_kernel.envelope import DomainEvent
from nrmm_kernel.errors import Conflict, Forbidden, ValidationFailed

from . import rules
from .events import (
    ApplicationAmended,
    CodeCancelled,
    CodeIssued,
    CodeRejected,
    CodeRequested,
    MachineInfoCorrected,
    OwnerChanged,
    OwnerChangeRequested,
    PlateReissued,
    PlateReissueRequested,
)
from .model import REQUIRED_UPLOADS, MachineInfo, Registrant, UploadKind
from .ownership import OwnerChanges
from .status import IN_FORCE, Status, status_after

__all__ = ["MachineRecord", "Status"]

CANCEL_REASONS = ("scrapped", "exported", "other")

# A correction of what identifies the machine (brand, model, factory serial: rule C1, one machine one code) or
# decides its code is checked by a reviewer first.
REVIEWED_FIELDS = frozenset({"emission_stage", "category", "brand", "model", "factory_serial", "engine",
                             "rated_power_kw", "fuel"})


def machine_key(machine: MachineInfo) -> str:
    """What identifies one factory machine across records (rule C1): its brand and factory serial, normalised."""
    def norm(text: str) -> str:
        return re.sub(r"[\s\-_/.]+", "", text).upper()

    return f"{norm(machine.brand)}|{norm(machine.factory_serial)}"


def check_dates(machine: MachineInfo, today: date) -> None:
    for field in ("manufactured_on", "acquired_on"):
        if getattr(machine, field) > today:
            raise ValidationFailed("日期不能晚于今天 (date in the future)", code="date_in_future",
                                   field=f"machine.{field}")


def missing_uploads(uploads: dict[str, list[str]]) -> list[str]:
    """Kinds rule C4 requires that are absent: documents, and photos from front, back, left and right."""
    return sorted(kind.value for kind in REQUIRED_UPLOADS if not uploads.get(kind.value))


def check_uploads(uploads: dict[str, list[str]]) -> None:
    unknown = sorted(set(uploads) - {k.value for k in UploadKind})
    if unknown:
        raise ValidationFailed(f"未知的材料类型 {unknown}", code="unknown_upload_kind", field="uploads")
    missing = missing_uploads(uploads)
    if missing:
        raise ValidationFailed(f"缺少必需的材料: {', '.join(missing)}", code="missing_uploads", field="uploads",
                               details={"missing": missing})


class MachineRecord(OwnerChanges, CreatedAggregate[CodeRequested]):
    """One machine's record, from its application (``CodeRequested``) on."""

    creation = CodeRequested

    def __init__(self, aggregate_id: str, created: CodeRequested) -> None:
        super().__init__(aggregate_id, created)
        self.status: Status = Status.SUBMITTED
        self.owner_account_id = created.owner_account_id
        self.registrant = created.registrant
        self.machine = created.machine
        self.pending_machine: MachineInfo | None = None  # a correction waiting for re-review
        self.uploads = created.uploads
        self.code: str | None = None  # None until the first code is issued
        self.codes: list[str] = []  # every code this record was issued, the current one last
        self.issued_on: date | None = None
        self.reissue_requested = False
        self.reissue_count = 0
        self.late = created.late  # applied more than 30 days after acquisition (rule C2)
        self.first_submitted_on = created.submitted_on
        # every machine identity this record has held with a code: a corrected brand or serial does not free the
        # old one for another record (rule C1, issue 13)
        self.issued_keys: set[str] = set()
        self.pending_owner_change: OwnerChangeRequested | None = None

    # guards ------------------------------------------------------------------------------
    def require_owner(self, account_id: str) -> None:
        if self.owner_account_id != account_id:
            raise Forbidden("这不是您的机械 (not your machine)", code="not_owner")

    @property
    def identity_keys(self) -> set[str]:
        """The machine identities this record holds: its machine's, a pending correction's, and every one it held
        with a code in force."""
        current = {machine_key(m) for m in (self.machine, self.pending_machine) if m is not None}
        return current | (self.issued_keys if self.status is not Status.CANCELLED else set())

    @property
    def district(self) -> str | None:
        return self.machine.district if self.machine else None

    def require_decidable(self) -> None:
        if self.status not in (Status.SUBMITTED, Status.CORRECTION_REVIEW):
            raise Conflict("该申请已审核或不在待审状态 (already decided)", code="already_decided",
                           details={"status": self.status})

    def _require_issued(self, action: str) -> None:
        if self.status not in IN_FORCE:
            raise Conflict(f"编码未生效，不能{action} (code not in force)", code="code_not_in_force",
                           details={"status": self.status})

    # commands ----------------------------------------------------------------------------
    @classmethod
    def apply_for(cls, machine_id: str, *, owner_account_id: str, registrant: Registrant, machine: MachineInfo,
                  uploads: dict[str, list[str]], today: date) -> MachineRecord:
        """An owner's application (rule C4): the record it creates."""
        check_uploads(uploads)  # rule C4
        check_dates(machine, today)
        days = rules.days_between(machine.acquired_on, today)
        return cls.create(machine_id, CodeRequested(
            machine_id=machine_id, owner_account_id=owner_account_id, registrant=registrant, machine=machine,
            uploads=uploads, submitted_on=today, days_after_acquisition=days,
            late=rules.is_late(machine.acquired_on, today, rules.APPLY_WITHIN_DAYS),  # rule C2
        ))

    def amend(self, *, registrant: Registrant, machine: MachineInfo, uploads: dict[str, list[str]],
              today: date) -> None:
        if self.status is not Status.REJECTED:
            raise Conflict("只有被驳回的申请可以修改后重新提交 (only a rejected application can be amended)",
                           code="not_rejected", details={"status": self.status})
        check_uploads(uploads)
        check_dates(machine, today)
        # rule C2 counts to the first submission: fixing a rejected application does not make it late
        first = self.first_submitted_on
        days = rules.days_between(machine.acquired_on, first)
        self.record(ApplicationAmended(
            registrant=registrant, machine=machine, uploads=uploads, submitted_on=today,
            days_after_acquisition=days, late=rules.is_late(machine.acquired_on, first, rules.APPLY_WITHIN_DAYS),
        ))

    def code_for_approval(self) -> str | None:
        """The code a re-review approval issues (same serial, corrected stage); None: a new serial is needed."""
        self.require_decidable()
        if self.status is Status.CORRECTION_REVIEW:
            # under re-review: a code was issued and a correction waits
            assert self.code is not None and self.pending_machine is not None
            return parse_code(self.code).with_stage(self.pending_machine.emission_stage).text
        return None

    def approve(self, *, reviewer_account_id: str, code: str, today: date) -> None:
        self.require_decidable()
        previous = self.code if self.status is Status.CORRECTION_REVIEW else None
        parsed = parse_code(code)
        machine = self.pending_machine or self.machine
        if parsed.stage != machine.emission_stage or parsed.district != machine.district:
            raise ValueError(f"code {code} does not match the machine's stage and district")
        self.record(CodeIssued(code=code, reviewer_account_id=reviewer_account_id, issued_on=today,
                               previous_code=previous if previous != code else None))

    def reject(self, *, reviewer_account_id: str, reasons: list[str]) -> None:
        self.require_decidable()
        reasons = [r.strip() for r in reasons if r.strip()]
        if not reasons:
            raise ValidationFailed("驳回须说明理由 (give at least one reason)", code="reasons_required",
                                   field="reasons")
        self.record(CodeRejected(reviewer_account_id=reviewer_account_id, reasons=reasons,
                                 of_correction=self.status is Status.CORRECTION_REVIEW))

    def cancel(self, *, reason: str, occurred_on: date, today: date, note: str | None = None) -> None:
        self._require_issued("注销")
        if reason not in CANCEL_REASONS:
            raise ValidationFailed(f"注销原因须为 {CANCEL_REASONS}", code="invalid_reason", field="reason")
        if occurred_on > today:
            raise ValidationFailed("日期不能晚于今天", code="date_in_future", field="occurred_on")
        self.record(CodeCancelled(
            reason=reason, note=note, occurred_on=occurred_on, reported_on=today,
            late=rules.is_late(occurred_on, today, rules.CANCEL_WITHIN_DAYS),  # rule C7
        ))

    def request_plate_reissue(self, *, damaged_on: date, reason: str, today: date) -> None:
        self._require_issued("补发标牌")
        if self.reissue_requested:
            raise Conflict("已有待处理的补发申请 (a reissue is already pending)", code="reissue_pending")
        if damaged_on > today:
            raise ValidationFailed("日期不能晚于今天", code="date_in_future", field="damaged_on")
        self.record(PlateReissueRequested(
            damaged_on=damaged_on, reported_on=today, reason=reason,
            late=rules.is_late(damaged_on, today, rules.REISSUE_WITHIN_DAYS),  # rule C8
        ))

    def reissue_plate(self, *, staff_account_id: str) -> None:
        self._require_issued("补发标牌")
        if not self.reissue_requested:
            raise Conflict("没有待处理的补发申请 (no reissue pending)", code="no_reissue_pending")
        self.record(PlateReissued(reissue_count=self.reissue_count + 1, staff_account_id=staff_account_id))

    def correct(self, *, machine: MachineInfo, today: date) -> None:
        if self.status is not Status.ISSUED:
            raise Conflict("只有已发码且无待审更正的机械可以更正 (code not in force or review pending)",
                           code="correction_not_allowed", details={"status": self.status})
        if machine.district != self.machine.district:
            # the district is part of the code (rule C5): a code is never renumbered in place
            raise ValidationFailed("使用区县是编码的一部分，不能更正", code="district_fixed", field="machine.district")
        check_dates(machine, today)
        before, after = self.machine.model_dump(), machine.model_dump()
        changed = sorted(k for k in after if after[k] != before[k])
        if not changed:
            raise ValidationFailed("没有需要更正的信息 (nothing changed)", code="nothing_changed", field="machine")
        self.record(MachineInfoCorrected(machine=machine, changed_fields=changed,
                                         reviewed_fields=sorted(REVIEWED_FIELDS.intersection(changed))))

    # fold --------------------------------------------------------------------------------
    def _apply(self, event: DomainEvent) -> None:
        self.status = status_after(self.status, event)
        super()._apply(event)

    @folds(ApplicationAmended)
    def on_ApplicationAmended(self, e: ApplicationAmended) -> None:
        self.late = e.late
        self.registrant, self.machine, self.uploads = e.registrant, e.machine, e.uploads

    @folds(CodeRejected)
    def on_CodeRejected(self, e: CodeRejected) -> None:
        if e.of_correction:
            self.pending_machine = None

    @folds(CodeIssued)
    def on_CodeIssued(self, e: CodeIssued) -> None:
        self.code, self.issued_on = e.code, e.issued_on
        if e.code not in self.codes:
            self.codes.append(e.code)
        if self.pending_machine is not None:
            self.machine, self.pending_machine = self.pending_machine, None
        self.issued_keys.add(machine_key(self.machine))

    @folds(OwnerChanged)
    def on_OwnerChanged(self, e: OwnerChanged) -> None:
        self.owner_account_id, self.registrant = e.new_owner_account_id, e.registrant
        self.pending_owner_change = None

    @folds(CodeCancelled)
    def on_CodeCancelled(self, e: CodeCancelled) -> None:
        pass  # the status is all that changes

    @folds(PlateReissueRequested)
    def on_PlateReissueRequested(self, e: PlateReissueRequested) -> None:
        self.reissue_requested = True

    @folds(PlateReissued)
    def on_PlateReissued(self, e: PlateReissued) -> None:
        self.reissue_requested, self.reissue_count = False, e.reissue_count

    @folds(MachineInfoCorrected)
    def on_MachineInfoCorrected(self, e: MachineInfoCorrected) -> None:
        if e.requires_review:
            self.pending_machine = e.machine
        else:
            self.machine = e.machine
            self.issued_keys.add(machine_key(e.machine))
