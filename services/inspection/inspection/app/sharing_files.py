"""Reading the files data sharing imports (rules D5, N1): CSV, XLSX or JSON, into numbered rows.

Each row is a dict under this API's field names (Chinese headers of the special-equipment platform's exports are
mapped), numbered as a person finds it in the file: the first data row of a CSV or XLSX is row 2 (row 1 is the
header), a JSON array's first element is row 1. A file that cannot be read at all is one error (422); a row that
cannot be read is reported on its own and the rest are read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from nrmm_kernel.errors import ValidationFailed

from ..domain.special_equipment import TEST_FACT_PREFIXES

FORMATS = ("csv", "xlsx", "json")
XLSX_MAGIC = b"PK\x03\x04"


def detect_format(name: str | None, head: bytes) -> str:
    suffix = Path(name or "").suffix.lower().lstrip(".")
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if suffix in FORMATS:
        return suffix
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" if stripped[:1] in (b"[", b"{") else "csv"


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # exports from Chinese systems are often GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("文件编码无法识别 (neither UTF-8 nor GB18030)", code="unreadable_file", field="file")


def _mapped(raw: dict, headers: dict[str, str], facts: bool) -> dict:
    row: dict = {}
    test_facts: dict[str, str] = {}
    for key, value in raw.items():
        if key is None:
            continue
        key = str(key).strip()
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if facts and key.startswith(TEST_FACT_PREFIXES):
            test_facts[key.split("_", 1)[1]] = str(value).strip()
            continue
        field = headers.get(key, key)
        row[field] = value if isinstance(value, dict | list) else str(value).strip()
    if test_facts:
        row.setdefault("test_facts", {}).update(test_facts)
    return row


def read_rows(data: bytes, fmt: str, headers: dict[str, str], *, facts: bool = False) -> Iterator[tuple[int, dict]]:
    """(row number, row) for every data row of the file."""
    if fmt == "json":
        yield from _json_rows(data, headers, facts)
    elif fmt == "xlsx":
        yield from _xlsx_rows(data, headers, facts)
    else:
        yield from _csv_rows(data, headers, facts)


def _json_rows(data: bytes, headers, facts):
    try:
        parsed = json.loads(_text(data))
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"JSON 无法解析 (line {exc.lineno})", code="unreadable_file", field="file") from None
    records = parsed.get("records") if isinstance(parsed, dict) else parsed
    if not isinstance(records, list):
        raise ValidationFailed("JSON 须为记录数组或 {\"records\": [...]}", code="unreadable_file", field="file")
    yield from records_rows(records, headers, facts)


def records_rows(records: list, headers: dict[str, str], facts: bool = False) -> Iterator[tuple[int, dict]]:
    """Records pushed as JSON objects, numbered from 1."""
    for number, record in enumerate(records, start=1):
        yield number, _mapped(record, headers, facts) if isinstance(record, dict) else {"__not_an_object__": True}


def _csv_rows(data: bytes, headers, facts):
    reader = csv.DictReader(io.StringIO(_text(data), newline=""))
    if not reader.fieldnames:
        raise ValidationFailed("CSV 缺少表头 (no header row)", code="unreadable_file", field="file")
    for number, record in enumerate(reader, start=2):
        if record.get(None):  # more cells than headers
            yield number, {"__extra_cells__": True}
            continue
        yield number, _mapped(record, headers, facts)


def _xlsx_rows(data: bytes, headers, facts):
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer
        raise ValidationFailed("XLSX 无法读取 (not a readable workbook)", code="unreadable_file",
                               field="file") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise ValidationFailed("XLSX 缺少表头 (no header row)", code="unreadable_file", field="file")
        names = [str(h).strip() if h is not None else None for h in header]
        for number, values in enumerate(rows, start=2):
            if values is None or all(v is None for v in values):
                continue
            cells = {n: _cell(v) for n, v in zip(names, values, strict=False) if n}
            yield number, _mapped(cells, headers, facts)
    finally:
        book.close()


def _cell(value):
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a serial typed as a number
    return str(value)
