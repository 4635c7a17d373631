"""The night's history: amendments (which delivery superseded which) and results snapshots.
Pure polars."""

from datetime import datetime

import polars as pl

from transforms.model import NATIONAL, Election

SNAPSHOT_LEVELS_BELOW_NATIONAL = 1  # national and the first level (states)


def amendments(versions: pl.DataFrame, deliveries: pl.DataFrame) -> pl.DataFrame:
    """One row per version no longer current, with the version that replaced it, if any, and
    an operator's withdrawal of its delivery (deliveries.withdrawal: who, when, why)."""
    if "withdrawal" not in deliveries.columns:
        deliveries = deliveries.with_columns(pl.lit(None, pl.String).alias("withdrawal"))
    withdrawals = deliveries.select("delivery_seq", pl.col("withdrawal").alias("withdrawn_because"))
    files = deliveries.select("delivery_seq", "file_name")
    unit = ["source_id", "tally_code"]
    replacement = versions.select(
        *unit,
        pl.col("delivery_seq").alias("superseded_by_delivery"),
        pl.col("source_row").alias("superseded_by_row"),
        pl.col("valid_votes").alias("new_valid_votes"),
        pl.col("total_votes").alias("new_total_votes"),
    ).unique(subset=[*unit, "superseded_by_delivery"], keep="first")
    return (
        versions.filter(pl.col("status") != "current")
        .join(files, on="delivery_seq", how="left")
        .join(withdrawals, on="delivery_seq", how="left")
        .join(replacement, on=[*unit, "superseded_by_delivery"], how="left")
        .join(
            files.rename(
                {"delivery_seq": "superseded_by_delivery", "file_name": "superseded_by_file"}
            ),
            on="superseded_by_delivery",
            how="left",
        )
        .select(
            *unit,
            "status",
            "delivery_seq",
            "file_name",
            "source_row",
            "valid_votes",
            "total_votes",
            "superseded_by_delivery",
            "superseded_by_file",
            "superseded_by_row",
            "new_valid_votes",
            "new_total_votes",
            "withdrawn_because",
        )
        .sort(*unit, "delivery_seq")
    )


def results_snapshot(
    results: pl.DataFrame,
    turnout: pl.DataFrame,
    coverage: pl.DataFrame,
    election: Election,
    run_id: str,
    published_at: datetime,
    deliveries: int,
    last_file: str | None,
) -> pl.DataFrame:
    """National and first-level results, turnout and coverage, stamped with the run and the
    deliveries it included: one point of the election-night curve."""
    levels = [NATIONAL, *election.levels[:SNAPSHOT_LEVELS_BELOW_NATIONAL]]
    key = ["source_id", "contest_id", "level", "unit_code"]
    return (
        results.filter(pl.col("level").is_in(levels))
        .select(*key, "unit_name", "candidate_id", "candidate_name", "votes", "share", "rank")
        .join(
            turnout.filter(pl.col("level").is_in(levels)).select(
                *key, "registered", "valid_votes", "total_votes", "turnout"
            ),
            on=key,
            how="left",
        )
        .join(
            coverage.filter(pl.col("level").is_in(levels)).select(
                *key, "expected", "counted", "percent_reporting"
            ),
            on=key,
            how="left",
        )
        .select(
            pl.lit(run_id).alias("run_id"),
            pl.lit(published_at).alias("published_at"),
            pl.lit(deliveries, pl.Int64).alias("deliveries"),
            pl.lit(last_file, pl.String).alias("last_file"),
            pl.all(),
        )
    )
