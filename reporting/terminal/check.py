"""What `tallyhouse check` prints: the dry run's report (landing.dry_run.CheckReport), per file.

Everything that came from a file (names, labels, codes, observed values, reasons) is escaped and
bounded (transforms.text) before it is printed.
"""

from __future__ import annotations

from collections.abc import Callable

from landing.dry_run import CheckReport, FileCheck
from transforms.text import escaped, one_line

LIST_SHOWN = 12  # items of a list (columns, labels) shown on one line


def _names(items, shown: int = LIST_SHOWN) -> str:
    items = list(items)
    more = f", … ({len(items) - shown} more)" if len(items) > shown else ""
    return ", ".join(escaped(i) for i in items[:shown]) + more


def format_check(report: CheckReport) -> list[str]:
    """The report as lines of text."""
    lines = [
        f"Election {escaped(report.election_id)} ({escaped(report.election_name)}): levels "
        f"{' > '.join(escaped(lv) for lv in report.levels)}",
        f"Landing folder {escaped(report.landing, 300)}: first {report.sample_rows:,} rows of "
        "each file, read and mapped in memory; nothing written",
    ]
    if report.registry_error:
        lines.append(f"Registry: WOULD BE REJECTED: {one_line(report.registry_error)}")
    elif report.registry:
        lines.append(f"Registry {escaped(report.registry)}: {report.registry_rows:,} units")
    if report.registry_note:
        lines.append(f"Note: {one_line(report.registry_note)}")
    if not report.files:
        lines.append("No landing file matches a contract of this election.")
    for check in report.files:
        lines += [""] + _file_lines(check)
    if report.unmatched:
        lines += [
            "",
            f"{len(report.unmatched)} landing file(s) match no contract and would not be "
            f"loaded: {_names(report.unmatched)}",
        ]
    if report.engine_error:
        lines += ["", f"ENGINE ERROR: the rules could not be run: {one_line(report.engine_error)}"]
    lines += ["", _verdict(report)]
    return lines


def _more(items: list) -> str:
    """`, … N more` when a list is longer than a line shows."""
    return f", … {len(items) - LIST_SHOWN:,} more" if len(items) > LIST_SHOWN else ""


def _file_lines(check: FileCheck) -> list[str]:
    head = f"{escaped(check.file_name, 120)}  (contract {escaped(check.contract_id)}, source "
    head += f"{escaped(check.source_id)})"
    lines = [head]
    more = " (the file goes on)" if check.more_rows else ""
    excluded = (
        f", {check.rows_excluded:,} left out by the row filters ([[include]], [[exclude]])"
        if check.rows_excluded
        else ""
    )
    blank = f", {check.rows_blank:,} blank line(s) skipped" if check.rows_blank else ""
    lines.append(f"  rows read: {check.rows_read:,}{more}{excluded}{blank}")
    if check.cut_rows:
        lines.append(
            f"  the last {check.cut_rows:,} row(s) belong to a tally the sample may cut: left out"
        )
    if check.counts:
        mapped = "; ".join(f"{f} ← {_names(cols)}" for f, cols in check.counts)
        lines.append(f"  counts: {mapped}")
    if check.candidates:
        mapped = "; ".join(f"{escaped(c)} ← {_names(cols, 3)}" for c, cols in check.candidates)
        lines.append(f"  candidates: {mapped}")
    if check.labels:
        known = [lb for lb in check.labels if lb.candidate_id is not None]
        unknown = [lb for lb in check.labels if lb.candidate_id is None]
        if known:
            shown = ", ".join(
                f"{escaped(lb.text)} → {escaped(lb.candidate_id)}" for lb in known[:LIST_SHOWN]
            )
            lines.append(f"  candidate labels: {shown}{_more(known)}")
        if unknown:
            shown = ", ".join(
                f"{escaped(lb.text)!s} ({lb.rows:,} rows)" for lb in unknown[:LIST_SHOWN]
            )
            lines.append(f"  labels no alias maps: {shown}{_more(unknown)}")
        if check.more_labels:
            lines.append(f"  … and {check.more_labels:,} more distinct label(s)")
    if check.contests:
        shown = ", ".join(
            f"{escaped(cid)}" + (f" ({escaped(level)})" if level else "")
            for cid, _name, level in check.contests[:LIST_SHOWN]
        )
        total = len(check.contests) + check.more_contests
        more = (
            f", … {total - min(len(check.contests), LIST_SHOWN):,} more"
            if total > LIST_SHOWN
            else ""
        )
        lines.append(f"  contests: {total:,} ({shown}{more})")
    if check.error:
        lines.append(f"  WOULD BE REJECTED: {one_line(check.error)}")
        return lines
    units = ", ".join(f"{n:,} {escaped(level)}" for level, n in check.units)
    lines.append(f"  tallies: {check.tallies:,}; units: {units}")
    if not check.breaches:
        lines.append("  rules: none broken in the sample")
        return lines
    lines.append(
        f"  rules broken: {check.quarantined:,} tallies would be quarantined, "
        f"{check.flagged:,} flagged"
    )
    for breach in check.breaches:
        verb = "quarantined" if breach.severity == "error" else "flagged"
        lines.append(f"    {breach.rule_id} {breach.description} {breach.tallies:,} {verb}")
        for example in breach.examples:
            code = escaped(example.tally_code) if example.tally_code is not None else "∅"
            lines.append(
                f"      {escaped(check.file_name, 80)} row {example.source_row:,}, "
                f"tally {code}: {escaped(example.observed, 160)}"
            )
    return lines


def _verdict(report: CheckReport) -> str:
    rejected = sum(f.error is not None for f in report.files) + bool(report.registry_error)
    quarantined = sum(f.quarantined for f in report.files)
    if report.clean:
        return f"OK: {len(report.files)} file(s) would load; no sampled tally breaks an error rule."
    parts = []
    if rejected:
        parts.append(f"{rejected} file(s) would be rejected whole")
    if quarantined:
        parts.append(f"{quarantined:,} sampled tallies would be quarantined")
    if report.engine_error:
        parts.append("the rules could not be run")
    return "NOT CLEAN: " + "; ".join(parts) + "."


def print_check(report: CheckReport, echo: Callable[[str], None] = print) -> None:
    for line in format_check(report):
        echo(line)
