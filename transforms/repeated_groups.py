"""Column groups repeated side by side in one feed row (`file.repeat`), read as rows of their own.

France's results per bureau de vote give each bureau ONE row and its candidates in numbered
column groups beside each other (`Nom candidat 1`, `Voix 1`, `Nom candidat 2`, `Voix 2`, …), the
candidate of group k differing from one circonscription to the next; Australia's first
preferences by vote type give a candidate's ordinary, absent, postal… votes as columns
(`OrdinaryVotes`, `AbsentVotes`, …). No header names the candidate or the unit, so no
wide or grouped mapping can say them. Read with `file.repeat`, each data row becomes one row per
group: the row's other columns, the group's columns under their common names (`Nom candidat`,
`Voix`), and optionally its key (`1`, `Absent`) in a column of its own; the contract then reads
these rows as a long feed. A group whose every cell is empty on a row (a circonscription with
fewer candidates than the widest) gives no row; a data row none of whose groups is given keeps
one row, its first group's empty cells (a line with no label: the quality gate judges it), so that
no data row vanishes. Pure polars: no I/O.

See docs/contracts.md (Column groups repeated in one row).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.contest_groups import GROUP_SPAN, MAX_ROW
from transforms.text import escaped

COLUMN, KEY = "column", "key"  # the named groups of `file.repeat.pattern`


class RepeatUnresolved(ValueError):
    """The file's header does not give the repeated groups its contract declares."""


def _shown(name: str) -> str:
    """A header's name or key in a reason: quoted, escaped, bounded (a header is the file's)."""
    return f"'{escaped(name)}'"


@dataclass(frozen=True)
class RepeatedGroups:
    pattern: str  # a header column's name → (?P<column>…) its common name, (?P<key>…) its group
    columns: tuple[str, ...]  # the common names each group gives (what the contract reads)
    key: str | None = None  # the column the group's key is written to, if the contract reads it


def found_groups(header: list[str], spec: RepeatedGroups) -> dict[str, dict[str, str]]:
    """The header's groups, in the order their first column comes: key → {common name: header
    column}. Header columns the pattern matches under a name not in `spec.columns` (`% Voix/
    inscrits 1`) belong to no group and are not read. RepeatUnresolved when no group is found, a
    group lacks a column, or gives one twice."""
    names = [c for c in header if c != "source_row"]
    parts = pl.Series(names, dtype=pl.String).str.extract_groups(spec.pattern)
    groups: dict[str, dict[str, str]] = {}
    for column, found in zip(names, parts.to_list(), strict=True):
        name, key = found[COLUMN], found[KEY]
        if name is None or key is None or name not in spec.columns:
            continue
        group = groups.setdefault(key, {})
        if name in group:
            twice = f"{_shown(group[name])}, {_shown(column)}"
            raise RepeatUnresolved(f"group {_shown(key)} gives {_shown(name)} twice: {twice}")
        group[name] = column
    if not groups:
        raise RepeatUnresolved(f"no column matches file.repeat.pattern {_shown(spec.pattern)}")
    if len(groups) >= GROUP_SPAN:
        raise RepeatUnresolved(f"{len(groups)} repeated groups; at most {GROUP_SPAN - 1}")
    for key, group in groups.items():
        lacking = [c for c in spec.columns if c not in group]
        if lacking:
            raise RepeatUnresolved(f"group {_shown(key)} lacks {', '.join(map(_shown, lacking))}")
    return groups


def unmatched(header: list[str], spec: RepeatedGroups) -> list[str]:
    """The header's columns the pattern does not match: each group's row carries them. One named
    as a group's column or the key would be read twice: RepeatUnresolved."""
    matched = pl.Series(header, dtype=pl.String).str.contains(spec.pattern).to_list()
    kept = [c for c, m in zip(header, matched, strict=True) if not m and c != "source_row"]
    clash = [c for c in kept if c in (*spec.columns, spec.key)]
    if clash:
        raise RepeatUnresolved(f"column {_shown(clash[0])} is also a repeated group's column name")
    return kept


def repeated_header(header: list[str], spec: RepeatedGroups) -> list[str]:
    """The columns a contract sees once the groups are rows: the columns the pattern does not
    match, then the groups' common names and the key column (RepeatUnresolved as found_groups)."""
    found_groups(header, spec)
    return [*unmatched(header, spec), *spec.columns, *([spec.key] if spec.key else [])]


def unpivoted(frame: pl.DataFrame, spec: RepeatedGroups) -> pl.DataFrame:
    """One row per data row and group with a cell given, numbered data row × GROUP_SPAN + the
    group's number (as a grouped feed's tallies: a unit a group makes has a row of its own); a
    data row with no group given, one row of its first group's empty cells."""
    groups = found_groups(frame.columns, spec)
    if frame.height and frame["source_row"].max() > MAX_ROW:
        raise RepeatUnresolved(f"more than {MAX_ROW} data rows: split the file")
    base = unmatched(frame.columns, spec)
    given = {
        key: pl.any_horizontal(
            pl.col(group[c]).fill_null("").str.strip_chars() != "" for c in spec.columns
        )
        for key, group in groups.items()
    }
    none_given = ~pl.any_horizontal(given.values())
    parts = []
    for number, (key, group) in enumerate(groups.items(), start=1):
        cells = [pl.col(group[c]).alias(c) for c in spec.columns]
        kept = given[key] | none_given if number == 1 else given[key]
        parts.append(
            frame.filter(kept).select(
                (pl.col("source_row") * GROUP_SPAN + number).alias("source_row"),
                *base,
                *cells,
                *([pl.lit(key, pl.String).alias(spec.key)] if spec.key else []),
            )
        )
    return pl.concat(parts).sort("source_row", maintain_order=True)
