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
    quarantined, flagged, and how many broke each rule (columns named by rule id, lower case)."""
    per_tally = issues.group_by("tally_id").agg(
        (pl.col("severity") == "error").any().alias("quarantined"),
        (pl.col("severity") == "warn").any().alias("flagged"),
        *[(pl.col("rule_id") == r).any().alias(r.lower()) for r in rule_ids],
    )
    rule_columns = [r.lower() for r in rule_ids]
    tallies = with_contest(tallies, election)
    districts = district_columns(tallies)
    base = (
        tallies.select("tally_id", "source_id", CONTEST, *districts, *election.code_columns)
        .join(per_tally, on="tally_id", how="left")
        .with_columns(pl.col("quarantined", "flagged", *rule_columns).fill_null(False))
        .select(
            "source_id",
            CONTEST,
            *districts,
            *election.code_columns,
            pl.lit(1, pl.Int64).alias("received"),
            (~pl.col("quarantined")).cast(pl.Int64).alias("accepted"),
            *[pl.col(c).cast(pl.Int64) for c in ("quarantined", "flagged", *rule_columns)],
        )
    )
    measures = [*COUNTS, *rule_columns]
    # the tally level itself is left out: quality_issues has every tally with an issue
    sums = [pl.col(m).sum() for m in measures]
    levels = climb(base, election, [CONTEST], lambda _f: sums, lowest=False)
    names = units.select("level", "unit_code", "unit_name")
    return (
        pl.concat(levels)
        .join(names, on=["level", "unit_code"], how="left")
        .with_columns(pl.coalesce("unit_name", "unit_code").alias("unit_name"))
        .select("source_id", CONTEST, "level", "unit_code", "unit_name", *measures)
    )


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
