"""A machine record's status, and how each event moves it: one rule for the aggregate and every read model
(the registry's own and other services' copies), so they can never disagree."""

from __future__ import annotations

from enum import StrEnum
from typing import overload

from nrmm_kernel.envelope import DomainEvent

from .events import ApplicationAmended, CodeCancelled, CodeIssued, CodeRejected, CodeRequested, MachineInfoCorrected


class Status(StrEnum):
    SUBMITTED = "submitted"  # waiting for review (also after an amendment)
    REJECTED = "rejected"  # the owner may amend and resubmit
    ISSUED = "issued"  # the code is in force
    CORRECTION_REVIEW = "correction_review"  # a correction waits for re-review; the old code stays in force
    CANCELLED = "cancelled"


IN_FORCE = frozenset({Status.ISSUED, Status.CORRECTION_REVIEW})  # the code is valid at gates and inspections


@overload
def status_after(status: Status, event: DomainEvent) -> Status: ...
@overload
def status_after(status: Status | None, event: DomainEvent) -> Status | None: ...
def status_after(status: Status | None, event: DomainEvent) -> Status | None:
    match event:
        case CodeRequested() | ApplicationAmended():
            return Status.SUBMITTED
        case CodeRejected(of_correction=True):
            return Status.ISSUED  # the correction is refused; the code stays as it was
        case CodeRejected():
            return Status.REJECTED
        case CodeIssued():
            return Status.ISSUED
        case CodeCancelled():
            return Status.CANCELLED
        case MachineInfoCorrected() if event.requires_review:
            return Status.CORRECTION_REVIEW
    return status
