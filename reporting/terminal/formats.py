"""Rows as machine-readable text for `tallyhouse query` and `results --format csv|json`.

JSON keeps types (numbers stay numbers, null stays null, dates are ISO text) and is written
ASCII-only, so any control or invisible character from a feed reaches the terminal as a `\\u`
escape and reads back unchanged. CSV quotes as RFC 4180 does; control and invisible characters
in text are written as escapes (`\\x1b`), the one change a value may undergo."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, datetime, time
from decimal import Decimal

from transforms.text import escaped

FORMATS = ("table", "csv", "json")
MAX_TEXT = 100_000  # the most characters of one text value in CSV


def _plain(value):
    """A JSON-ready value: numbers, text, booleans and null as they are; dates as ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def as_json(columns: list[str], rows: list[tuple]) -> str:
    """One JSON array of objects, a key per column."""
    objects = [dict(zip(columns, map(_plain, row), strict=True)) for row in rows]
    return json.dumps(objects, ensure_ascii=True, indent=None)


def _csv_cell(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escaped(value, MAX_TEXT) if isinstance(value, str) else str(value)


def as_csv(columns: list[str], rows: list[tuple]) -> str:
    """A header line, then a line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([escaped(c, MAX_TEXT) for c in columns])
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return out.getvalue().rstrip("\n")


def as_format(file_format: str, columns: list[str], rows: list[tuple]) -> str:
    """`csv` or `json` text of the rows."""
    return as_json(columns, rows) if file_format == "json" else as_csv(columns, rows)
