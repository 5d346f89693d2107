"""Owner change (rule C6), part of the machine record: the owner reports it naming the new owner's account, and it
takes effect only when that owner accepts, within 30 days; withdrawn by the owner or declined by the new owner.
Rule C6's 30 days count from the transfer to the old owner's report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from nrmm_kernel.aggregate import folds
from nrmm_kernel.envelope import DomainEvent
from nrmm_kernel.errors import Conflict, Forbidden, ValidationFailed

from . import rules
from .events import OwnerChangeCancelled, OwnerChanged, OwnerChangeRequested
from .model import Registrant

OWNER_CHANGE_OPEN_DAYS = 30  # a pending owner change the new owner has not accepted lapses after this


class OwnerChanges:
    """Mixed into MachineRecord, whose ``owner_account_id``, ``record`` and ``_require_issued`` it uses."""

    pending_owner_change: OwnerChangeRequested | None = None
    owner_account_id: str

    if TYPE_CHECKING:
        def record(self, event: DomainEvent) -> None: ...

        def _require_issued(self, action: str) -> None: ...

    def open_owner_change(self, today: date) -> OwnerChangeRequested | None:
        pending = self.pending_owner_change
        return pending if pending is not None and today <= pending.expires_on else None

    def check_owner_change(self, *, transferred_on: date, today: date) -> None:
        """What can be refused before the new owner is looked up."""
        self._require_issued("变更所有者")
        if transferred_on > today:
            raise ValidationFailed("转让日期不能晚于今天", code="date_in_future", field="transferred_on")
        if self.open_owner_change(today) is not None:
            raise Conflict("已有待新所有者确认的变更，请先撤回 (an owner change is pending)",
                           code="owner_change_pending")

    def request_owner_change(self, *, new_owner_account_id: str, transferred_on: date, today: date) -> None:
        self.check_owner_change(transferred_on=transferred_on, today=today)
        if new_owner_account_id == self.owner_account_id:
            raise ValidationFailed("新所有者与原所有者相同", code="same_owner", field="new_owner_mobile")
        if self.pending_owner_change is not None:  # lapsed: its end is recorded with the new request
            self.record(OwnerChangeCancelled(new_owner_account_id=self.pending_owner_change.new_owner_account_id,
                                             reason="expired"))
        self.record(OwnerChangeRequested(
            new_owner_account_id=new_owner_account_id, transferred_on=transferred_on, reported_on=today,
            late=rules.is_late(transferred_on, today, rules.OWNER_CHANGE_WITHIN_DAYS),  # rule C6: from the report
            expires_on=today + timedelta(days=OWNER_CHANGE_OPEN_DAYS),
        ))

    def _pending_for(self, today: date) -> OwnerChangeRequested:
        if self.pending_owner_change is None:
            raise Conflict("没有待确认的所有者变更 (no owner change pending)", code="no_owner_change_pending")
        if self.open_owner_change(today) is None:
            raise Conflict("所有者变更已过期，请原所有者重新发起 (the owner change expired)",
                           code="owner_change_expired")
        return self.pending_owner_change

    def withdraw_owner_change(self, *, account_id: str, today: date) -> None:
        """The owner withdraws, or the named new owner declines."""
        pending = self._pending_for(today)
        if account_id == self.owner_account_id:
            reason = "withdrawn"
        elif account_id == pending.new_owner_account_id:
            reason = "declined"
        else:
            raise Forbidden("这不是您的机械 (not your machine)", code="not_owner")
        self.record(OwnerChangeCancelled(new_owner_account_id=pending.new_owner_account_id, reason=reason))

    def accept_owner_change(self, *, account_id: str, registrant: Registrant, today: date) -> None:
        pending = self._pending_for(today)
        if account_id != pending.new_owner_account_id:
            raise Forbidden("该变更不是转给您的 (not the new owner)", code="not_new_owner")
        self._require_issued("变更所有者")
        self.record(OwnerChanged(
            previous_owner_account_id=self.owner_account_id, new_owner_account_id=account_id, registrant=registrant,
            transferred_on=pending.transferred_on, reported_on=pending.reported_on, late=pending.late,
            accepted_on=today,
        ))

    # fold ---------------------------------------------------------------------------------
    @folds(OwnerChangeRequested)
    def on_OwnerChangeRequested(self, e: OwnerChangeRequested) -> None:
        self.pending_owner_change = e

    @folds(OwnerChangeCancelled)
    def on_OwnerChangeCancelled(self, e: OwnerChangeCancelled) -> None:
        self.pending_owner_change = None
