"""A general election's wide feed: one row per unit, a group of columns per contest.

A contract declares the groups one by one (`[[contests.group]]`) or by pattern over the header
(`[[contests.pattern]]`: the first group of a pattern is the contest's label, the candidates
pattern's second group the candidate's). `resolve_groups` turns the declarations and a file's
header into the file's column groups; transforms.contract then writes each group's cells as the
long raw rows (unit, contest, line) a long feed gives. Pure polars: no I/O.

See docs/contracts.md (a wide feed of several contests).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

# One feed row holds a tally per contest, and a tally is known by its file and row: the row of
# a group's tally is the data row × GROUP_SPAN + the group's number (row 12's 3rd group: 12003).
GROUP_SPAN = 1000
MAX_ROW = (1 << 32) // GROUP_SPAN - 1  # staging keeps a tally's row below 2**32
MAX_LABEL = 200


class GroupsUnresolved(ValueError):
    """The file's header does not give the column groups its contract declares."""


@dataclass(frozen=True)
class ContestGroup:
    """One contest's columns: its counts and its candidates' (label → summed columns)."""

    contest: str  # the contest's label, matched like a long feed's (contests.contest_columns)
    counts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    candidates: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def cells(self) -> list[str]:
        """Every column of the group, in a stable order."""
        found = [c for cols in (*self.candidates.values(), *self.counts.values()) for c in cols]
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class GroupPattern:
    candidates: str  # groups: the contest's label, the candidate's label
    counts: dict[str, str] = field(default_factory=dict)  # field → pattern, group: the contest


def _first_hit(column: str, patterns: tuple[GroupPattern, ...]) -> tuple[str, str, str] | None:
    """(contest label, count field or None, candidate label or None) for a header column: the
    first pattern entry one of whose count patterns matches it, or whose candidates pattern
    does (a count pattern is the more particular, so it is tried first)."""
    cell = pl.Series([column], dtype=pl.String)
    for entry in patterns:
        for count, pattern in entry.counts.items():
            contest = cell.str.extract(pattern, 1)[0]
            if contest:
                return contest.strip()[:MAX_LABEL], count, None
        contest = cell.str.extract(entry.candidates, 1)[0]
        candidate = cell.str.extract(entry.candidates, 2)[0]
        if contest and candidate and contest.strip() and candidate.strip():
            return contest.strip()[:MAX_LABEL], None, candidate.strip()[:MAX_LABEL]
    return None


def resolve_groups(
    header: list[str],
    declared: tuple[ContestGroup, ...],
    patterns: tuple[GroupPattern, ...],
    read_elsewhere: Iterable[str] = (),
) -> list[ContestGroup]:
    """The file's column groups: the declared ones, then those the patterns find in the header
    (columns of a declared group and those the contract reads elsewhere, such as codes and
    names, aside), in header order. Raises GroupsUnresolved when a
    declared column is missing, a contest or a candidate gets two columns, a contest found by
    pattern has counts but no candidate, or nothing is found at all."""
    present = set(header)
    for group in declared:
        missing = [c for c in group.cells if c not in present]
        if missing:
            raise GroupsUnresolved(f"contest {group.contest!r}: missing column(s) {missing[:5]}")
    claimed = {c for g in declared for c in g.cells} | set(read_elsewhere)
    found: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {}
    for column in header:
        if column in claimed or column == "source_row" or not patterns:
            continue
        hit = _first_hit(column, patterns)
        if hit is None:
            continue
        contest, count, candidate = hit
        slots = found.setdefault(contest, {"counts": {}, "candidates": {}})
        kind, key = ("counts", count) if count else ("candidates", candidate)
        if key in slots[kind]:
            raise GroupsUnresolved(
                f"contest {contest!r}: {key!r} in two columns, "
                f"{slots[kind][key][0]!r} and {column!r}"
            )
        slots[kind][key] = (column,)
    named = {g.contest for g in declared}
    groups = list(declared)
    for contest, slots in found.items():
        if contest in named:
            raise GroupsUnresolved(
                f"contest {contest!r} has a [[contests.group]] and columns a pattern finds"
            )
        if not slots["candidates"]:
            raise GroupsUnresolved(
                f"contest {contest!r}: count column(s) but no candidate column a pattern finds"
            )
        groups.append(ContestGroup(contest, slots["counts"], slots["candidates"]))
    if not groups:
        raise GroupsUnresolved("no column matches [[contests.pattern]]")
    if len(groups) >= GROUP_SPAN:
        raise GroupsUnresolved(f"{len(groups)} contest groups; at most {GROUP_SPAN - 1}")
    return groups


def group_row(number: int) -> pl.Expr:
    """The row of a group's tally: the data row × GROUP_SPAN + the group's number (1-based)."""
    return (pl.col("source_row") * GROUP_SPAN + number).alias("source_row")


def on_ballot(group: ContestGroup) -> pl.Expr:
    """The contest is on the unit's ballot: some cell of its group is not empty. A group whose
    every cell is empty is a contest absent at the unit (no tally); some empty cells are
    missing counts (rule E8)."""
    return pl.any_horizontal([pl.col(c).fill_null("").str.strip_chars() != "" for c in group.cells])
