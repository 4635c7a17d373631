"""The results mart of a general election, climbed in long form.

Every contest has candidates of its own, and a contest elected per district has different ones
in every district: one column per candidate would make the wide frame as wide as the whole
ballot of the country. Long rows (one per tally and line) stay as many as the lines voted, so
the results climb them directly. Pure polars.
"""

from __future__ import annotations

import polars as pl

from transforms.feed import OTHER, OTHER_ID, OTHER_NAME
from transforms.model import Election
from transforms.rollup import RESULT_COLUMNS, climb, named
from transforms.staging import CONTEST, district_columns

UNIT = ["source_id", CONTEST, "level", "unit_code"]


def contest_results(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    names: pl.DataFrame,
    lines: pl.DataFrame,
    election: Election,
) -> pl.DataFrame:
    """Per source, contest, unit (every level, the contests' own districts, national) and
    candidate: votes, share of the unit's valid votes in the contest, and rank (1 + the declared
    candidates with strictly more votes; the other votes' line `_other` is never ranked).

    tallies: accepted tallies; votes: their long votes (tally_id, candidate_id, votes);
    lines: contest_id, candidate_id, candidate_name."""
    base = long_votes(tallies, votes, election)
    climbed = pl.concat(
        climb(
            base.drop("tally_id"),
            election,
            [CONTEST, "candidate_id"],
            lambda _f: [pl.col("votes").sum()],
        )
    )
    return shared_and_ranked(climbed, names, lines)


def shared_and_ranked(
    climbed: pl.DataFrame, names: pl.DataFrame, lines: pl.DataFrame
) -> pl.DataFrame:
    """The results mart's rows from climbed votes (source, contest, unit, parent, candidate,
    votes) holding every line of each of their units: unit and candidate names, share and rank
    (an incremental run passes the touched units' rows, transforms/delta.py)."""
    frame = named(climbed, names)
    valid = pl.col("votes").sum().over(UNIT)
    declared = pl.col("candidate_id") != OTHER_ID
    frame = frame.with_columns(pl.when(valid > 0).then(pl.col("votes") / valid).alias("share"))
    ranked = pl.concat(
        [
            frame.filter(declared).with_columns(
                pl.col("votes").rank("min", descending=True).over(UNIT).cast(pl.Int32).alias("rank")
            ),
            frame.filter(~declared).with_columns(pl.lit(None, pl.Int32).alias("rank")),
        ]
    )
    return (
        ranked.join(
            lines.select(CONTEST, "candidate_id", "candidate_name"),
            on=[CONTEST, "candidate_id"],
            how="left",
        )
        .with_columns(
            pl.when(pl.col("candidate_id") == OTHER_ID)
            .then(pl.lit(OTHER_NAME))
            .otherwise(pl.col("candidate_name"))
            .alias("candidate_name"),
            pl.col("votes").cast(pl.Int64),
        )
        .select(RESULT_COLUMNS)
    )


def long_votes(tallies: pl.DataFrame, votes: pl.DataFrame, election: Election) -> pl.DataFrame:
    """One row per accepted tally and line it gives a count for (tally_id, candidate_id, votes,
    source, contest, district and code columns): the other votes as the line `_other`."""
    placed = tallies.select(
        "tally_id",
        "source_id",
        CONTEST,
        *district_columns(tallies),
        *election.code_columns,
        *([OTHER] if election.other_votes and OTHER in tallies.columns else []),
    )
    base = votes.filter(pl.col("votes").is_not_null()).select("tally_id", "candidate_id", "votes")
    base = base.join(placed.drop(OTHER, strict=False), on="tally_id", how="inner")
    if election.other_votes and OTHER in placed.columns:
        other = placed.filter(pl.col(OTHER).is_not_null()).select(
            "tally_id",
            pl.lit(OTHER_ID).alias("candidate_id"),
            pl.col(OTHER).cast(pl.Int64).alias("votes"),
            *[c for c in placed.columns if c not in ("tally_id", OTHER)],
        )
        base = pl.concat([base, other.select(base.columns)])
    return base
