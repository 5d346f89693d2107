"""The check aggregate: one inspector's check of one machine at a site (rule D4) and the violations it opened,
each followed to its closure. Nothing is deleted; corrections are events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nrmm_kernel.aggregate import CreatedAggregate, folds
from nrmm_kernel.errors import Conflict, NotFound

from .events import (
    Addressee,
    MachineChecked,
    RectificationReviewed,
    RectificationSubmitted,
    SmokeResult,
    SmokeRetested,
    ViolationClosed,
    ViolationLinked,
    ViolationOpened,
    ViolationOverdue,
    ViolationWithdrawn,
)
from .rules import ViolationKind

OPEN, SUBMITTED, CLOSED = "open", "rectification_submitted", "closed"


def violation_id(check_id: str, kind: ViolationKind | str) -> str:
    return f"{check_id}-{ViolationKind(kind).value}"


def check_id_of(violation: str) -> str:
    """The check (and so the stream) a violation id belongs to."""
    return violation.split("-", 1)[0]


@dataclass
class Violation:
    id: str
    kind: ViolationKind
    site_code: str
    addressee: Addressee
    due_at: datetime
    status: str = OPEN
    overdue: bool = False
    submissions: list[str] = field(default_factory=list)  # account ids that submitted rectifications

    @property
    def closed(self) -> bool:
        return self.status == CLOSED


class Check(CreatedAggregate[MachineChecked]):
    creation = MachineChecked

    def __init__(self, check_id: str, created: MachineChecked) -> None:
        super().__init__(check_id, created)
        self.checked = created
        self.violations: dict[str, Violation] = {}

    # commands ----------------------------------------------------------------------------------
    @classmethod
    def check(cls, check_id: str, checked: MachineChecked, opened: list[ViolationOpened]) -> Check:
        """An inspector's check (rule D4) and the violations it opens."""
        check = cls.create(check_id, checked)
        for event in opened:
            check.record(event)
        return check

    def violation(self, violation: str) -> Violation:
        found = self.violations.get(violation)
        if found is None:
            raise NotFound("违规记录不存在 (no such violation)", code="unknown_violation", field="violation_id")
        return found

    def _open(self, violation: str) -> Violation:
        found = self.violation(violation)
        if found.closed:
            raise Conflict("违规已关闭 (violation closed)", code="violation_closed", field="violation_id")
        return found

    def submit_rectification(self, violation: str, *, measure: str, note: str | None, evidence: list[str],
                             by_account_id: str, by_role: str) -> None:
        self._open(violation)
        self.record(RectificationSubmitted(violation_id=violation, measure=measure, note=note, evidence=evidence,
                                           by_account_id=by_account_id, by_role=by_role))

    def review(self, violation: str, *, accepted: bool, reason: str | None) -> None:
        found = self._open(violation)
        if found.kind is ViolationKind.SMOKE_EXCEEDANCE:
            raise Conflict("烟度超标须复检 (a smoke exceedance closes on a retest)", code="retest_required")
        if found.status != SUBMITTED:
            raise Conflict("尚未提交整改 (no rectification to review)", code="no_rectification")
        self.record(RectificationReviewed(violation_id=violation, accepted=accepted, reason=reason))
        if accepted:
            self.record(ViolationClosed(violation_id=violation, reason="review_accepted"))

    def retest(self, violation: str, smoke: SmokeResult) -> None:
        """rule D1: a repaired machine is tested again; a pass closes the violation."""
        found = self._open(violation)
        if found.kind is not ViolationKind.SMOKE_EXCEEDANCE:
            raise Conflict("只有烟度超标需要复检 (not a smoke exceedance)", code="not_a_smoke_violation")
        if found.status != SUBMITTED:
            raise Conflict("尚未提交整改 (no rectification to retest)", code="no_rectification")
        self.record(SmokeRetested(violation_id=violation, smoke=smoke, passed=not smoke.exceeded))
        if not smoke.exceeded:
            self.record(ViolationClosed(violation_id=violation, reason="retest_passed"))

    def withdraw(self, violation: str, reason: str) -> None:
        """A violation opened in error is withdrawn, not deleted."""
        self._open(violation)
        self.record(ViolationWithdrawn(violation_id=violation, reason=reason))

    def link(self, violation: str, *, code: str, registry_machine_id: str, owner_account_id: str) -> bool:
        """An uncoded machine was coded: its violation addresses the owner and closes (the code was applied for)."""
        found = self.violation(violation)
        if found.kind is not ViolationKind.UNCODED or found.addressee.owner_account_id is not None:
            return False
        self.record(ViolationLinked(violation_id=violation, code=code, registry_machine_id=registry_machine_id,
                                    owner_account_id=owner_account_id))
        if not found.closed:
            self.record(ViolationClosed(violation_id=violation, reason="coded"))
        return True

    def mark_overdue(self, violation: str, now: datetime) -> bool:
        """The deadline passed with the violation still open: recorded once (the scheduler's decision)."""
        found = self.violation(violation)
        if found.closed or found.overdue or found.due_at > now:
            return False
        self.record(ViolationOverdue(violation_id=violation, due_at=found.due_at, kind=found.kind.value,
                                     addressee=found.addressee))
        return True

    # folding -----------------------------------------------------------------------------------
    @folds(ViolationOpened)
    def on_ViolationOpened(self, event: ViolationOpened) -> None:
        self.violations[event.violation_id] = Violation(event.violation_id, ViolationKind(event.kind),
                                                        event.site_code, event.addressee, event.due_at)

    @folds(RectificationSubmitted)
    def on_RectificationSubmitted(self, event: RectificationSubmitted) -> None:
        found = self.violations[event.violation_id]
        found.status = SUBMITTED
        found.submissions.append(event.by_account_id)

    @folds(RectificationReviewed)
    def on_RectificationReviewed(self, event: RectificationReviewed) -> None:
        if not event.accepted:
            self.violations[event.violation_id].status = OPEN

    @folds(SmokeRetested)
    def on_SmokeRetested(self, event: SmokeRetested) -> None:
        if not event.passed:
            self.violations[event.violation_id].status = OPEN

    @folds(ViolationLinked)
    def on_ViolationLinked(self, event: ViolationLinked) -> None:
        found = self.violations[event.violation_id]
        found.addressee = found.addressee.model_copy(update={"owner_account_id": event.owner_account_id})

    @folds(ViolationClosed)
    def on_ViolationClosed(self, event: ViolationClosed) -> None:
        self.violations[event.violation_id].status = CLOSED

    @folds(ViolationWithdrawn)
    def on_ViolationWithdrawn(self, event: ViolationWithdrawn) -> None:
        self.violations[event.violation_id].status = CLOSED

    @folds(ViolationOverdue)
    def on_ViolationOverdue(self, event: ViolationOverdue) -> None:
        self.violations[event.violation_id].overdue = True
