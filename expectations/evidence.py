"""The evidence frame the rules read: one row per staged tally, with the sums and comparisons
each rule needs, computed once in polars (pure; no I/O)."""

import polars as pl

from transforms.feed import BLANK, NULL, REGISTERED, TOTAL, VALID
from transforms.model import Election
from transforms.staging import votes_wide

PATH_SEPARATOR = "/"


def _path(columns: list[str]) -> pl.Expr:
    return pl.concat_str([pl.col(c) for c in columns], separator=PATH_SEPARATOR)


def registry_paths(registry: pl.DataFrame, election: Election) -> pl.DataFrame:
    """tally_code → its registry path (codes at every level) and registered voters."""
    return registry.select(
        pl.col(election.code_column(election.tally_level)).alias("tally_code"),
        _path(election.code_columns).alias("registry_path"),
        pl.col(REGISTERED).cast(pl.Int64, strict=False).alias("registry_registered"),
    ).unique("tally_code", keep="first")


def build_evidence(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    election: Election,
    registry: pl.DataFrame | None,
) -> pl.DataFrame:
    """One row per staged tally with every column the rule catalogue names."""
    candidates = election.candidate_ids
    wide = votes_wide(votes, election).select(
        "tally_id",
        pl.sum_horizontal(candidates, ignore_nulls=False).alias("candidate_sum"),
        pl.max_horizontal(candidates).alias("top_candidate_votes"),
    )
    cast = pl.col(VALID) + pl.col(NULL) + pl.col(BLANK).fill_null(0)
    frame = tallies.join(wide, on="tally_id", how="left").with_columns(
        cast.alias("votes_cast"),
        _path(election.code_columns).alias("unit_path"),
        pl.len().over("source_id", "tally_code").alias("versions"),
    )
    unit_total = pl.coalesce(TOTAL, "votes_cast")
    frame = frame.with_columns(
        unit_total.alias("unit_total"),
        # Over 100 % is impossible, rule E2's business; W1 looks at the possible but suspicious.
        pl.when((pl.col(REGISTERED) >= 100) & (pl.col("votes_cast") <= pl.col(REGISTERED)))
        .then(pl.col("votes_cast") / pl.col(REGISTERED))
        .alias("turnout_if_100_registered"),
        pl.when(pl.col(VALID) >= 50)
        .then(pl.col("top_candidate_votes") / pl.col(VALID))
        .alias("top_share_if_50_valid"),
        (unit_total - pl.col("previous_total_votes")).alias("total_change"),
    )
    if registry is not None:
        frame = frame.join(registry_paths(registry, election), on="tally_code", how="left")
    else:
        frame = frame.with_columns(
            pl.lit(None, pl.String).alias("registry_path"),
            pl.lit(None, pl.Int64).alias("registry_registered"),
        )
    return frame.with_columns(
        _code(pl.concat_str("source_id", pl.lit("\x1f"), "tally_code")).alias("unit_key"),
        _code(pl.col("unit_path")).alias("unit_path_id"),
        _code(pl.col("registry_path")).alias("registry_path_id"),
    )


def _code(text: pl.Expr) -> pl.Expr:
    """An integer standing for a string: equal integers exactly when the strings are equal.

    Comparing and de-duplicating integers is several times faster in GX than strings; polars'
    categories are global, so codes agree across columns.
    """
    return text.cast(pl.Categorical).to_physical()
