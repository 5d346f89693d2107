"""Deadlines of the regulation, as pure functions over calendar dates in Asia/Shanghai."""

from __future__ import annotations

from datetime import date

from nrmm_kernel.clock import SHANGHAI, today_in_chongqing  # noqa: F401 - the registry's clock

APPLY_WITHIN_DAYS = 30  # rule C2: apply within 30 days of purchase or transfer-in
OWNER_CHANGE_WITHIN_DAYS = 30  # rule C6
CANCEL_WITHIN_DAYS = 30  # rule C7
REISSUE_WITHIN_DAYS = 10  # rule C8



def days_between(earlier: date, later: date) -> int:
    return (later - earlier).days


def is_late(occurred_on: date, reported_on: date, within_days: int) -> bool:
    """Reported more than ``within_days`` after it happened. Late is flagged, never refused."""
    return days_between(occurred_on, reported_on) > within_days
