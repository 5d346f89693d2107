"""When a person's data may be erased (#14, PIPL art. 47): not while they own a machine whose code is in force (or
whose application is under review), and not before the retention period has passed since their last machine's code
ended for them (cancelled, rejected, or the machine changed hands). Pure: decided from the machines' events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from nrmm_kernel.envelope import DomainEvent
from nrmm_kernel.errors import Conflict

from .events import CodeRequested, OwnerChanged
from .status import IN_FORCE, Status, status_after

ENDED = frozenset({Status.CANCELLED, Status.REJECTED})


@dataclass(frozen=True)
class Tie:
    """What one machine's record says of a person: whether they still use it, and when their tie to it ended."""

    machine: str
    status: Status | None
    in_use: bool
    ended_on: date | None


def tie_of(subject_id: str, machine: str, events: Iterable[tuple[DomainEvent, date]]) -> Tie:
    """``events``: the machine's events with the (Asia/Shanghai) date each was recorded."""
    owner: str | None = None
    status: Status | None = None
    ended: date | None = None
    for event, on in events:
        status = status_after(status, event)
        if isinstance(event, CodeRequested):
            owner = event.owner_account_id
        elif isinstance(event, OwnerChanged):
            if owner == subject_id and event.new_owner_account_id != subject_id:
                ended = on  # the machine left them
            owner = event.new_owner_account_id
        if owner == subject_id:
            ended = on if status in ENDED else None
    return Tie(machine, status, owner == subject_id and status not in ENDED, ended)


def check_erasable(ties: list[Tie], today: date, retention_days: int) -> date | None:
    """The day the person's last tie ended (None: they never had one); Conflict while they may not be erased."""
    for tie in ties:
        if tie.in_use:
            in_force = tie.status in IN_FORCE
            raise Conflict(
                "该人员名下有编码有效的机械，不能删除其个人信息 (owns a machine with a code in force)" if in_force
                else "该人员名下有待审核的申请，不能删除其个人信息 (owns an application under review)",
                code="code_in_force" if in_force else "application_in_progress", field="subject_id",
                details={"machine_id": tie.machine})
    ended = max((t.ended_on for t in ties if t.ended_on is not None), default=None)
    if ended is not None and today < ended + timedelta(days=retention_days):
        until = ended + timedelta(days=retention_days)
        raise Conflict(f"保存期限未满，{until.isoformat()} 后方可删除 (retention period not over)",
                       code="retention_not_over", field="subject_id",
                       details={"last_code_ended_on": ended.isoformat(), "erasable_from": until.isoformat()})
    return ended
