"""The report's building blocks: number formats, the escaped HTML table and the section.

Every value from the data reaches the page through `table` (or html.escape where a section
writes its own markup): names in feeds are hostile."""

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import altair as alt
import polars as pl

# ---- formatting ----------------------------------------------------------------------------


def fmt_int(value) -> str:
    return "–" if value is None else f"{int(value):,}"


def fmt_pct(share, digits: int = 2) -> str:
    return "–" if share is None else f"{100 * share:.{digits}f} %"


def fmt_float(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def fmt_text(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


Column = tuple[str, str, Callable]  # column, header, formatter


def table(
    frame: pl.DataFrame,
    columns: list[Column],
    caption: str | None = None,
    table_id: str | None = None,
    empty: str = "Nothing to show.",
) -> str:
    """The rows as an escaped HTML table under `caption`; without rows, the sentence `empty`
    instead (never a table of headers alone)."""
    if frame.is_empty():
        lead = f"{html.escape(caption)}: " if caption else ""
        return f'<p class="empty">{lead}{html.escape(empty)}</p>'
    columns = _without_repeated_codes(frame, columns)
    numeric = {fmt_int, fmt_pct, fmt_float}
    head = "".join(
        f'<th class="{"num" if f in numeric else ""}">{html.escape(h)}</th>' for _, h, f in columns
    )
    body = []
    for row in frame.iter_rows(named=True):
        cells = "".join(
            f'<td class="{"num" if f in numeric else ""}">{html.escape(f(row.get(c)))}</td>'
            for c, _, f in columns
        )
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    named = f' id="{html.escape(table_id)}"' if table_id else ""
    return (
        f'<div class="table-wrap"><table{named}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _without_repeated_codes(frame: pl.DataFrame, columns: list[Column]) -> list[Column]:
    """The columns without the unit's code where every unit's name is its code (a feed that
    names its units by number, as DC's wards "1" to "8": the same value twice a row)."""
    shown = {c for c, _, _ in columns}
    if not {"unit_code", "unit_name"} <= shown or not {"unit_code", "unit_name"} <= set(
        frame.columns
    ):
        return columns
    same = frame.select(pl.col("unit_name").eq_missing(pl.col("unit_code")).all()).item()
    return [c for c in columns if c[0] != "unit_code"] if same else columns


@dataclass
class Section:
    anchor: str
    title: str
    note: str
    charts: list[alt.TopLevelMixin] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
