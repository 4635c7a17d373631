"""Forensic warnings on the accepted tallies: the `forensics` mart. Pure polars.

Three checks, each a warning and never proof (docs/forensics.md says what each can and cannot
show):
- F1 last-digit uniformity of candidate counts per state (transforms/forensic_digits.py);
- F2 tables far outside the other tables of their own centre (transforms/forensic_centres.py);
- F3 the turnout x vote-share fingerprint: the share of tallies at 95 % turnout or more with one
  candidate at 95 % or more, nationally and per state (here).

Rows: F1 every source x state x candidate, and pooled per state (tested or not, with why);
F2 only the flagged tables, plus one summary row per source and state and a national one;
F3 one row per source, nationally and per state. So the mart stays small at a million tables.
"""

from __future__ import annotations

import polars as pl

from transforms.feed import REGISTERED, TOTAL, VALID
from transforms.forensic_centres import (
    centre_measures,
    centre_outliers,
    outlier_rows,
    outlier_summary,
)
from transforms.forensic_digits import last_digit_tests
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
HIGH = 0.95  # F3: turnout and a candidate's share at or above this is the fingerprint's corner
FINGERPRINT_SHARE = 0.01  # F3: flagged when more than this share of tallies sit in that corner
MIN_FINGERPRINT_TALLIES = 20  # F3: fewer tallies in a unit and one stronghold is already 5 %


def tally_frame(accepted: pl.DataFrame, votes: pl.DataFrame, election: Election) -> pl.DataFrame:
    """One row per accepted tally: source, codes (state, centre), turnout, valid, candidates."""
    codes = election.code_columns
    tallies = cast_votes_total(accepted)
    return tallies.join(votes, on="tally_id", how="left").select(
        "source_id",
        "tally_code",
        pl.col(codes[0]).alias("state") if len(codes) > 1 else pl.lit(NATIONAL).alias("state"),
        pl.col(codes[-2]).alias("centre") if len(codes) > 1 else pl.lit(None, pl.String),
        pl.col(REGISTERED).cast(pl.Int64),
        pl.col(VALID).cast(pl.Int64),
        pl.when(pl.col(REGISTERED) > 0).then(pl.col(TOTAL) / pl.col(REGISTERED)).alias("turnout"),
        *[pl.col(c).cast(pl.Int64) for c in election.candidate_ids],
    )


def digit_rows(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    counts = tallies.unpivot(
        index=["source_id", "state"],
        on=election.candidate_ids,
        variable_name="candidate_id",
        value_name="votes",
    ).filter(pl.col("votes").is_not_null())
    tests = last_digit_tests(counts.rename({"state": "unit_code"}))
    return tests.with_columns(
        pl.lit("F1").alias("check_id"), pl.lit(_state_level(election)).alias("level")
    )


def outlier_rows_all(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    if len(election.levels) < 2:
        return pl.DataFrame(schema=SCHEMA)
    examined = centre_outliers(centre_measures(tallies, election.candidate_ids))
    parts = [
        outlier_rows(examined).with_columns(pl.lit(election.tally_level).alias("level")),
        outlier_summary(examined, "state").with_columns(
            pl.lit(_state_level(election)).alias("level")
        ),
        outlier_summary(examined, None).with_columns(pl.lit(NATIONAL).alias("level")),
    ]
    return pl.concat(parts, how="diagonal_relaxed").with_columns(pl.lit("F2").alias("check_id"))


def fingerprint(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """F3 per source, nationally and per state: share of tallies (and of registered voters) at
    turnout >= 95 % with one candidate >= 95 % of the valid votes."""
    top = pl.max_horizontal(election.candidate_ids) / pl.col(VALID)
    known = tallies.filter(pl.col("turnout").is_not_null() & (pl.col(VALID) > 0))
    known = known.with_columns(((pl.col("turnout") >= HIGH) & (top >= HIGH)).alias("corner"))
    sources = tallies.select("source_id").unique()
    national = known.with_columns(pl.lit(NATIONAL).alias("state"))
    parts = []
    for frame, level in ((national, NATIONAL), (known, _state_level(election))):
        per = frame.group_by("source_id", "state").agg(
            pl.len().alias("n"),
            pl.col("corner").sum().alias("hits"),
            pl.col(REGISTERED).filter("corner").sum().alias("reg_hits"),
            pl.col(REGISTERED).sum().alias("reg"),
        )
        parts.append(per.with_columns(pl.lit(level).alias("level")))
    per = pl.concat(parts)
    # a source without turnout (no registered voters) still gets its national row, untested
    per = sources.join(per, on="source_id", how="left").with_columns(
        pl.col("n").fill_null(0),
        pl.col("state").fill_null(NATIONAL),
        pl.col("level").fill_null(NATIONAL),
    )
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
    tallies = tally_frame(accepted, votes, election)
    parts = [
        digit_rows(tallies, election),
        outlier_rows_all(tallies, election),
        fingerprint(tallies, election),
    ]
    frame = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col("check_id").replace_strict(CHECK_NAMES, return_dtype=pl.String).alias("check_name")
    )
    if units is not None:
        names = units.select("level", "unit_code", "unit_name").unique(["level", "unit_code"])
        frame = frame.join(names, on=["level", "unit_code"], how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("unit_name"))
    return frame.select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).sort(
        "source_id", "check_id", "level", "unit_code", "candidate_id", nulls_last=True
    )


def _state_level(election: Election) -> str:
    return election.levels[0] if len(election.levels) > 1 else NATIONAL
