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


@dataclass
class Section:
    anchor: str
    title: str
    note: str
    charts: list[alt.TopLevelMixin] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
