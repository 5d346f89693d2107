"""A site's figures per week, recomputed whole from its own documents (stays, refusals, checks, violations): the
same documents give the same figures, so a duplicate or a replay changes nothing (rules D3, D6). Pure."""

from __future__ import annotations

from datetime import date, datetime

from nrmm_kernel.clock import today_in_chongqing

from ..domain.scoring import BREAKDOWNS, COUNTS, add, empty, week_of

OPEN_STATUSES = ("open", "rectification_submitted")


def _day(value: str | None) -> date | None:
    if not value:
        return None
    if "T" in value:
        return today_in_chongqing(datetime.fromisoformat(value))
    return date.fromisoformat(value)


def _bump(weeks: dict, day: date | None, **counts) -> None:
    if day is None:
        return
    figures = weeks.setdefault(week_of(day), empty())
    for key, value in counts.items():
        if key in BREAKDOWNS:
            figures[key][value] = figures[key].get(value, 0) + 1
        else:
            figures[key] += value


def site_figures(stays: list[dict], refusals: list[dict], checks: list[dict], violations: list[dict]) -> dict:
    """{"weeks": {week: figures}, "total": figures, "now": machines inside by category, stage and colour}."""
    weeks: dict[str, dict] = {}
    now = {"inside": 0, "by_category": {}, "by_stage": {}, "by_colour": {}}
    for stay in stays:
        category, stage, colour = stay.get("category") or "other", stay.get("stage") or "X", stay.get("colour")
        _bump(weeks, _day(stay.get("entered_on")), entries=1, entries_by_category=category,
              entries_by_stage=stage, entries_by_colour=colour or "unknown")
        if stay.get("inside"):
            now["inside"] += 1
            for key, value in (("by_category", category), ("by_stage", stage), ("by_colour", colour or "unknown")):
                now[key][value] = now[key].get(value, 0) + 1
    for refusal in refusals:
        if refusal.get("reason") == "high_emission_in_zone":  # rule E4
            _bump(weeks, _day(refusal.get("day")), high_emission_refusals=1)
    for check in checks:  # rule D4: the machines inspectors found on the site
        _bump(weeks, _day(check.get("checked_on")), machines_found=1, coded_found=int(bool(check.get("coded"))),
              registered_found=int(bool(check.get("entry_registered"))))
    for violation in violations:
        status = violation.get("status")
        if status == "withdrawn":  # opened in error: it never counted
            continue
        closed = status == "closed"
        overdue = status in OPEN_STATUSES and bool(violation.get("overdue"))
        on_time = closed and _closed_by_deadline(violation)
        _bump(weeks, _day(violation.get("opened_at")), violations_opened=1,
              violations_open=int(status in OPEN_STATUSES), violations_closed=int(closed),
              violations_overdue=int(overdue), rectified_on_time=int(on_time),
              rectification_due=int(closed or overdue))
    weeks = dict(sorted(weeks.items()))
    out = empty()
    for figures in weeks.values():
        out = add(out, figures)
    for key in ("by_category", "by_stage", "by_colour"):
        now[key] = dict(sorted(now[key].items()))
    return {"weeks": weeks, "total": out, "now": now}


def _closed_by_deadline(violation: dict) -> bool:
    closed_at, due_at = violation.get("closed_at"), violation.get("due_at")
    if not closed_at or not due_at:
        return False
    return datetime.fromisoformat(closed_at) <= datetime.fromisoformat(due_at)


def row(figures: dict) -> list[int]:
    """A body's counts in a ranking row: COUNTS in order (compact: a week holds a row per site and company)."""
    return [figures.get(key, 0) for key in COUNTS]


def unrow(values: list[int]) -> dict:
    return {**empty(), **dict(zip(COUNTS, values, strict=False))}


def add_rows(a: list[int] | None, b: list[int]) -> list[int]:
    if a is None:
        return list(b)
    return [x + y for x, y in zip(a, b, strict=True)]


def add_now(a: dict, b: dict) -> dict:
    out = {"inside": a.get("inside", 0) + b.get("inside", 0)}
    for key in ("by_category", "by_stage", "by_colour"):
        merged = dict(a.get(key) or {})
        for k, v in (b.get(key) or {}).items():
            merged[k] = merged.get(k, 0) + v
        out[key] = dict(sorted(merged.items()))
    return out
