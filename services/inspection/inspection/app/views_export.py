"""CSV and XLSX (openpyxl) exports of a department view and a ranking: the very figures the API answers, laid out
as tables (rules D3, D6). The first table of a CSV is the data; the scoring rules follow after an empty line."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from ..domain.scoring import COUNTS, DEFAULT_WEIGHTS

INDICATORS = ("coded_rate", "registration_coverage", "violations_per_machine", "rectification_on_time",
              "high_emission_refusals", "high_emission_refusal_share")
FIGURE_COLUMNS = (*COUNTS, *INDICATORS, "score")


def _figures(entry: dict) -> list:
    return [*(entry["figures"][k] for k in COUNTS), *(entry["indicators"][k] for k in INDICATORS), entry["score"]]


def view_tables(view: dict) -> dict[str, list[list]]:
    """Sheet name -> rows (the first row: the header)."""
    trend = [["week", "starts_on", *FIGURE_COLUMNS]]
    trend += [[w["week"], w["starts_on"], *_figures(w)] for w in view["trend"]]
    trend.append(["total", view["period"]["from"], *_figures(view)])
    overview = [["field", "value"], ["department", view["department"]], ["department_name", view["department_name"]],
                ["district", view["district"]], ["district_name", view["district_name"]],
                ["company", view.get("company") or ""], ["from", view["period"]["from"]], ["to", view["period"]["to"]],
                ["sites", view["sites"]]]
    tables = {"trend": trend, "overview": overview}
    now = view.get("machines_now")
    if now is not None:
        machines = [["breakdown", "value", "machines_inside"], ["all", "", now.get("inside", 0)]]
        for key in ("by_category", "by_stage", "by_colour"):
            machines += [[key, k, v] for k, v in (now.get(key) or {}).items()]
        tables["machines_now"] = machines
    for key in ("entries_by_category", "entries_by_stage", "entries_by_colour"):
        overview += [[f"{key}.{k}", v] for k, v in view["figures"][key].items()]
    tables["scoring"] = scoring_table(view["scoring"])
    return tables


def ranking_tables(ranking: dict) -> dict[str, list[list]]:
    ident = "credit_code" if ranking["by"] == "company" else "site_code"
    rows = [["rank", ident, "name", *FIGURE_COLUMNS]]
    rows += [[r["rank"], r[ident], r["name"], *_figures(r)] for r in ranking["rows"]]
    return {"ranking": rows, "scoring": scoring_table(ranking["scoring"])}


def scoring_table(scoring: dict) -> list[list]:
    rows = [["indicator", "weight", "meaning"]]
    rows += [[k, scoring["weights"][k], scoring["indicators"][k]] for k in DEFAULT_WEIGHTS]
    rows.append(["formula", "", scoring["formula"]])
    return rows


def _cell(value):
    """Text a user typed (a site's or company's name) is never read as a formula by a spreadsheet."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _rows(rows: list[list]) -> list[list]:
    return [[_cell(v) for v in row] for row in rows]


def to_csv(tables: dict[str, list[list]], main: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(_rows(tables[main]))
    writer.writerow([])
    writer.writerows(_rows(tables["scoring"]))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel opens Chinese CSV as UTF-8


def to_xlsx(tables: dict[str, list[list]], main: str) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name in (main, *(n for n in tables if n != main)):
        sheet = book.create_sheet(name)
        for row in _rows(tables[name]):
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
