"""Independent verification: announced totals set against the tallies (the sources reconciled
with each other: transforms/reconciliation.py). Pure polars."""

from dataclasses import dataclass

import polars as pl

from transforms.model import Election
from transforms.staging import CONTEST

ANNOUNCED_SCHEMA = {  # announced_vs_tallied's columns, for when nothing was announced
    **dict.fromkeys(("bulletin_id", "bulletin", "source_id", CONTEST, "candidate_id"), pl.String),
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
    uncounted_registered: dict | None = None,
    vote_for: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Per bulletin, source and announced candidate: announced and tallied votes and shares,
    their difference, the share of tallies counted, and the bound.

    A bulletin is of one contest (its `contest`, default: the election's own): it is set
    against that contest's national rows.

    The bound: `votes_needed` is the fewest votes the uncounted tallies would have to hold for
    the announced figure to be reached. It is set against their `uncounted_capacity` in ballots:
    the registered voters of the uncounted units where a registry gives them, otherwise the
    uncounted tallies times the ballots of an average counted tally (the counted turnout; a
    vote-for-N contest's marks divided by N). A candidate gets at most one vote per ballot; a
    whole bulletin at most N (`vote_for`).

    results_national: source_id, contest_id, candidate_id, votes (national level).
    coverage_national: source_id, contest_id, expected, counted. ballots_national: source_id,
    contest_id, total_votes (marks: N per ballot in a vote-for-N contest).
    uncounted_registered: per source (an election of one contest), or per (contest, source).
    vote_for: per contest, where not 1.
    """
    default = election.default_contest.id
    declared = {c.id: c.name for c in election.candidates}
    rows = []
    for bulletin in announced.get("bulletin", []):
        contest = bulletin.get("contest", default)
        n = (vote_for or {}).get(contest, 1)
        results, coverage, ballots = (
            _of_contest(f, contest) for f in (results_national, coverage_national, ballots_national)
        )
        names = declared | _names_of(results)
        registered = uncounted_registered or {}
        if any(isinstance(k, tuple) for k in registered):  # per (contest, source)
            registered = {s: v for (c, s), v in registered.items() if c == contest}
        counts = source_counts(
            results, coverage, ballots.select("source_id", "total_votes"), registered, n
        )
        for source, count in counts.items():
            whole = bulletin_bound(bulletin.get("votes", {}), count, n)
            for candidate, said in bulletin.get("votes", {}).items():
                rows.append(
                    announced_row(bulletin, source, candidate, names, said, count)
                    | {
                        CONTEST: contest,
                        "bulletin_votes_needed": whole.needed,
                        "bulletin_possible": whole.possible,
                    }
                )
    if not rows:
        return pl.DataFrame(schema=ANNOUNCED_SCHEMA)
    return pl.DataFrame(rows, infer_schema_length=None).select(list(ANNOUNCED_SCHEMA))


def _of_contest(frame: pl.DataFrame, contest: str) -> pl.DataFrame:
    """The frame's rows of one contest (all of them when it is not keyed by contest)."""
    return frame.filter(pl.col(CONTEST) == contest) if CONTEST in frame.columns else frame


def _names_of(results: pl.DataFrame) -> dict[str, str]:
    if "candidate_name" not in results.columns:
        return {}
    pairs = results.select("candidate_id", "candidate_name").unique("candidate_id", keep="first")
    return {k: v for k, v in pairs.iter_rows() if v is not None}


def source_counts(
    results_national: pl.DataFrame,
    coverage_national: pl.DataFrame,
    ballots_national: pl.DataFrame,
    uncounted_registered: dict[str, int | None],
    vote_for: int = 1,
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
            vote_for,
        )
        for source in sorted(tallied_valid)
    }


def _source_count(
    valid: int,
    votes: dict[str, int],
    coverage: dict,
    ballots: int | None,
    registered: int | None,
    vote_for: int = 1,
) -> SourceCount:
    expected, counted = coverage.get("expected"), coverage.get("counted") or 0
    uncounted = expected - counted if expected is not None else None
    marks = ballots or valid  # a vote-for-N contest's ballots hold N marks each
    per_tally = (marks if vote_for == 1 else marks / vote_for) / counted if counted else None
    capacity, basis = registered, "registered voters of uncounted units"
    if capacity is None and uncounted is not None and per_tally is not None:
        capacity, basis = round(uncounted * per_tally), "counted turnout"
    basis = basis if capacity is not None else None
    return SourceCount(valid, votes, expected, counted, uncounted, capacity, basis)


def bulletin_bound(
    announced_votes: dict[str, int], count: SourceCount, vote_for: int = 1
) -> BulletinBound:
    """Every candidate of the bulletin reaching their announced figure from the same tallies:
    their shortfalls together need at least shortfall / vote_for ballots (a ballot gives one
    vote to each of at most vote_for candidates)."""
    needed = sum(max(0, said - count.votes.get(c, 0)) for c, said in announced_votes.items())
    if count.capacity is None:
        return BulletinBound(needed, None)
    reachable = all(count.votes.get(c, 0) <= said for c, said in announced_votes.items())
    return BulletinBound(needed, reachable and needed <= count.capacity * vote_for)


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
