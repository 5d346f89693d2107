"""What a notice is before it is sent: its template, whom it is for (a recipient to be resolved), its parameters,
and reminders to schedule. Pure data; the projections make them from events, the fan-out resolves and stores them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from nrmm_kernel.clock import SHANGHAI

# whom a notice is for, resolved when it is stored (projections are pure and cannot look anyone up):
#   {"account": id, "mobile": m|None}       an account (mobile: where an SMS goes, when known)
#   {"machine_owner": machine_id, "as_of": version}   the owner of a registry record as of that stream version
#   {"owner_of_code": code}                 the owner of the machine holding a code
#   {"site_admin": site_code}               the site's admin account and its manager's mobile
#   {"mobile": m, "name": n}                a person without an account (an uncoded machine's operator)


def account(account_id: str, mobile: str | None = None) -> dict[str, Any]:
    return {"account": account_id, "mobile": mobile}


def machine_owner(machine_id: str, as_of: int) -> dict[str, Any]:
    return {"machine_owner": machine_id, "as_of": as_of}


def notice(template: str, to: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {"template": template, "to": to, "params": {k: _plain(v) for k, v in params.items()}}


def reminder(key: str, due_at: datetime, template: str, to: dict[str, Any], condition: dict[str, Any] | None = None,
             **params: Any) -> dict[str, Any]:
    """A notice sent at ``due_at`` (once: ``key`` names it), if ``condition`` still holds then."""
    return {"key": key, "due_at": due_at, "condition": condition, **notice(template, to, **params)}


def start_of_day(day: date) -> datetime:
    """The first moment of a calendar day in Chongqing (rules count calendar days there)."""
    return datetime.combine(day, time(9, 0), SHANGHAI)  # 09:00: reminders go out in working hours


def days_after(day: date, days: int) -> datetime:
    return start_of_day(day + timedelta(days=days))


def _plain(value: object) -> object:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "；".join(str(v) for v in value)
    return value
