"""The quality marts: what was received, accepted, quarantined and flagged, and why.

Pure polars over the staged tallies and the quality issues (one row per tally and broken rule).
"""

import polars as pl

from transforms.model import Election
from transforms.rollup import climb
from transforms.staging import CONTEST, district_columns, with_contest

COUNTS = ("received", "accepted", "quarantined", "flagged")


def quality_summary(
    tallies: pl.DataFrame,
    issues: pl.DataFrame,
    units: pl.DataFrame,
    rule_ids: list[str],
    election: Election,
) -> pl.DataFrame:
    """Per source and unit at every level above the tally's own: tallies received, accepted,
    quarantined, flagged, and how many broke each rule (columns named by rule id, lower case).

    Only the tallies received are counted over every tally; the other measures are 0 but for
    the few tallies with an issue, which are summed apart at each level of the climb and joined
    to its rows on the whole group (summing some fifteen columns of zeros was most of the cost).
    """
    rule_columns = [r.lower() for r in rule_ids]
    tallies = with_contest(tallies, election)
    keys = ["source_id", CONTEST, *district_columns(tallies), *election.code_columns]
    issue_measures = ["quarantined", "flagged", *rule_columns]
    broken = _tallies_with_issues(tallies, issues, keys, rule_ids)
    received = tallies.select(*keys, pl.lit(1, pl.Int64).alias("received"))
    # the tally level itself is left out: quality_issues has every tally with an issue
    levels = climb(
        received,
        election,
        [CONTEST],
        lambda _f: [pl.col("received").sum()],
        lowest=False,
        completed=_with_sums_of(broken, issue_measures),
    )
    measures = [*COUNTS, *rule_columns]
    names = units.select("level", "unit_code", "unit_name")
    return (
        pl.concat(levels)
        .join(names, on=["level", "unit_code"], how="left")
        .with_columns(
            pl.coalesce("unit_name", "unit_code").alias("unit_name"),
            (pl.col("received") - pl.col("quarantined")).alias("accepted"),
        )
        .select("source_id", CONTEST, "level", "unit_code", "unit_name", *measures)
    )


def _tallies_with_issues(
    tallies: pl.DataFrame, issues: pl.DataFrame, keys: list[str], rule_ids: list[str]
) -> pl.DataFrame:
    """One row per tally with an issue: its `keys`, quarantined (any error), flagged (any
    warning) and whether it broke each rule, as 0 or 1."""
    per_tally = issues.group_by("tally_id").agg(
        (pl.col("severity") == "error").any().alias("quarantined"),
        (pl.col("severity") == "warn").any().alias("flagged"),
        *[(pl.col("rule_id") == r).any().alias(r.lower()) for r in rule_ids],
    )
    measures = [c for c in per_tally.columns if c != "tally_id"]
    return (
        tallies.select("tally_id", *keys)
        .join(per_tally, on="tally_id", how="inner")
        .select(*keys, *[pl.col(m).cast(pl.Int64) for m in measures])
    )


def _with_sums_of(broken: pl.DataFrame, measures: list[str]):
    """climb's `completed`: a level's rows with the sums of `measures` over the rows of
    `broken` under each (0 where there are none), grouped as the level's rows are (a null code
    a group like any other)."""

    def completed(rows: pl.DataFrame, group: list[str]) -> pl.DataFrame:
        sums = broken.group_by(group).agg(pl.col(m).sum() for m in measures)
        joined = rows.join(sums, on=group, how="left", nulls_equal=True)
        return joined.with_columns(pl.col(measures).fill_null(0))

    return completed


def quality_issues(
    issues: pl.DataFrame,
    tallies: pl.DataFrame,
    deliveries: pl.DataFrame,
    rules: pl.DataFrame,
    election: Election,
) -> pl.DataFrame:
    """One row per quarantined or flagged tally and rule, with geography and provenance.

    rules: rule_id, description.
    """
    return (
        issues.join(
            with_contest(tallies, election).select("tally_id", CONTEST, *election.code_columns),
            on="tally_id",
            how="left",
        )
        .join(deliveries.select("delivery_seq", "file_name"), on="delivery_seq", how="left")
        .join(rules, on="rule_id", how="left")
        .select(
            "source_id",
            CONTEST,
            "rule_id",
            "severity",
            pl.when(pl.col("severity") == "error")
            .then(pl.lit("quarantined"))
            .otherwise(pl.lit("flagged"))
            .alias("status"),
            pl.col("description").alias("rule_description"),
            "tally_code",
            *election.code_columns,
            "observed",
            pl.col("overridden").fill_null(False),
            "override_reason",
            "file_name",
            "file_sha256",
            "source_row",
            "delivery_seq",
        )
        .sort("source_id", "rule_id", "tally_code", "source_row")
    )
