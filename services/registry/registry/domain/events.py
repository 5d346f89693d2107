"""Events of the registry service: the life of one machine's environmental code.

Stream: ``machine-<machine id>`` (one per application, from application to cancellation), and
``external-<code>`` for machines coded by another province (rule C3), ``person-<owner account id>`` for a person's
erasure (#14). Documented in docs/events.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from nrmm_kernel.envelope import DomainEvent, EventRegistry

from .model import MachineInfo, Registrant

registry = EventRegistry(namespace="cn.cq.nrmm.registry", source="/nrmm/registry")


@registry.register
class CodeRequested(DomainEvent):
    """An owner applied for a code (rule C4). ``late``: more than 30 days after acquisition (rule C2)."""

    machine_id: str
    owner_account_id: str
    registrant: Registrant
    machine: MachineInfo
    uploads: dict[str, list[str]]  # upload kind -> upload ids
    submitted_on: date  # Asia/Shanghai calendar date
    late: bool
    days_after_acquisition: int


@registry.register
class ApplicationAmended(DomainEvent):
    """The owner amended a rejected application and submitted it again."""

    registrant: Registrant
    machine: MachineInfo
    uploads: dict[str, list[str]]
    submitted_on: date
    late: bool
    days_after_acquisition: int


@registry.register
class CodeRejected(DomainEvent):
    """A reviewer rejected the application (or a correction under re-review) with reasons."""

    reviewer_account_id: str
    reasons: list[str]
    of_correction: bool = False


@registry.register
class CodeIssued(DomainEvent):
    """A reviewer approved: the code is issued (rule C5); the owner collects plate and card (rule C4).

    After a correction that changed the emission stage, a new code with the same serial replaces
    ``previous_code``.
    """

    code: str
    reviewer_account_id: str
    issued_on: date
    previous_code: str | None = None


@registry.register
class OwnerChangeRequested(DomainEvent):
    """The owner reported that the machine changed hands (rule C6), naming the new owner by the mobile their owner
    account is registered with. Nothing moves until the new owner accepts, before ``expires_on``."""

    new_owner_account_id: str
    transferred_on: date
    reported_on: date  # rule C6's 30 days count from the transfer to this report
    late: bool
    expires_on: date


@registry.register
class OwnerChangeCancelled(DomainEvent):
    """A pending owner change ended without effect: withdrawn by the owner, declined by the new owner, or expired
    (recorded when the next change is requested)."""

    new_owner_account_id: str
    reason: str  # withdrawn | declined | expired


@registry.register
class OwnerChanged(DomainEvent):
    """The machine changed hands (rule C6): the new owner accepted, and the record moves to their account. The
    completion of an OwnerChangeRequested (earlier records: recorded directly)."""

    previous_owner_account_id: str
    new_owner_account_id: str
    registrant: Registrant  # the new owner's, given at acceptance
    transferred_on: date
    reported_on: date  # when the previous owner reported the change
    late: bool  # reported more than 30 days after the transfer
    accepted_on: date | None = None


@registry.register
class CodeCancelled(DomainEvent):
    """The code is cancelled (rule C7), normally because the machine was scrapped."""

    reason: str  # scrapped | exported | other
    note: str | None = None
    occurred_on: date
    reported_on: date
    late: bool  # reported more than 30 days after scrapping


@registry.register
class PlateReissueRequested(DomainEvent):
    """The owner reported a damaged or unreadable plate (rule C8)."""

    damaged_on: date
    reported_on: date
    reason: str
    late: bool  # reported more than 10 days after the damage


@registry.register
class PlateReissued(DomainEvent):
    """Staff reissued the plate; the card prints the reissue count."""

    reissue_count: int
    staff_account_id: str


@registry.register
class MachineInfoCorrected(DomainEvent):
    """Machine information was corrected. A change of what identifies the machine or decides its code
    (``reviewed_fields``) waits for re-review before it applies; other changes apply at once.

    Schema v2: ``reviewed_fields`` (which changed fields a reviewer must check) replaced v1's ``requires_review``.
    """

    schema_version = 2
    machine: MachineInfo
    changed_fields: list[str]
    reviewed_fields: list[str]

    @property
    def requires_review(self) -> bool:
        return bool(self.reviewed_fields)


# the fields v1 sent to re-review (requires_review), before v2 named them
_V1_REVIEWED = frozenset({"emission_stage", "category", "factory_serial", "engine", "rated_power_kw", "fuel"})


@registry.upcaster(MachineInfoCorrected, from_version=1)
def _corrected_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    requires_review = data.pop("requires_review")
    changed = data["changed_fields"]
    reviewed = sorted(_V1_REVIEWED.intersection(changed)) or list(changed)
    return {**data, "reviewed_fields": reviewed if requires_review else []}


@registry.register
class ExternalMachineDeclared(DomainEvent):
    """A machine coded by another province (rule C3) is known here without registering again."""

    code: str
    province: str
    stage: str
    category: str | None = None
    declared_by_account_id: str | None = None
    source: str  # owner | site
    confirmed: bool = False  # declared by the ecology bureau's staff, on the papers: gates hold it to this stage


@registry.register
class ExternalMachineConfirmed(DomainEvent):
    """The ecology bureau confirmed, on the machine's papers, a code that was declared before (by an owner): gates
    hold the machine to this code's stage."""

    code: str
    confirmed_by_account_id: str


@registry.register
class PersonErased(DomainEvent):
    """A person's personal data was erased (#14, PIPL art. 47): stream ``person-<owner account id>``. Their key is
    forgotten in every service, so each sealed copy of their ID number, mobile and name reads as erased.
    ``disclosures``: what had already left the platform with their data (SMS sent, as notifications recorded)."""

    subject_id: str  # the owner account id: the data subject
    reason: str
    erased_by_account_id: str
    erased_at: datetime
    last_code_ended_on: date | None = None  # the retention period ran from here
    disclosures: list[dict[str, Any]] = []


__all__ = [name for name, value in globals().items() if isinstance(value, type) and issubclass(value, DomainEvent)]
