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
    ranked = _ranked_in_runs(climbed, names)
    if ranked is None:  # two units share a hash: the windows over the unit's keys instead
        ranked = _ranked_by_windows(named(climbed, names))
    return with_candidate_names(ranked, lines)


def with_candidate_names(ranked: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """The results mart's columns, each line named by its contest's candidate (`_other`: the
    other votes)."""
    return (
        ranked.join(
            lines.select(CONTEST, "candidate_id", "candidate_name"),
            on=[CONTEST, "candidate_id"],
            how="left",
            maintain_order="left",
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


def _ranked_by_windows(frame: pl.DataFrame) -> pl.DataFrame:
    """share (of the unit's votes, every line) and rank (1 + the declared lines with strictly
    more votes; `_other` is never ranked) as windows over the unit's keys: the definition."""
    valid = pl.col("votes").sum().over(UNIT)
    return frame.with_columns(
        pl.when(valid > 0).then(pl.col("votes") / valid).alias("share"),
        pl.when(pl.col("candidate_id") != OTHER_ID)
        .then(pl.col("votes"))
        .rank("min", descending=True)
        .over(UNIT)
        .cast(pl.Int32)
        .alias("rank"),
    )


def _ranked_in_runs(climbed: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame | None:
    """named(climbed) with the same share and rank as _ranked_by_windows, several times
    cheaper: each unit's rows made one run (_in_runs), so that its sum, its ranks and its name
    are read along the run. None when two units share a hash (a run would then hold two
    units' rows) or a unit two names: the caller falls back to the windows. The rows come
    out grouped by unit, which DuckDB also writes faster."""
    rows = _in_runs(climbed)
    runs = int(rows["_run"].max()) + 1 if rows.height else 0
    if rows["_hash"].n_unique() != runs:
        return None
    starts = pl.col("_run") != pl.col("_run").shift()
    first_rows = rows.filter(starts.fill_null(True)).select("_run", "level", "unit_code")
    units = named(first_rows, names).sort("_run")  # a join keeps no order unless asked
    if units.height != runs:
        return None
    valid = rows.group_by("_run", maintain_order=True).agg(pl.col("votes").sum())["votes"]
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    first_of_run = pl.when(starts.fill_null(True)).then(index).forward_fill()
    new_votes = pl.col("votes").ne_missing(pl.col("votes").shift())
    first_of_tie = pl.when((starts | new_votes).fill_null(True)).then(index).forward_fill()
    ranked = pl.col("candidate_id") != OTHER_ID
    return rows.with_columns(
        units["unit_name"].gather(rows["_run"]).alias("unit_name"),
        valid.gather(rows["_run"]).alias("_valid"),
    ).select(
        *climbed.columns,
        "unit_name",
        pl.when(pl.col("_valid") > 0).then(pl.col("votes") / pl.col("_valid")).alias("share"),
        pl.when(ranked & pl.col("votes").is_not_null())
        .then(first_of_tie - first_of_run + 1)
        .cast(pl.Int32)
        .alias("rank"),
    )


def _in_runs(climbed: pl.DataFrame) -> pl.DataFrame:
    """The rows ordered so that each unit's are one run (by a hash of the unit's keys: an
    integer, a cheap sort), its ranked lines first by votes descending, then the others (the
    `_other` line, unknown votes); `_run` numbers the runs (a new one wherever the unit's keys
    change), `_hash` is kept."""
    votes = pl.col("votes")
    ranked = (pl.col("candidate_id") != OTHER_ID) & votes.is_not_null()
    order = (
        climbed.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            pl.struct(UNIT).hash().alias("_hash"),
            pl.when(ranked).then(votes.cast(pl.Int64)).otherwise(pl.lit(-(2**63), pl.Int64)),
        )
        .sort("votes", descending=True)  # then a stable sort by unit: two cheap single keys
        .sort("_hash", maintain_order=True)
    )
    new_unit = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift()) for c in UNIT)
    return (
        climbed.rechunk()[order["_row"]]
        .with_columns(order["_hash"])
        .with_columns((new_unit.fill_null(True).cum_sum() - 1).alias("_run"))
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
