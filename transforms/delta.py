"""Incremental marts: what one drop changes in every unit above it, and the marts after it.

Pure polars. A drop replaces the current tallies of the units it touches; the marts' sums change
by (new − old), climbed up the geography like the full rollup, and the measures that are not sums
(shares, ranks, turnout, percent reporting) are recomputed for the touched units only, with the
same expressions as the full build, so both give identical marts (tests hold them equal).

A partial sum of the turnout measures is shown as unknown (null) in the full build; a unit whose
published sum is already unknown cannot be updated by a difference, so it asks for a full build
(NeedsFullBuild) instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.contest_results import placed_votes, shared_and_ranked
from transforms.model import Election
from transforms.quality_marts import quality_summary
from transforms.rollup import (
    COVERAGE_COLUMNS,
    RESULT_KEYS,
    TURNOUT_COLUMNS,
    TURNOUT_MEASURES,
    climb,
    named,
    of_a_contest,
    other_column,
    percent_reporting,
    result_measures,
    tally_units,
    turnout_base,
    turnout_ratio,
)
from transforms.staging import with_contest

KEYS = ["source_id", "contest_id", "level", "unit_code"]
UNIT = ["source_id", "contest_id", "tally_code"]
LINES = "lines__delta"  # the long votes' delta: tallies giving the line a count


class NeedsFullBuild(Exception):
    """The change cannot be applied as a difference; rebuild the marts from the staged tallies."""


@dataclass(frozen=True)
class Side:
    """One side of a change: the tallies (accepted or not) of the touched units before or after,
    their wide votes, the ids of those accepted, and their quality issues."""

    tallies: pl.DataFrame
    votes: pl.DataFrame
    accepted_ids: pl.DataFrame
    issues: pl.DataFrame

    def accepted(self) -> pl.DataFrame:
        return self.tallies.join(self.accepted_ids, on="tally_id", how="semi")


@dataclass(frozen=True)
class Deltas:
    votes: pl.DataFrame  # KEYS, parent_code, a column per candidate: signed sums
    turnout: pl.DataFrame  # KEYS, parent_code, signed sums and `<m>__unknown` null counts
    coverage: pl.DataFrame  # KEYS, received, counted
    quality: pl.DataFrame  # KEYS, quality_summary's measures

    def touched(self) -> pl.DataFrame:
        frames = [self.votes, self.turnout, self.coverage, self.quality]
        return pl.concat([f.select(KEYS) for f in frames]).unique()


def _signed(frame: pl.DataFrame, sign: int, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(*[pl.col(c) * sign for c in columns])


def _climbed(frame: pl.DataFrame, election: Election, measures: list[str], extra=()):
    def aggs(_f: pl.DataFrame) -> list[pl.Expr]:
        return [pl.col(m).sum() for m in measures] + list(extra)

    return pl.concat(climb(frame, election, ["contest_id"], aggs))


def _votes_delta(before: Side, after: Side, election: Election) -> pl.DataFrame:
    lines = election.result_ids
    parts = []
    for side, sign in ((before, -1), (after, 1)):
        base = side.votes.join(
            with_contest(side.accepted(), election).select(
                "tally_id",
                "source_id",
                "contest_id",
                *election.code_columns,
                *other_column(election),
            ),
            on="tally_id",
        ).drop("tally_id")
        parts.append(_signed(base, sign, lines))
    return _climbed(pl.concat(parts, how="vertical_relaxed"), election, lines)


def _turnout_delta(before: Side, after: Side, election: Election) -> pl.DataFrame:
    measures = list(TURNOUT_MEASURES)
    unknown = [f"{m}__unknown" for m in measures]
    parts = []
    for side, sign in ((before, -1), (after, 1)):
        base = turnout_base(side.accepted(), election)
        base = base.with_columns(
            *[
                pl.col(m).is_null().cast(pl.Int64).alias(u)
                for m, u in zip(measures, unknown, strict=True)
            ]
        )
        parts.append(_signed(base, sign, [*measures, *unknown]))
    return _climbed(pl.concat(parts, how="vertical_relaxed"), election, [*measures, *unknown])


def _coverage_delta(before: Side, after: Side, election: Election) -> pl.DataFrame:
    """Received and counted count tally units (source, code), not rows."""
    parts = [
        tally_units(
            of_a_contest(with_contest(side.tallies, election)),
            with_contest(side.accepted(), election),
            election,
            sign,
        )
        for side, sign in ((before, -1), (after, 1))
    ]
    return _climbed(pl.concat(parts), election, ["received", "counted"]).select(
        *KEYS, "received", "counted"
    )


def _quality_delta(
    before: Side, after: Side, rule_ids: list[str], election: Election
) -> pl.DataFrame:
    no_names = pl.DataFrame(
        schema={"level": pl.String, "unit_code": pl.String, "unit_name": pl.String}
    )
    frames = []
    for side, sign in ((before, -1), (after, 1)):
        summary = quality_summary(side.tallies, side.issues, no_names, rule_ids, election)
        measures = [c for c in summary.columns if c not in (*KEYS, "unit_name")]
        frames.append(_signed(summary.drop("unit_name"), sign, measures))
    both = pl.concat(frames)
    measures = [c for c in both.columns if c not in KEYS]
    return both.group_by(KEYS).agg(pl.col(m).sum() for m in measures)


def _long_votes_delta(
    before: Side, after: Side, long: tuple[pl.DataFrame, pl.DataFrame], election: Election
) -> pl.DataFrame:
    """A general election's long votes moved by the change, climbed: KEYS, parent_code,
    candidate_id, votes and `lines` (the change in how many tallies give the line a count
    there). A results row exists while some accepted tally gives its line a count; a delta
    cannot see the last one go, so a line that stops at a tally unit asks for a full build."""
    parts = []
    for side, votes, sign in ((before, long[0], -1), (after, long[1], 1)):
        base = placed_votes(side.accepted(), votes, election).drop("tally_id")
        parts.append(
            _signed(
                base.with_columns(pl.lit(1, pl.Int64).alias(LINES)),
                sign,
                [
                    "votes",
                    LINES,
                ],
            )
        )
    climbed = climb(
        pl.concat(parts, how="vertical_relaxed"),
        election,
        ["contest_id", "candidate_id"],
        lambda _f: [pl.col("votes").sum(), pl.col(LINES).sum()],
    )
    return pl.concat(climbed)


def lost_lines(deltas: Deltas, election: Election) -> pl.DataFrame:
    """source_id, contest_id, candidate_id of the lines some tally unit stopped giving a count
    for (a correction without the line, a tally newly quarantined): whether their rows above
    it go depends on the other tallies, which the difference does not hold (line_counts)."""
    tally_level = election.levels[-1]
    return (
        deltas.votes.filter((pl.col("level") == tally_level) & (pl.col(LINES) < 0))
        .select("source_id", "contest_id", "candidate_id")
        .unique()
    )


def line_counts(
    tallies: pl.DataFrame, votes: pl.DataFrame, lost: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """KEYS, candidate_id and `lines`: how many accepted tallies give each lost line a count at
    every unit, after the change (tallies: the accepted tallies of the lost lines' sources and
    contests; votes: their long votes of those lines)."""
    base = (
        placed_votes(tallies, votes, election)
        .join(lost, on=["source_id", "contest_id", "candidate_id"], how="semi")
        .drop("tally_id", "votes")
        .with_columns(pl.lit(1, pl.Int64).alias(LINES))
    )
    climbed = climb(
        base, election, ["contest_id", "candidate_id"], lambda _f: [pl.col(LINES).sum()]
    )
    return pl.concat(climbed).select(*KEYS, "candidate_id", LINES)


def mart_deltas(
    before: Side,
    after: Side,
    rule_ids: list[str],
    election: Election,
    long: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> Deltas:
    """The change's deltas of every summed mart. long: a general election's long votes (tally_id,
    candidate_id, votes) before and after, whose results are climbed per line."""
    for side in (before, after):
        if side.tallies.select(pl.any_horizontal(pl.col(election.code_columns).is_null())).sum()[
            0, 0
        ]:
            raise NeedsFullBuild("a changed tally lacks a code: its unit is its own row")
    deltas = Deltas(
        _votes_delta(before, after, election)
        if long is None
        else _long_votes_delta(before, after, long, election),
        _turnout_delta(before, after, election),
        _coverage_delta(before, after, election),
        _quality_delta(before, after, rule_ids, election),
    )
    line = ["candidate_id"] if long is not None else []
    for frame, keys in (
        (deltas.votes, [*KEYS, *line]),
        (deltas.turnout, KEYS),
        (deltas.coverage, KEYS),
        (deltas.quality, KEYS),
    ):
        if frame.select(keys).is_duplicated().any():
            # the rollup groups by the whole code path: one unit under two parents
            raise NeedsFullBuild("a changed tally's unit moved to another parent")
    return deltas


def _plus(old: pl.DataFrame, delta: pl.DataFrame, measures: list[str]) -> pl.DataFrame:
    """old + delta on KEYS; a key only in delta starts from zero. A null contest (a tally of no
    contest, in quality_summary) is a key like any other."""
    return (
        old.join(delta, on=KEYS, how="full", coalesce=True, suffix="__delta", nulls_equal=True)
        .with_columns(
            *[
                (pl.col(m).fill_null(0) + pl.col(f"{m}__delta").fill_null(0)).alias(m)
                for m in measures
            ]
        )
        .drop(f"{m}__delta" for m in measures)
    )


def updated_results(
    old_votes: pl.DataFrame,
    deltas: Deltas,
    counted: pl.DataFrame,
    names: pl.DataFrame,
    election: Election,
) -> pl.DataFrame:
    """New wide results rows (as rollup's results_wide) of the touched units that still have an
    accepted tally.

    old_votes: KEYS, parent_code, a votes column per candidate, for the touched units published.
    counted: KEYS, counted (after the change).
    """
    delta = deltas.votes.drop("parent_code")
    merged = _plus(old_votes.drop("parent_code", strict=False), delta, election.result_ids)
    parents = pl.concat(
        [old_votes.select(*KEYS, "parent_code"), deltas.votes.select(*KEYS, "parent_code")],
        how="vertical_relaxed",
    ).unique(KEYS, keep="first")
    alive = merged.join(counted.filter(pl.col("counted") > 0).select(KEYS), on=KEYS, how="semi")
    return (
        alive.join(parents, on=KEYS, how="left")
        .join(names, on=["level", "unit_code"], how="left")
        .select(*RESULT_KEYS, *result_measures(election))
    )


def updated_turnout(
    old: pl.DataFrame, deltas: Deltas, counted: pl.DataFrame, names: pl.DataFrame
) -> pl.DataFrame:
    """New turnout rows of the touched units that still have an accepted tally."""
    measures = list(TURNOUT_MEASURES)
    unknown = [f"{m}__unknown" for m in measures]
    if old.select(pl.any_horizontal(pl.col(measures).is_null())).to_series().any():
        raise NeedsFullBuild("a touched unit's turnout sums are unknown (a tally lacks a count)")
    if deltas.turnout.select(pl.any_horizontal(pl.col(unknown) != 0)).to_series().any():
        raise NeedsFullBuild("a changed tally lacks a count the turnout sums need")
    delta = deltas.turnout.drop("parent_code", *unknown)
    merged = _plus(old.drop("parent_code", "unit_name", "turnout"), delta, measures)
    parents = pl.concat(
        [old.select(*KEYS, "parent_code"), deltas.turnout.select(*KEYS, "parent_code")],
        how="vertical_relaxed",
    ).unique(KEYS, keep="first")
    return (
        merged.join(counted.filter(pl.col("counted") > 0).select(KEYS), on=KEYS, how="semi")
        .join(parents, on=KEYS, how="left")
        .pipe(named, names)
        .with_columns(turnout_ratio())
        .select(TURNOUT_COLUMNS)
    )


def updated_coverage(old: pl.DataFrame, deltas: Deltas, units: pl.DataFrame) -> pl.DataFrame:
    """New coverage rows of the touched units: registry units always have one; other units
    only while some tally of theirs is received, named by their code as a full build names a
    unit the registry lacks."""
    merged = _plus(
        old.drop("unit_name", "expected", "percent_reporting"),
        deltas.coverage,
        ["received", "counted"],
    )
    known = units.select(
        "level", "unit_code", "unit_name", "expected", pl.lit(True).alias("_known")
    )
    return (
        merged.join(known, on=["level", "unit_code"], how="left")
        .filter((pl.col("received") > 0) | pl.col("_known").fill_null(False))
        .with_columns(percent_reporting(), pl.coalesce("unit_name", "unit_code").alias("unit_name"))
        .select(COVERAGE_COLUMNS)
    )


def updated_contest_results(
    old: pl.DataFrame,
    deltas: Deltas,
    names: pl.DataFrame,
    lines: pl.DataFrame,
    counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """A general election's new results rows (long) of the touched units: old votes + delta, a
    row kept while some tally gives its line a count (a new one where the change brings the
    first), then shares and ranks over each touched unit's lines as the full build does.

    old: the touched units' published rows (every line of each). counts: line_counts of the
    lost lines (lost_lines), whose rows stay only where some tally still gives them a count."""
    line = [*KEYS, "candidate_id"]
    delta = deltas.votes.select(*line, "parent_code", "votes", LINES)
    lost = pl.lit(False)
    if counts is not None:
        lost_keys = counts.select("source_id", "contest_id", "candidate_id").unique()
        delta = delta.join(
            lost_keys.with_columns(pl.lit(True).alias("_lost")),
            on=["source_id", "contest_id", "candidate_id"],
            how="left",
        ).join(counts.rename({LINES: "_left"}), on=line, how="left")
        lost = pl.col("_lost").fill_null(False) & (pl.col("_left").fill_null(0) == 0)
    merged = (
        old.select(*line, "parent_code", "votes")
        .with_columns(pl.lit(True).alias("_published"))
        .join(delta, on=line, how="full", coalesce=True, suffix="__delta")
        .filter((pl.col("_published").fill_null(False) | (pl.col(LINES) > 0)) & ~lost)
        .select(
            "source_id",
            "level",
            "unit_code",
            pl.coalesce("parent_code", "parent_code__delta").alias("parent_code"),
            "contest_id",
            "candidate_id",
            (pl.col("votes").fill_null(0) + pl.col("votes__delta").fill_null(0)).alias("votes"),
        )
    )
    return shared_and_ranked(merged, names, lines)


def updated_contest_coverage(
    old: pl.DataFrame, deltas: Deltas, names: pl.DataFrame
) -> pl.DataFrame:
    """A general election's new coverage rows of the touched units (no registry listing the
    contests on each ballot): a published row keeps its expected tallies; a new one (a unit that
    received its first tally of the contest) has none known, as in the full build. A drop never
    takes a received tally away (it replaces it); where it would, a full build decides."""
    merged = _plus(
        old.drop("unit_name", "percent_reporting"), deltas.coverage, ["received", "counted"]
    )
    if (merged["received"] <= 0).any():
        raise NeedsFullBuild("a unit's last received tally of a contest went away")
    return merged.pipe(named, names).with_columns(percent_reporting()).select(COVERAGE_COLUMNS)


def updated_quality_summary(old: pl.DataFrame, deltas: Deltas, names: pl.DataFrame) -> pl.DataFrame:
    measures = [c for c in deltas.quality.columns if c not in KEYS]
    merged = _plus(old.drop("unit_name"), deltas.quality, measures)
    return (
        merged.filter(pl.col("received") > 0)
        .pipe(named, names)
        .select("source_id", "contest_id", "level", "unit_code", "unit_name", *measures)
    )


def add_stats(
    old: pl.DataFrame,
    before: pl.DataFrame,
    after: pl.DataFrame,
    keys: list[str],
    count: str = "n",
) -> pl.DataFrame:
    """Additive statistics moved by a change: old − before + after, group by group.

    Every column but the keys must be a sum over tallies (integers keep it exact: the result
    equals the statistics computed afresh over the new tallies). A group whose `count` falls to
    zero is dropped, as a fresh computation would not have it. Sorted by the keys.
    """
    measures = [c for c in old.columns if c not in keys]
    parts = [old, _signed(before.select(old.columns), -1, measures), after.select(old.columns)]
    summed = (
        pl.concat(parts, how="vertical_relaxed")
        .group_by(keys)
        .agg(pl.col(m).sum() for m in measures)
    )
    kept = summed.filter(pl.col(count) != 0).select(old.columns).cast(old.schema)
    return kept.sort(keys, nulls_last=True)
