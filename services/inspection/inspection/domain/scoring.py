"""Department views and rankings (rules D3, D6): the figures a body is judged on, its indicators, and the score.

Figures are additive counts (a week's, a site's, a company's, a department's are sums of their parts); indicators
are ratios of figures, computed after summing, so a score can be checked by hand from the figures shown beside it.
The weights are configuration data (``NRMM_RANKING_WEIGHTS`` overrides any of them) and are shown with every
ranking. Pure: no I/O.
"""

from __future__ import annotations

from datetime import date, timedelta

# additive counts kept per site and week (the names are the columns of the exports)
COUNTS: tuple[str, ...] = (
    "entries",  # machines registered in at the gate (rule E2)
    "machines_found",  # machines inspectors checked on the site (rule D4)
    "coded_found",  # ... carrying a valid code (rule C1)
    "registered_found",  # ... with an entry record at the site (rule D4: registration coverage)
    "violations_opened",
    "violations_open",  # of those opened: open now
    "violations_closed",  # ... closed (rectified, retest passed, coded)
    "violations_overdue",  # ... open past their deadline
    "rectified_on_time",  # ... closed by their deadline
    "rectification_due",  # ... closed, or open past their deadline
    "high_emission_refusals",  # entries refused at the gate for a high-emission machine in a restricted zone
)
BREAKDOWNS: tuple[str, ...] = ("entries_by_category", "entries_by_stage", "entries_by_colour")

# the indicators of rule D6, each a share in [0, 1] where 1 is best, with its weight in the score
DEFAULT_WEIGHTS: dict[str, float] = {
    "coded_rate": 0.30,
    "registration_coverage": 0.25,
    "violations_per_machine": 0.20,
    "rectification_on_time": 0.15,
    "high_emission_refusals": 0.10,
}
INDICATOR_NAMES: dict[str, str] = {
    "coded_rate": "编码率 (持有效环保编码的检查机械 / 检查机械)",
    "registration_coverage": "进出场登记覆盖率 (有进场登记的检查机械 / 检查机械)",
    "violations_per_machine": "台均违规数 (违规数 / 检查机械)",
    "rectification_on_time": "按期整改率 (按期整改 / 应整改)",
    "high_emission_refusals": "高排放拒入次数 (禁用区高排放机械被拒入场)",
}
FORMULA = (
    "得分 = 100 × Σ(权重 × 分项) / Σ(参与计算的权重)。分项: 编码率; 登记覆盖率; max(0, 1 − 台均违规数); 按期整改率; "
    "1 − 高排放拒入次数 / (进场登记数 + 高排放拒入次数)。分母为 0 的分项不参与计算 (其权重不计入分母); "
    "全部分项均无数据时不评分。"
)


def empty() -> dict:
    return {**dict.fromkeys(COUNTS, 0), **{b: {} for b in BREAKDOWNS}}


def add(total: dict, part: dict) -> dict:
    """``total`` + ``part`` (both figure dicts), as a new dict."""
    out = empty()
    for key in COUNTS:
        out[key] = total.get(key, 0) + part.get(key, 0)
    for key in BREAKDOWNS:
        merged = dict(total.get(key) or {})
        for k, v in (part.get(key) or {}).items():
            merged[k] = merged.get(k, 0) + v
        out[key] = dict(sorted(merged.items()))
    return out


def total(parts) -> dict:
    out = empty()
    for part in parts:
        out = add(out, part)
    return out


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def indicators(f: dict) -> dict:
    """Rule D6's indicators of one body, from its summed figures (None: nothing to judge it on)."""
    found = f.get("machines_found", 0)
    refusals, entries = f.get("high_emission_refusals", 0), f.get("entries", 0)
    return {
        "coded_rate": _ratio(f.get("coded_found", 0), found),
        "registration_coverage": _ratio(f.get("registered_found", 0), found),
        "violations_per_machine": _ratio(f.get("violations_opened", 0), found),
        "rectification_on_time": _ratio(f.get("rectified_on_time", 0), f.get("rectification_due", 0)),
        "high_emission_refusals": refusals,
        "high_emission_refusal_share": _ratio(refusals, entries + refusals),
    }


def parts(ind: dict) -> dict[str, float | None]:
    """Each indicator as a share in [0, 1] where 1 is best (None: left out of the score)."""
    per_machine = ind["violations_per_machine"]
    share = ind["high_emission_refusal_share"]
    return {
        "coded_rate": ind["coded_rate"],
        "registration_coverage": ind["registration_coverage"],
        "violations_per_machine": None if per_machine is None else max(0.0, 1 - per_machine),
        "rectification_on_time": ind["rectification_on_time"],
        "high_emission_refusals": None if share is None else 1 - share,
    }


def score(ind: dict, weights: dict[str, float]) -> float | None:
    used = {k: v for k, v in parts(ind).items() if v is not None and weights.get(k, 0) > 0}
    if not used:
        return None
    weight = sum(weights[k] for k in used)
    return round(100 * sum(weights[k] * v for k, v in used.items()) / weight, 2)


def weights_from(overrides: dict[str, float] | None) -> dict[str, float]:
    unknown = set(overrides or {}) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown ranking weights: {sorted(unknown)}; known: {sorted(DEFAULT_WEIGHTS)}")
    weights = {**DEFAULT_WEIGHTS, **(overrides or {})}
    if any(w < 0 for w in weights.values()) or not any(weights.values()):
        raise ValueError("ranking weights must be non-negative and not all zero")
    return weights


def scoring_rules(weights: dict[str, float]) -> dict:
    """What is shown beside every ranking."""
    return {"formula": FORMULA, "weights": weights, "indicators": INDICATOR_NAMES}


# weeks ---------------------------------------------------------------------------------------------
def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def weeks_between(start: date, end: date) -> list[str]:
    """The ISO weeks (Monday to Sunday) that hold any day from ``start`` to ``end``."""
    monday = start - timedelta(days=start.weekday())
    out = []
    while monday <= end:
        out.append(week_of(monday))
        monday += timedelta(days=7)
    return out
