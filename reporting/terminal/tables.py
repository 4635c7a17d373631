"""Plain-text tables for the terminal: what `tallyhouse query` and `results` print."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from transforms.text import escaped

if TYPE_CHECKING:  # the reader opens DuckDB; printing needs only the result's shape
    from warehouse.read_marts import QueryResult

MAX_CELL = 40


def cell(value) -> str:
    """One value as text: thousands separators on whole numbers, 4 decimals on fractions."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{value:,.4f}"
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return escaped(str(value).replace("\n", " "), MAX_CELL)


def _numeric(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def format_table(columns: list[str], rows: list[tuple]) -> str:
    """Aligned columns under a header; numbers right-aligned, text left-aligned."""
    texts = [[cell(v) for v in row] for row in rows]
    widths = [max([len(name), *(len(r[i]) for r in texts)]) for i, name in enumerate(columns)]
    right = [
        any(_numeric(row[i]) or str(row[i]).endswith(" %") for row in rows)
        for i in range(len(columns))
    ]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(columns)), line(["-" * w for w in widths])]
    out += [line(r) for r in texts]
    return "\n".join(out)


def format_query(result: QueryResult) -> str:
    if not result.columns:
        return "(no result)"
    text = format_table(result.columns, result.rows)
    shown = len(result.rows)
    if result.truncated:
        return (
            f"{text}\n… {shown:,} of {result.total_rows:,} rows shown; add LIMIT or a WHERE "
            "clause, raise --max-rows, or use `tallyhouse export` for everything."
        )
    return f"{text}\n({shown:,} row{'s' if shown != 1 else ''})"


def _percent(fraction) -> str:
    return f"{fraction * 100:.2f} %" if fraction is not None else "-"


def _said_once(words: list[str | None]) -> list[str]:
    """The level, code and name of a unit, each escaped, leaving out a blank one and one that
    repeats the one before it (DC's `smd 1A01 1A01`, a national unit named `national`)."""
    said: list[str] = []
    for word in words:
        text = escaped(str(word).strip(), 120) if word is not None else ""
        if text and (not said or text.casefold() != said[-1].casefold()):
            said.append(text)
    return said


def format_unit(rows: list[dict], show_contest: bool = True) -> str:
    """One unit's candidates with votes, share and rank, under its turnout and coverage; its
    contest named in the title when `show_contest` (a general election's)."""
    head = rows[0]
    # the unit above, by its code; not for the units right under national (that goes unsaid)
    above = head["parent_code"]
    parent = f", in {escaped(above)}" if above and above != "national" else ""
    turnout = (
        f"turnout {_percent(head['turnout'])} ({cell(head['total_votes'])} ballots, "
        f"{cell(head['registered'])} registered)"
        if head["turnout"] is not None
        else f"turnout unknown ({cell(head['total_votes'])} ballots)"
    )
    if head["expected"]:
        coverage = (
            f"coverage {cell(head['counted'])} of {cell(head['expected'])} tallies "
            f"({head['percent_reporting']:.2f} %)"
        )
    else:
        coverage = f"coverage {cell(head['counted'])} tallies counted (expected unknown)"
    contest = f" {escaped(head['contest_id'])}" if show_contest and head["contest_id"] else ""
    title = (
        f"[{escaped(head['source_id'])}]{contest} "
        + " ".join(_said_once([head["level"], head["unit_code"], head["unit_name"]]))
        + parent
    )
    table = format_table(
        ["rank", "candidate", "votes", "share"],
        [
            ("-" if r["rank"] is None else r["rank"], r["candidate_name"], r["votes"])
            + (_percent(r["share"]),)
            for r in rows
        ],
    )
    body = "\n".join("  " + line for line in table.splitlines())
    return f"{title}\n  {turnout}; {coverage}\n{body}"
