"""Department views and rankings without infrastructure (rules D3, D6): a site's figures recomputed from its own
documents (the same documents, the same figures, whatever the order or repetition), the indicators and the score
checked by hand, the weights as configuration, whole ISO weeks, the exports holding the API's figures, and who
governs a site."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from inspection.app.views_export import FIGURE_COLUMNS, ranking_tables, to_csv, to_xlsx
from inspection.app.views_figures import row, site_figures, unrow
from inspection.domain.scoring import (
    COUNTS,
    DEFAULT_WEIGHTS,
    add,
    empty,
    indicators,
    score,
    weeks_between,
    weights_from,
)
from inspection.projections.views_facts import governed_by
from nrmm_kernel.reference import Department
from sites.domain.model import SiteCategory, competent_department

STAYS = [
    {"category": "excavator", "stage": "4", "colour": "blue", "entered_on": "2026-11-23", "inside": True},
    {"category": "loader", "stage": "2", "colour": "yellow", "entered_on": "2026-11-24", "inside": False},
    {"category": "excavator", "stage": "D", "colour": "green", "entered_on": "2026-11-30", "inside": True},
]
REFUSALS = [{"reason": "high_emission_in_zone", "day": "2026-11-25"}, {"reason": "unknown_code", "day": "2026-11-25"}]
CHECKS = [{"checked_on": "2026-11-25", "coded": True, "entry_registered": True},
          {"checked_on": "2026-11-25", "coded": False, "entry_registered": False},
          {"checked_on": "2026-11-30", "coded": True, "entry_registered": False}]
VIOLATIONS = [
    # opened Wednesday 25 November (Shanghai), closed in time
    {"status": "closed", "overdue": False, "opened_at": "2026-11-25T02:00:00+00:00",
     "closed_at": "2026-11-26T02:00:00+00:00", "due_at": "2026-12-25T02:00:00+00:00"},
    {"status": "open", "overdue": True, "opened_at": "2026-11-25T02:00:00+00:00",
     "due_at": "2026-11-28T02:00:00+00:00"},
    {"status": "rectification_submitted", "overdue": False, "opened_at": "2026-11-30T02:00:00+00:00",
     "due_at": "2026-12-30T02:00:00+00:00"},
    {"status": "withdrawn", "opened_at": "2026-11-30T02:00:00+00:00", "due_at": "2026-12-30T02:00:00+00:00"},
]


def test_a_sites_figures_per_week_from_its_own_documents():
    figures = site_figures(STAYS, REFUSALS, CHECKS, VIOLATIONS)
    assert list(figures["weeks"]) == ["2026-W48", "2026-W49"]
    w48 = figures["weeks"]["2026-W48"]
    assert (w48["entries"], w48["machines_found"], w48["coded_found"], w48["registered_found"]) == (2, 2, 1, 1)
    assert (w48["violations_opened"], w48["violations_closed"], w48["violations_open"],
            w48["violations_overdue"]) == (2, 1, 1, 1)
    assert (w48["rectified_on_time"], w48["rectification_due"], w48["high_emission_refusals"]) == (1, 2, 1)
    assert w48["entries_by_colour"] == {"blue": 1, "yellow": 1}
    total = figures["total"]
    assert total["violations_opened"] == 3  # the withdrawn one never counted
    assert total["entries_by_category"] == {"excavator": 2, "loader": 1}
    assert figures["now"] == {"inside": 2, "by_category": {"excavator": 2}, "by_stage": {"4": 1, "D": 1},
                              "by_colour": {"blue": 1, "green": 1}}


def test_the_same_documents_in_any_order_give_the_same_figures():
    once = site_figures(STAYS, REFUSALS, CHECKS, VIOLATIONS)
    assert site_figures(STAYS[::-1], REFUSALS[::-1], CHECKS[::-1], VIOLATIONS[::-1]) == once


def test_indicators_and_score_checked_by_hand():
    f = {**empty(), "entries": 9, "machines_found": 4, "coded_found": 3, "registered_found": 2,
         "violations_opened": 2, "rectified_on_time": 1, "rectification_due": 2, "high_emission_refusals": 1}
    ind = indicators(f)
    assert ind == {"coded_rate": 0.75, "registration_coverage": 0.5, "violations_per_machine": 0.5,
                   "rectification_on_time": 0.5, "high_emission_refusals": 1, "high_emission_refusal_share": 0.1}
    # 100 × (0.30×0.75 + 0.25×0.5 + 0.20×(1−0.5) + 0.15×0.5 + 0.10×(1−0.1)) / 1.0
    assert score(ind, DEFAULT_WEIGHTS) == 61.5
    # nothing to judge on: no score; a part without data leaves its weight out
    assert score(indicators(empty()), DEFAULT_WEIGHTS) is None
    only_gate = indicators({**empty(), "entries": 3, "high_emission_refusals": 1})
    assert score(only_gate, DEFAULT_WEIGHTS) == 75.0


def test_weights_are_configuration_checked_at_start():
    assert weights_from({"coded_rate": 1.0})["coded_rate"] == 1.0
    with pytest.raises(ValueError, match="unknown"):
        weights_from({"popularity": 1.0})
    with pytest.raises(ValueError):
        weights_from(dict.fromkeys(DEFAULT_WEIGHTS, 0.0))


def test_figures_add_up_and_rows_round_trip():
    figures = site_figures(STAYS, REFUSALS, CHECKS, VIOLATIONS)["total"]
    doubled = add(figures, figures)
    assert doubled["entries"] == 6 and doubled["entries_by_stage"] == {"2": 2, "4": 2, "D": 2}
    back = unrow(row(figures))
    assert {k: back[k] for k in COUNTS} == {k: figures[k] for k in COUNTS}


def test_periods_are_whole_iso_weeks():
    assert weeks_between(date(2026, 11, 25), date(2026, 12, 1)) == ["2026-W48", "2026-W49"]
    assert weeks_between(date(2026, 12, 28), date(2027, 1, 4)) == ["2026-W53", "2027-W01"]


def test_who_governs_a_site():
    # rule D3: the category's department, once it confirmed; the state-owned assets department once it confirmed
    assert competent_department(SiteCategory.BUILDING, Department.WATER) is Department.HOUSING
    assert competent_department(SiteCategory.OTHER, Department.WATER) is Department.WATER
    assert governed_by({"competent_department": "housing"}) == ["all"]
    assert governed_by({"confirmed_department": "housing", "state_ownership_confirmed": True}) == [
        "all", "housing", "state_assets"]


def test_exports_hold_the_apis_figures_and_no_formulas():
    entry = {"figures": {**empty(), "machines_found": 2, "coded_found": 1}, "score": 50.0}
    entry["indicators"] = indicators(entry["figures"])
    ranking = {"by": "site", "scoring": {"formula": "f", "weights": DEFAULT_WEIGHTS,
                                         "indicators": dict.fromkeys(DEFAULT_WEIGHTS, "x")},
               "rows": [{**entry, "rank": 1, "site_code": "S-1", "name": "=HYPERLINK(\"x\")"}]}
    tables = ranking_tables(ranking)
    text = to_csv(tables, "ranking").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text.split("\r\n\r\n")[0])))
    assert rows[0] == ["rank", "site_code", "name", *FIGURE_COLUMNS]
    assert rows[1][1] == "S-1" and rows[1][2].startswith("'=")
    assert float(rows[1][rows[0].index("coded_rate")]) == 0.5 and float(rows[1][-1]) == 50.0
    sheet = load_workbook(io.BytesIO(to_xlsx(tables, "ranking")))["ranking"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][values[0].index("coded_rate")] == 0.5 and values[1][2].startswith("'=")
