"""Independent verification: sources reconciled tally by tally, and announced totals set against
the tallies. Pure polars."""

from itertools import combinations

import polars as pl

from transforms.model import Election
from transforms.rollup import climb

AGREE, DIFFER, ONLY_A, ONLY_B = "agree", "differ", "only_in_a", "only_in_b"
STATUSES = (AGREE, DIFFER, ONLY_A, ONLY_B)


def _per_tally(tallies: pl.DataFrame, votes: pl.DataFrame, election: Election) -> pl.DataFrame:
    return tallies.select("tally_id", "source_id", "tally_code", *election.code_columns).join(
        votes, on="tally_id", how="inner"
    )


def reconcile(tallies: pl.DataFrame, votes: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Per pair of sources and tally unit: agree, differ (with per-candidate deltas b − a), or
    only in one of them. tallies: accepted tallies; votes: wide (tally_id, one column per
    candidate)."""
    candidates = election.candidate_ids
    codes = election.code_columns
    frame = _per_tally(tallies, votes, election)
    sources = sorted(frame["source_id"].unique().to_list())
    pairs = []
    for a, b in combinations(sources, 2):
        left = frame.filter(source_id=a).drop("tally_id", "source_id")
        right = frame.filter(source_id=b).drop("tally_id", "source_id")
        joined = left.join(right, on="tally_code", how="full", coalesce=True, suffix="_b")
        in_a = pl.col(candidates[0]).is_not_null() | pl.col(codes[0]).is_not_null()
        in_b = pl.col(f"{candidates[0]}_b").is_not_null() | pl.col(f"{codes[0]}_b").is_not_null()
        deltas = [(pl.col(f"{c}_b") - pl.col(c)).alias(f"delta_{c}") for c in candidates]
        pairs.append(
            joined.with_columns(in_a.alias("_a"), in_b.alias("_b"), *deltas)
            .with_columns(
                pl.sum_horizontal(
                    [(pl.col(f"delta_{c}") != 0).cast(pl.Int32) for c in candidates]
                ).alias("differing_candidates"),
                pl.sum_horizontal([pl.col(f"delta_{c}").abs() for c in candidates]).alias(
                    "votes_apart"
                ),
            )
            .select(
                pl.lit(a).alias("source_a"),
                pl.lit(b).alias("source_b"),
                "tally_code",
                *[pl.coalesce(c, f"{c}_b").alias(c) for c in codes],
                pl.when(pl.col("_a") & pl.col("_b") & (pl.col("differing_candidates") == 0))
                .then(pl.lit(AGREE))
                .when(pl.col("_a") & pl.col("_b"))
                .then(pl.lit(DIFFER))
                .when(pl.col("_a"))
                .then(pl.lit(ONLY_A))
                .otherwise(pl.lit(ONLY_B))
                .alias("status"),
                "differing_candidates",
                "votes_apart",
                *[f"delta_{c}" for c in candidates],
            )
        )
    if not pairs:
        return pl.DataFrame(
            schema={
                "source_a": pl.String,
                "source_b": pl.String,
                "tally_code": pl.String,
                "status": pl.String,
            }
        )
    return pl.concat(pairs).sort("source_a", "source_b", "tally_code")


def reconciliation_summary(
    reconciled: pl.DataFrame, units: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """Per pair of sources and unit at every level: tally units agreeing, differing, or in one
    source only."""
    if "status" not in reconciled.columns or reconciled.is_empty():
        return pl.DataFrame(
            schema={
                "source_a": pl.String,
                "source_b": pl.String,
                "level": pl.String,
                "unit_code": pl.String,
            }
        )
    base = reconciled.select(
        pl.concat_str("source_a", pl.lit("|"), "source_b").alias("source_id"),
        *election.code_columns,
        *[(pl.col("status") == s).cast(pl.Int64).alias(s) for s in STATUSES],
        "votes_apart",
    )
    levels = climb(
        base, election, [], lambda _f: [pl.col(m).sum() for m in (*STATUSES, "votes_apart")]
    )
    return (
        pl.concat(levels)
        .join(
            units.select("level", "unit_code", "unit_name"), on=["level", "unit_code"], how="left"
        )
        .with_columns(pl.col("source_id").str.split_exact("|", 1).alias("_pair"))
        .select(
            pl.col("_pair").struct.field("field_0").alias("source_a"),
            pl.col("_pair").struct.field("field_1").alias("source_b"),
            "level",
            "unit_code",
            "unit_name",
            *STATUSES,
            "votes_apart",
        )
    )


def announced_vs_tallied(
    announced: dict,
    results_national: pl.DataFrame,
    coverage_national: pl.DataFrame,
    ballots_national: pl.DataFrame,
    election: Election,
    uncounted_registered: dict[str, int | None] | None = None,
) -> pl.DataFrame:
    """Per bulletin, source and announced candidate: announced and tallied votes and shares,
    their difference, the share of tallies counted, and the bound.

    The bound: `votes_needed` is the fewest votes the uncounted tallies would have to hold for
    the announced figure to be reached. It is set against their `uncounted_capacity`: the
    registered voters of the uncounted units where a registry gives them, otherwise the
    uncounted tallies times the ballots of an average counted tally (the counted turnout).

    results_national: source_id, candidate_id, votes (national level).
    coverage_national: source_id, expected, counted. ballots_national: source_id, ballots.
    """
    names = {c.id: c.name for c in election.candidates}
    uncounted_registered = uncounted_registered or {}
    rows = []
    tallied_valid = dict(
        results_national.group_by("source_id").agg(pl.col("votes").sum()).iter_rows()
    )
    coverage = {r["source_id"]: r for r in coverage_national.iter_rows(named=True)}
    ballots = dict(ballots_national.iter_rows())
    for bulletin in announced.get("bulletin", []):
        votes = bulletin.get("votes", {})
        announced_valid = bulletin.get("valid_votes")  # shares only against an announced total
        for source in sorted(tallied_valid):
            cov = coverage.get(source, {})
            expected, counted = cov.get("expected"), cov.get("counted") or 0
            uncounted = expected - counted if expected is not None else None
            per_tally = (
                (ballots.get(source) or tallied_valid[source]) / counted if counted else None
            )
            capacity = uncounted_registered.get(source)
            basis = "registered voters of uncounted units"
            if capacity is None and uncounted is not None and per_tally is not None:
                capacity, basis = round(uncounted * per_tally), "counted turnout"
            tallied = dict(
                results_national.filter(source_id=source)
                .select("candidate_id", "votes")
                .iter_rows()
            )
            needed_all = sum(max(0, said - tallied.get(c, 0)) for c, said in votes.items())
            for candidate, said in votes.items():
                got = tallied.get(candidate, 0)
                needed = max(0, said - got)
                rows.append(
                    {
                        "bulletin_id": bulletin["id"],
                        "bulletin": bulletin.get("name", bulletin["id"]),
                        "source_id": source,
                        "candidate_id": candidate,
                        "candidate_name": names.get(candidate, candidate),
                        "announced_votes": said,
                        "announced_share": said / announced_valid if announced_valid else None,
                        "tallied_votes": got,
                        "tallied_share": got / tallied_valid[source]
                        if tallied_valid[source]
                        else None,
                        "difference": said - got,
                        "announced_counted_share": bulletin.get("counted_share"),
                        "tallies_counted_share": counted / expected if expected else None,
                        "uncounted_tallies": uncounted,
                        "votes_needed": needed,
                        "uncounted_capacity": capacity,
                        "capacity_basis": basis if capacity is not None else None,
                        "needed_share_of_capacity": needed / capacity if capacity else None,
                        # possible as a final total: never below what is already counted, and
                        # no more needed from the uncounted tallies than they can hold
                        "possible": (got <= said and needed <= capacity)
                        if capacity is not None
                        else None,
                        "tallied_exceeds_announced": got > said,
                        # the bulletin as a whole: every candidate's shortfall from the same tallies
                        "bulletin_votes_needed": needed_all,
                        "bulletin_possible": (
                            all(tallied.get(c, 0) <= v for c, v in votes.items())
                            and needed_all <= capacity
                        )
                        if capacity is not None
                        else None,
                    }
                )
    schema = {"bulletin_id": pl.String, "source_id": pl.String, "candidate_id": pl.String}
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema=schema)
