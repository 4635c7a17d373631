"""Independent verification: announced totals set against the tallies (the sources reconciled
with each other: transforms/reconciliation.py). Pure polars."""

from dataclasses import dataclass

import polars as pl

from transforms.model import Election

ANNOUNCED_SCHEMA = {  # announced_vs_tallied's columns, for when nothing was announced
    **dict.fromkeys(("bulletin_id", "bulletin", "source_id", "candidate_id"), pl.String),
    "candidate_name": pl.String,
    "announced_votes": pl.Int64,
    "announced_share": pl.Float64,
    "tallied_votes": pl.Int64,
    "tallied_share": pl.Float64,
    "difference": pl.Int64,
    "announced_counted_share": pl.Float64,
    "tallies_counted_share": pl.Float64,
    "uncounted_tallies": pl.Int64,
    "votes_needed": pl.Int64,
    "uncounted_capacity": pl.Int64,
    "capacity_basis": pl.String,
    "needed_share_of_capacity": pl.Float64,
    "possible": pl.Boolean,
    "tallied_exceeds_announced": pl.Boolean,
    "bulletin_votes_needed": pl.Int64,
    "bulletin_possible": pl.Boolean,
}


@dataclass(frozen=True)
class SourceCount:
    """One source's national count so far, and what its uncounted tallies could still hold."""

    valid: int  # tallied valid votes: the candidates' votes summed
    votes: dict[str, int]  # per candidate
    expected: int | None
    counted: int
    uncounted: int | None  # expected − counted; None when expected is unknown
    capacity: int | None  # most ballots the uncounted tallies could hold
    basis: str | None  # how the capacity was estimated


@dataclass(frozen=True)
class BulletinBound:
    """What a whole bulletin needs from one source's uncounted tallies."""

    needed: int  # every candidate's shortfall, summed
    possible: bool | None  # None without a capacity


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
    counts = source_counts(
        results_national, coverage_national, ballots_national, uncounted_registered or {}
    )
    rows = []
    for bulletin in announced.get("bulletin", []):
        for source, count in counts.items():
            whole = bulletin_bound(bulletin.get("votes", {}), count)
            for candidate, said in bulletin.get("votes", {}).items():
                rows.append(
                    announced_row(bulletin, source, candidate, names, said, count)
                    | {"bulletin_votes_needed": whole.needed, "bulletin_possible": whole.possible}
                )
    return (
        pl.DataFrame(rows, infer_schema_length=None)
        if rows
        else pl.DataFrame(schema=ANNOUNCED_SCHEMA)
    )


def source_counts(
    results_national: pl.DataFrame,
    coverage_national: pl.DataFrame,
    ballots_national: pl.DataFrame,
    uncounted_registered: dict[str, int | None],
) -> dict[str, SourceCount]:
    """Per source (in order): its national count and the capacity of its uncounted tallies."""
    tallied_valid = dict(
        results_national.group_by("source_id").agg(pl.col("votes").sum()).iter_rows()
    )
    coverage = {r["source_id"]: r for r in coverage_national.iter_rows(named=True)}
    ballots = dict(ballots_national.iter_rows())
    return {
        source: _source_count(
            tallied_valid[source],
            dict(
                results_national.filter(source_id=source)
                .select("candidate_id", "votes")
                .iter_rows()
            ),
            coverage.get(source, {}),
            ballots.get(source),
            uncounted_registered.get(source),
        )
        for source in sorted(tallied_valid)
    }


def _source_count(
    valid: int, votes: dict[str, int], coverage: dict, ballots: int | None, registered: int | None
) -> SourceCount:
    expected, counted = coverage.get("expected"), coverage.get("counted") or 0
    uncounted = expected - counted if expected is not None else None
    per_tally = (ballots or valid) / counted if counted else None
    capacity, basis = registered, "registered voters of uncounted units"
    if capacity is None and uncounted is not None and per_tally is not None:
        capacity, basis = round(uncounted * per_tally), "counted turnout"
    basis = basis if capacity is not None else None
    return SourceCount(valid, votes, expected, counted, uncounted, capacity, basis)


def bulletin_bound(announced_votes: dict[str, int], count: SourceCount) -> BulletinBound:
    """Every candidate of the bulletin reaching their announced figure from the same tallies."""
    needed = sum(max(0, said - count.votes.get(c, 0)) for c, said in announced_votes.items())
    if count.capacity is None:
        return BulletinBound(needed, None)
    reachable = all(count.votes.get(c, 0) <= said for c, said in announced_votes.items())
    return BulletinBound(needed, reachable and needed <= count.capacity)


def announced_row(
    bulletin: dict, source: str, candidate: str, names: dict, said: int, count: SourceCount
) -> dict:
    """One candidate of a bulletin against one source's tallies, and the bound on the rest."""
    got, capacity = count.votes.get(candidate, 0), count.capacity
    needed = max(0, said - got)
    announced_valid = bulletin.get("valid_votes")  # shares only against an announced total
    return {
        "bulletin_id": bulletin["id"],
        "bulletin": bulletin.get("name", bulletin["id"]),
        "source_id": source,
        "candidate_id": candidate,
        "candidate_name": names.get(candidate, candidate),
        "announced_votes": said,
        "announced_share": said / announced_valid if announced_valid else None,
        "tallied_votes": got,
        "tallied_share": got / count.valid if count.valid else None,
        "difference": said - got,
        "announced_counted_share": bulletin.get("counted_share"),
        "tallies_counted_share": count.counted / count.expected if count.expected else None,
        "uncounted_tallies": count.uncounted,
        "votes_needed": needed,
        "uncounted_capacity": capacity,
        "capacity_basis": count.basis,
        "needed_share_of_capacity": needed / capacity if capacity else None,
        # possible as a final total: never below what is already counted, and no more needed
        # from the uncounted tallies than they can hold
        "possible": (got <= said and needed <= capacity) if capacity is not None else None,
        "tallied_exceeds_announced": got > said,
    }
