"""`tallyhouse report`: the published marts in, one self-contained HTML file out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from reporting.html.data import read_report_data
from reporting.html.page import build_report, vega_bundle


@dataclass(frozen=True)
class WrittenReport:
    path: Path
    source: str
    charts: int
    bytes: int
    contests: int  # contests in the file: 1 for an election of one contest


def write_report(
    published: Path,
    out: Path,
    source: str | None = None,
    featured: tuple[str, ...] = (),
    primary: str | None = None,
) -> WrittenReport:
    """Read the published marts (read-only), write the page atomically to `out`. `featured`:
    contests a general election's report shows in full first (its declared contests);
    `primary`: the election's primary source, the default where sources tie on tallies."""
    data = read_report_data(published, source, featured, primary)
    page = build_report(data, vega_bundle())
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, out)
    charts = page.count('class="chart"')
    return WrittenReport(out, data.source, charts, len(page.encode("utf-8")), data.contest_count)
