"""Winners and race status per contest and district (`marts.contest_status`). Pure polars.

A district is decided by arithmetic, never by statistics: its leaders can no longer lose their
seats whatever the ballots still to arrive hold. The quality rules hold a tally's votes cast
(its lines over vote_for) to its registered voters, not each line to its ballots, so the ballots
still to arrive can lift the first loser, or any candidate not yet counted, by at most vote_for
times their number over the last winner. The number of ballots
still to arrive is bounded as `announced_vs_tallied` bounds it (transforms/verification.py): by
the registered voters of the units not yet counted, which rule E2 holds every accepted tally
to. Where nothing bounds it, nothing is decided. docs/contest-status.md defines every column.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from transforms.feed import OTHER_ID
from transforms.model import NATIONAL

KEYS = ("source_id", "contest_id", "level", "unit_code")
DECIDED, LEADING, TIED, NO_VOTES = "decided", "leading", "tied", "no votes"
STATUSES = (DECIDED, LEADING, TIED, NO_VOTES)
ALL_COUNTED = "all expected tallies counted"
UNCOUNTED_REGISTERED = "registered voters of uncounted units"

CONTEST_STATUS_SCHEMA: dict[str, pl.DataType] = {
    "source_id": pl.String(),
    "contest_id": pl.String(),
    "contest_name": pl.String(),
    "level": pl.String(),
    "unit_code": pl.String(),
    "unit_name": pl.String(),
    "seats": pl.Int32(),
    "vote_for": pl.Int32(),
    "counted": pl.Int64(),
    "expected": pl.Int64(),
    "ballots_counted": pl.Int64(),
    "leaders": pl.List(pl.String()),
    "leader_names": pl.List(pl.String()),
    "last_winner_votes": pl.Int64(),
    "first_loser_votes": pl.Int64(),
    "margin": pl.Int64(),
    "other_votes": pl.Int64(),
    "outstanding_ballots": pl.Int64(),
    "outstanding_basis": pl.String(),
    "decided": pl.Boolean(),
    "status": pl.String(),
}
UNCOUNTED_SCHEMA: dict[str, pl.DataType] = {
    **{k: pl.String() for k in KEYS},
    "uncounted_registered": pl.Int64(),
}


def contest_status(
    results: pl.DataFrame,
    coverage: pl.DataFrame,
    turnout: pl.DataFrame,
    contests: pl.DataFrame,
    uncounted_registered: pl.DataFrame | None = None,
    unchecked_counts: Iterable[str] = (),
) -> pl.DataFrame:
    """One row per source, contest and district (the units of the contest's district level, or
    the national unit when it has none): the leaders, the margin at the seat boundary, the most
    ballots still to arrive and whether the district is decided.

    results, coverage, turnout: the published marts (keyed by source_id, contest_id, level,
    unit_code). contests: contest_id, contest_name, seats, vote_for, district_level (null: the
    whole election). uncounted_registered: source_id, contest_id, level, unit_code,
    uncounted_registered (see `uncounted_registered`); without it a district is decided only
    once every expected tally is counted. unchecked_counts: sources whose counted tallies may
    count a unit twice or one the registry does not list (their policy demotes rule E5 or E6),
    for which counted = expected says nothing.
    """
    districts = _districts(contests)
    _refuse_unknown_contests(contests, results, coverage)
    # only the districts' own rows count (every level of the results mart comes in)
    results = results.join(
        districts.select("contest_id", "level"), on=["contest_id", "level"], how="semi"
    )
    spine = _spine(results, coverage, districts)
    seat_lines = _seat_boundary(results, districts)
    other = (
        results.filter(pl.col("candidate_id") == OTHER_ID)
        .group_by(KEYS)
        .agg(pl.col("votes").sum().alias("other_votes"))
    )
    ballots = turnout.select(*KEYS, pl.col("total_votes").alias("ballots_counted"))
    bound = (
        uncounted_registered.select(*KEYS, "uncounted_registered")
        if uncounted_registered is not None
        else pl.DataFrame(schema=UNCOUNTED_SCHEMA)
    )
    frame = (
        spine.with_columns(pl.col("source_id").is_in(list(unchecked_counts)).alias("_unchecked"))
        .join(seat_lines, on=list(KEYS), how="left")
        .join(other, on=list(KEYS), how="left")
        .join(ballots, on=list(KEYS), how="left")
        .join(bound, on=list(KEYS), how="left")
    )
    return (
        frame.with_columns(
            pl.col("last_winner_votes", "first_loser_votes", "other_votes", "declared_votes")
            .fill_null(0)
            .cast(pl.Int64),
            pl.col("tied").fill_null(False),
            *[
                pl.coalesce(c, pl.lit([], pl.List(pl.String))).alias(c)
                for c in ("leaders", "leader_names")
            ],
            _outstanding().alias("outstanding_ballots"),
            _outstanding_basis().alias("outstanding_basis"),
        )
        .with_columns((pl.col("last_winner_votes") - pl.col("first_loser_votes")).alias("margin"))
        .with_columns(_decided().alias("decided"))
        .with_columns(_status().alias("status"))
        .select([pl.col(c).cast(t) for c, t in CONTEST_STATUS_SCHEMA.items()])
        .sort(KEYS)
    )


def _districts(contests: pl.DataFrame) -> pl.DataFrame:
    """contest_id, level (its district level, `national` when null), name, seats, vote_for."""
    bad = contests.filter(
        pl.col("seats").is_null()
        | (pl.col("seats") < 1)
        | pl.col("vote_for").is_null()
        | (pl.col("vote_for") < 1)
    )
    if bad.height:
        raise ValueError(
            "contests need seats ≥ 1 and vote_for ≥ 1: "
            + ", ".join(
                f"{r['contest_id']} (seats {r['seats']}, vote_for {r['vote_for']})"
                for r in bad.iter_rows(named=True)
            )
        )
    twice = contests.filter(pl.col("contest_id").is_duplicated())["contest_id"].unique().sort()
    if twice.len():
        raise ValueError(f"contests listed more than once: {', '.join(twice.to_list())}")
    return contests.select(
        "contest_id",
        pl.col("district_level").fill_null(NATIONAL).alias("level"),
        "contest_name",
        pl.col("seats").cast(pl.Int32),
        pl.col("vote_for").cast(pl.Int32),
    )


def _refuse_unknown_contests(contests: pl.DataFrame, *marts: pl.DataFrame) -> None:
    """A mart row of a contest the list does not hold would silently have no status."""
    known = set(contests["contest_id"].to_list())
    unknown = sorted({c for m in marts for c in m["contest_id"].unique().to_list()} - known)
    if unknown:
        raise ValueError(f"contests in the marts but not in the contest list: {unknown}")


def _spine(results: pl.DataFrame, coverage: pl.DataFrame, districts: pl.DataFrame) -> pl.DataFrame:
    """Every source × contest × district: coverage's units at the contest's district level
    (every unit where the contest is on the ballot), and any the results hold beyond them."""
    keys = list(KEYS)
    covered = coverage.join(districts, on=["contest_id", "level"], how="inner").select(
        *keys, "unit_name", "contest_name", "seats", "vote_for", "counted", "expected"
    )
    extra = (
        results.join(districts, on=["contest_id", "level"], how="inner")
        .join(covered, on=keys, how="anti")
        .group_by(keys)
        .agg(pl.col("unit_name", "contest_name", "seats", "vote_for").first())
        .with_columns(
            pl.lit(None, pl.Int64).alias("counted"), pl.lit(None, pl.Int64).alias("expected")
        )
    )
    return pl.concat([covered, extra.select(covered.columns)], how="vertical_relaxed")


def _seat_boundary(results: pl.DataFrame, districts: pl.DataFrame) -> pl.DataFrame:
    """Per district: the declared candidates in order of votes (ties by candidate_id), the
    leaders, the votes of the last winning place and of the first losing place."""
    keys = list(KEYS)
    place = pl.col("_place")
    seats = pl.col("seats")
    return (
        results.filter(pl.col("candidate_id") != OTHER_ID)
        .join(districts.select("contest_id", "level", "seats"), on=["contest_id", "level"])
        .sort([*keys, "votes", "candidate_id"], descending=[*[False] * len(keys), True, False])
        .with_columns(pl.int_range(1, pl.len() + 1).over(keys).alias("_place"))
        .group_by(keys)
        .agg(
            pl.col("candidate_id")
            .filter((place <= seats) & (pl.col("votes") > 0))
            .alias("leaders"),
            pl.col("candidate_name")
            .filter((place <= seats) & (pl.col("votes") > 0))
            .alias("leader_names"),
            pl.col("votes").filter(place == seats).first().alias("last_winner_votes"),
            pl.col("votes").filter(place == seats + 1).first().alias("first_loser_votes"),
            pl.col("votes").sum().alias("declared_votes"),
        )
        # a tie at the seat boundary: two declared candidates hold the last winning and the
        # first losing place with the same votes
        .with_columns(
            (pl.col("last_winner_votes") == pl.col("first_loser_votes"))
            .fill_null(False)
            .alias("tied")
        )
    )


def _all_counted() -> pl.Expr:
    """Every expected tally counted: counted = expected. More counted than expected means the
    expected number is not a catalogue of the tallies (a registry would have quarantined any
    other under E6), so it cannot say that none is missing; nor can it for a source whose
    policy lets a unit count twice or outside the registry (_unchecked)."""
    return ((pl.col("counted") == pl.col("expected")) & ~pl.col("_unchecked")).fill_null(False)


def _outstanding() -> pl.Expr:
    """The most ballots still to arrive: none once every expected tally is counted, else the
    registered voters of the expected units not yet counted; null when nothing bounds them."""
    return (
        pl.when(_all_counted()).then(pl.lit(0, pl.Int64)).otherwise(pl.col("uncounted_registered"))
    )


def _outstanding_basis() -> pl.Expr:
    return (
        pl.when(_all_counted())
        .then(pl.lit(ALL_COUNTED))
        .when(pl.col("uncounted_registered").is_not_null())
        .then(pl.lit(UNCOUNTED_REGISTERED))
    )


def _decided() -> pl.Expr:
    """The margin exceeds the most votes one candidate can still gain, against the first loser
    and against the other votes (all of which may be one undeclared candidate's); false when
    unbounded. That most is vote_for × the outstanding ballots: rule E2 holds a tally's lines
    to vote_for × its registered voters in sum, not line by line, so one line of a late
    vote-for-N tally may hold all of them and pass every rule."""
    gain = pl.col("outstanding_ballots") * pl.col("vote_for").cast(pl.Int64)
    last = pl.col("last_winner_votes")
    return ((pl.col("margin") > gain) & (last - pl.col("other_votes") > gain)).fill_null(False)


def _status() -> pl.Expr:
    return (
        pl.when(pl.col("declared_votes") == 0)
        .then(pl.lit(NO_VOTES))
        .when(pl.col("decided"))
        .then(pl.lit(DECIDED))
        .when(pl.col("tied"))
        .then(pl.lit(TIED))
        .otherwise(pl.lit(LEADING))
    )


def uncounted_registered(
    expected: pl.DataFrame, counted: pl.DataFrame, sources: Iterable[str] | None = None
) -> pl.DataFrame:
    """Per source, contest and district: the registered voters of the units expected to report
    the contest there that have no counted tally for it in that source (0 when none is left);
    null when any of those units has no positive figure. A unit without a list of registered
    voters bounds nothing (its tallies are never judged by E2 or E7), and the registry carries
    0 or nothing for it; a unit with a list of 0 voters is taken for one without, erring towards
    unbounded.

    expected: contest_id, level, unit_code (the district), tally_code, registered: one row per
    tally unit expected to report the contest in the district (from the registry).
    counted: source_id, contest_id, tally_code of the counted (accepted) tallies.
    sources: every source (default: those in `counted`).
    """
    keys = list(KEYS)
    names = sorted(set(counted["source_id"].to_list()) if sources is None else set(sources))
    done = counted.select("source_id", "contest_id", "tally_code").unique()
    registered = (
        pl.when(pl.col("registered") > 0).then(pl.col("registered")).filter(~pl.col("_counted"))
    )
    return (
        pl.DataFrame({"source_id": names}, schema={"source_id": pl.String})
        .join(
            expected.select(
                "contest_id",
                "level",
                "unit_code",
                "tally_code",
                pl.col("registered").cast(pl.Int64),
            ),
            how="cross",
        )
        .join(
            done.with_columns(pl.lit(True).alias("_counted")),
            on=["source_id", "contest_id", "tally_code"],
            how="left",
        )
        .with_columns(pl.col("_counted").fill_null(False))
        .group_by(keys)
        .agg(
            # a sum over no unit is 0: nothing left to arrive
            pl.when(registered.null_count() == 0)
            .then(registered.sum())
            .alias("uncounted_registered")
        )
        .select([pl.col(c).cast(t) for c, t in UNCOUNTED_SCHEMA.items()])
        .sort(keys)
    )


def newly_decided(previous: pl.DataFrame | None, current: pl.DataFrame) -> pl.DataFrame:
    """The rows of `current` (a contest_status) decided now but not in `previous` (the previous
    run's contest_status; None on the first run: every decided row is new), and those decided in
    both with a different set of leaders (a decision reversed by a correction: never silent)."""
    now = current.filter(pl.col("decided"))
    if previous is None:
        return now
    keys = list(KEYS)
    before = previous.filter(pl.col("decided")).select(
        *keys, pl.col("leaders").list.sort().alias("_before")
    )
    return (
        now.join(before, on=keys, how="left")
        .filter(pl.col("_before").is_null() | (pl.col("_before") != pl.col("leaders").list.sort()))
        .drop("_before")
        .sort(keys)
    )
