"""Forensic warnings on the accepted tallies: the `forensics` mart. Pure polars.

Three checks, each a warning and never proof (docs/forensics.md says what each can and cannot
show):
- F1 last-digit uniformity of candidate counts per state (transforms/forensics/digits.py);
- F2 tables far outside the other tables of their own centre (transforms/forensics/centres.py);
- F3 the turnout x vote-share fingerprint: the share of tallies at 95 % turnout or more with one
  candidate at 95 % or more, nationally and per state (here).

Rows: F1 every source x state x candidate, and pooled per state (tested or not, with why);
F2 only the flagged tables, plus one summary row per source and state and a national one;
F3 one row per source, nationally and per state. So the mart stays small at a million tables.

The mart is built from a ForensicState that a drop can update without reading every tally
(transforms/forensics/delta.py): additive integer statistics for F1 and F3 (and the national
votes that decide F2's main candidates), and F2's verdicts per centre. Every float is computed
from those integers or from one centre's tables, so an updated state gives the same mart, bit for
bit, as a state computed from all the tallies.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.feed import BLANK, NULL, REGISTERED, TOTAL, VALID
from transforms.forensics.centres import (
    CENTRE,
    OUTLIER_SCHEMA,
    centre_counts,
    centre_measures,
    centre_outliers,
    main_candidates,
    outlier_rows,
    outlier_summary,
)
from transforms.forensics.digits import DIGITS, MIN_COUNT, MIN_LARGE, digit_stats, digit_tests
from transforms.forensics.digits import GROUP as DIGIT_GROUP
from transforms.forensics.digits import STATS as DIGIT_STATS
from transforms.model import NATIONAL, Election
from transforms.staging import cast_votes_total

SCHEMA = {
    "source_id": pl.String,
    "check_id": pl.String,
    "check_name": pl.String,
    "level": pl.String,
    "unit_code": pl.String,
    "unit_name": pl.String,
    "candidate_id": pl.String,
    "n": pl.Int64,
    "statistic": pl.Float64,
    "p_value": pl.Float64,
    "flagged": pl.Boolean,
    "detail": pl.String,
}
CHECK_NAMES = {
    "F1": "last-digit uniformity of candidate counts",
    "F2": "table far outside its centre",
    "F3": "turnout x vote-share fingerprint",
}


def check_names(election: Election) -> dict[str, str]:
    """The checks' names in the election's words: F2 names its tally and grouping levels."""
    if len(election.levels) < 2:
        return CHECK_NAMES
    tally, group = election.tally_level, election.levels[-2]
    return {**CHECK_NAMES, "F2": f"{tally} far outside its {group}"}


HIGH = 0.95  # F3: turnout and a candidate's share at or above this is the fingerprint's corner
FINGERPRINT_SHARE = 0.01  # F3: flagged when more than this share of tallies sit in that corner
MIN_FINGERPRINT_TALLIES = 20  # F3: fewer tallies in a unit and one stronghold is already 5 %
UNIT_KEYS = ["source_id", "state"]
SPARSE_COLUMNS = 24  # F1 unpivots tallies with more candidates than this (tally_digit_stats)
FINGERPRINT = ["tallies", "n", "hits", "reg_hits", "reg"]


@dataclass(frozen=True)
class ForensicState:
    """What the mart is built from, per source:
    - digits: F1 digit_stats per state (unit_code) and candidate (additive integers);
    - units: per state, F3's counts (FINGERPRINT) and the sums of valid votes and of each
      candidate's votes that decide F2's main candidates (additive integers);
    - centres: F2 centre_counts per examined centre;
    - outliers: F2's flagged rows (OUTLIER_SCHEMA), with their state and centre."""

    digits: pl.DataFrame
    units: pl.DataFrame
    centres: pl.DataFrame
    outliers: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "digits": self.digits,
            "units": self.units,
            "centres": self.centres,
            "outliers": self.outliers,
        }


def tally_columns(election: Election) -> list[str]:
    """The staged tally columns tally_frame reads."""
    counts = [REGISTERED, VALID, NULL, BLANK, TOTAL]
    return ["tally_id", "source_id", "tally_code", *election.code_columns, *counts]


def tally_frame(accepted: pl.DataFrame, votes: pl.DataFrame, election: Election) -> pl.DataFrame:
    """One row per accepted tally: source, codes (state, centre), turnout, valid, candidates."""
    rows = tally_rows(accepted, election)
    return rows.join(votes, on="tally_id", how="left").select(
        *rows.columns[1:], *[pl.col(c).cast(pl.Int64) for c in election.candidate_ids]
    )


def tally_rows(accepted: pl.DataFrame, election: Election) -> pl.DataFrame:
    """tally_frame's rows without the candidates' columns, with tally_id: what a general
    election's contests are examined on, their counts kept on long rows beside
    (transforms/forensics/contests.py)."""
    codes = election.code_columns
    tallies = cast_votes_total(accepted)
    return tallies.select(
        "tally_id",
        "source_id",
        "tally_code",
        pl.col(codes[0]).alias("state") if len(codes) > 1 else pl.lit(NATIONAL).alias("state"),
        (pl.col(codes[-2]) if len(codes) > 1 else pl.lit(None, pl.String)).alias("centre"),
        pl.col(REGISTERED).cast(pl.Int64),
        pl.col(VALID).cast(pl.Int64),
        pl.when(pl.col(REGISTERED) > 0).then(pl.col(TOTAL) / pl.col(REGISTERED)).alias("turnout"),
    )


def counts_of(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """F1's input: one row per tally and candidate with a count (source_id, unit_code, ...)."""
    return (
        tallies.unpivot(
            index=["source_id", "state"],
            on=election.candidate_ids,
            variable_name="candidate_id",
            value_name="votes",
        )
        .filter(pl.col("votes").is_not_null())
        .rename({"state": "unit_code"})
    )


def tally_digit_stats(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """digit_stats(counts_of(tallies)) without unpivoting: each candidate's column aggregated
    in place, in one group-by (ten times fewer rows to group at a million tallies). A column
    without any count gives no series, so only those with one are aggregated (a general
    election's contest lists every district's candidates, most of them absent from a drop)."""
    candidates = [c for c in election.candidate_ids if tallies[c].null_count() < tallies.height]
    if not candidates:
        return digit_stats(counts_of(tallies.clear(), election))
    if len(candidates) > SPARSE_COLUMNS:  # a sparse frame: its long counts are fewer cells
        return digit_stats(counts_of(tallies, election))
    aggs = []
    for i, c in enumerate(candidates):
        votes, digit = pl.col(c), pl.col(c) % 10
        counted = votes >= MIN_COUNT
        aggs += [
            votes.is_not_null().sum().alias(f"{i}|counts"),
            (votes >= MIN_LARGE).sum().alias(f"{i}|large"),
            counted.sum().alias(f"{i}|n"),
            *[(counted & (digit == d)).sum().alias(f"{i}|{DIGITS[d]}") for d in range(10)],
        ]
    grouped = tallies.group_by("source_id", "state").agg(aggs)
    per_candidate = [
        grouped.filter(pl.col(f"{i}|counts") > 0).select(
            "source_id",
            pl.col("state").alias("unit_code"),
            pl.lit(c).alias("candidate_id"),
            *[pl.col(f"{i}|{stat}").cast(pl.Int64).alias(stat) for stat in DIGIT_STATS],
        )
        for i, c in enumerate(candidates)
    ]
    return pl.concat(per_candidate).sort(DIGIT_GROUP)


def unit_stats(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Per source and state: F3's counts and the vote sums behind F2's main candidates."""
    candidates = election.candidate_ids
    return (
        tallies.group_by(UNIT_KEYS)
        .agg(
            *fingerprint_counts(pl.max_horizontal(candidates)),
            *[pl.col(c).sum() for c in candidates],
        )
        .select(*UNIT_KEYS, *[pl.col(c).cast(pl.Int64) for c in [*FINGERPRINT, VALID, *candidates]])
        .sort(UNIT_KEYS)
    )


def fingerprint_counts(top_votes: pl.Expr) -> list[pl.Expr]:
    """unit_stats' aggregations but the candidates' sums: F3's counts (FINGERPRINT) and the
    sum of valid votes, top_votes a tally's largest candidate count (null: none)."""
    top = top_votes / pl.col(VALID)
    known = (pl.col("turnout").is_not_null() & (pl.col(VALID) > 0)).fill_null(False)
    corner = (known & (pl.col("turnout") >= HIGH) & (top >= HIGH)).fill_null(False)
    return [
        pl.len().alias("tallies"),
        known.sum().alias("n"),
        corner.sum().alias("hits"),
        pl.col(REGISTERED).filter(corner).sum().alias("reg_hits"),
        pl.col(REGISTERED).filter(known).sum().alias("reg"),
        pl.col(VALID).sum(),
    ]


def centre_state(
    tallies: pl.DataFrame, main: pl.DataFrame, election: Election
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """F2 per centre, from every accepted tally of the centres: (centre_counts, outliers)."""
    if len(election.levels) < 2:
        tallies = tallies.clear()
    examined = centre_outliers(centre_measures(tallies, election.candidate_ids, main))
    group_level = election.levels[-2] if len(election.levels) > 1 else election.tally_level
    outliers = outlier_rows(examined, group_level).select(
        [pl.col(c).cast(t) for c, t in OUTLIER_SCHEMA.items()]
    )
    order = [*CENTRE, "unit_code", "candidate_id"]
    return centre_counts(examined), outliers.sort(order, nulls_last=True)


def forensic_state(tallies: pl.DataFrame, election: Election) -> ForensicState:
    """The state from every accepted tally (tally_frame)."""
    units = unit_stats(tallies, election)
    main = main_candidates(units, election.candidate_ids)
    centres, outliers = centre_state(tallies, main, election)
    return ForensicState(tally_digit_stats(tallies, election), units, centres, outliers)


def digit_rows(digits: pl.DataFrame, election: Election) -> pl.DataFrame:
    return digit_tests(digits).with_columns(
        pl.lit("F1").alias("check_id"), pl.lit(_state_level(election)).alias("level")
    )


def outlier_rows_all(state: ForensicState, election: Election) -> pl.DataFrame:
    if len(election.levels) < 2:
        return pl.DataFrame(schema=SCHEMA)
    parts = [
        state.outliers.with_columns(pl.lit(election.tally_level).alias("level")),
        outlier_summary(state.centres, "state", election.levels[-2]).with_columns(
            pl.lit(_state_level(election)).alias("level")
        ),
        outlier_summary(state.centres, None, election.levels[-2]).with_columns(
            pl.lit(NATIONAL).alias("level")
        ),
    ]
    return pl.concat(parts, how="diagonal_relaxed").with_columns(pl.lit("F2").alias("check_id"))


def fingerprint(units: pl.DataFrame, election: Election) -> pl.DataFrame:
    """F3 per source, nationally and per state, from unit_stats: share of tallies (and of
    registered voters) at turnout >= 95 % with one candidate >= 95 % of the valid votes."""
    national = (
        units.group_by("source_id")
        .agg(pl.col(c).sum() for c in FINGERPRINT)
        .with_columns(pl.lit(NATIONAL).alias("state"), pl.lit(NATIONAL).alias("level"))
    )
    # a source without turnout (no registered voters) still gets its national row, untested
    states = units.filter(pl.col("n") > 0).with_columns(
        pl.lit(_state_level(election)).alias("level")
    )
    per = pl.concat([national, states.select(national.columns)])
    share = pl.col("hits") / pl.col("n")
    tested = pl.col("n") >= MIN_FINGERPRINT_TALLIES
    detail = (
        pl.when(pl.col("n") == 0)
        .then(pl.lit("not computed: no tally with registered voters and valid votes"))
        .otherwise(
            pl.format(
                "{} of {} tallies ({} %), holding {} % of the registered voters, at turnout "
                ">= 95 % with one candidate >= 95 %; flag above {} %{}",
                "hits",
                "n",
                (100 * share).round(2),
                (100 * pl.col("reg_hits") / pl.col("reg")).round(2),
                pl.lit(100 * FINGERPRINT_SHARE),
                pl.when(tested)
                .then(pl.lit(""))
                .otherwise(pl.lit(f" (not flagged: fewer than {MIN_FINGERPRINT_TALLIES} tallies)")),
            )
        )
    )
    return per.select(
        "source_id",
        pl.lit("F3").alias("check_id"),
        "level",
        pl.col("state").alias("unit_code"),
        pl.lit(None, pl.String).alias("candidate_id"),
        pl.col("n").cast(pl.Int64),
        pl.when(pl.col("n") > 0).then(share).cast(pl.Float64).alias("statistic"),
        (tested & (share > FINGERPRINT_SHARE)).fill_null(False).alias("flagged"),
        detail.alias("detail"),
    )


def forensics(
    accepted: pl.DataFrame,
    votes: pl.DataFrame,
    units: pl.DataFrame | None,
    election: Election,
) -> pl.DataFrame:
    """The forensics mart (SCHEMA) from the accepted tallies, their votes (wide) and the units
    (level, unit_code, unit_name) for names."""
    state = forensic_state(tally_frame(accepted, votes, election), election)
    return forensic_mart(state, units, election)


def forensic_mart(
    state: ForensicState, names: pl.DataFrame | None, election: Election
) -> pl.DataFrame:
    """The forensics mart (SCHEMA) from a state; names: level, unit_code, unit_name (or None)."""
    return with_names(unnamed_mart(state, election), names)


def unnamed_mart(state: ForensicState, election: Election) -> pl.DataFrame:
    """The mart's rows without unit names (see named_units, with_names)."""
    parts = [
        digit_rows(state.digits, election),
        outlier_rows_all(state, election),
        fingerprint(state.units, election),
    ]
    return pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col("check_id")
        .replace_strict(check_names(election), return_dtype=pl.String)
        .alias("check_name")
    )


def with_names(frame: pl.DataFrame, names: pl.DataFrame | None) -> pl.DataFrame:
    if names is not None:
        names = names.select("level", "unit_code", "unit_name").unique(["level", "unit_code"])
        frame = frame.join(names, on=["level", "unit_code"], how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("unit_name"))
    schema = dict(SCHEMA)
    if "contest_id" in frame.columns:  # keyed by contest: after the source, as in every mart
        schema = {"source_id": pl.String, "contest_id": pl.String, **SCHEMA}
    order = [c for c in ("source_id", "contest_id") if c in schema]
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()]).sort(
        *order, "check_id", "level", "unit_code", "candidate_id", nulls_last=True
    )


def named_units(frame: pl.DataFrame) -> pl.DataFrame:
    """The (level, unit_code) a mart needs names for."""
    return frame.select("level", "unit_code").unique().sort("level", "unit_code")


def _state_level(election: Election) -> str:
    return election.levels[0] if len(election.levels) > 1 else NATIONAL
