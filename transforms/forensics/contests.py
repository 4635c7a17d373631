"""The forensic checks of a general election: F1, F2 and F3 run contest by contest. Pure polars.

Each contest is examined as an election of one contest would be, over its own accepted tallies
and its own candidates (a contest elected in districts: every district's candidates, each a
series of its own in F1, and F2's main candidates by their share of the contest's valid votes).
A source's tallies of a contest are examined only when there are at least
MIN_FINGERPRINT_TALLIES of them (F3's minimum, below which one stronghold is already 5 %): a
contest with fewer gives no rows, which says "too few to screen" rather than "nothing found".
docs/forensics.md ("General elections").

Each contest keeps a ForensicState of its own (transforms/forensics/mart.py), its frames keyed
by contest_id and its candidates named by the contest's lines (`p001`, … in ballot order, every
line the contest lists): a drop moves the states of the contests it touches
(transforms/forensics/delta.py, contest by contest) and leaves the others as they were. A line
no accepted tally gives a count adds nothing to a state (no F1 series, a national share of 0,
never main in F2), so the mart is the one its present lines alone would give; the minimum
above is applied to the state (its per-source tally counts), source by source, as every
statistic of a state is per source.

A contest's tallies are read as ContestRows: a row per tally and, beside, a row per tally and
line with a count. A contest elected in districts lists every district's lines, a tally counts
only its own district's, so its statistics are summed on those long rows and only F2's main
lines get a column (a column per line: 113 mostly null columns at the benchmark's senator
contest, pivoted and unpivoted again, two thirds of the step's CPU). A contest of few lines is
still examined on its tally frame (fewer steps). The state is the same, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import polars as pl

from transforms.accepted import cast_votes_by
from transforms.contests import slot
from transforms.delta import NeedsFullBuild
from transforms.feed import TOTAL, VALID
from transforms.forensics.centres import main_candidates
from transforms.forensics.digits import digit_stats
from transforms.forensics.mart import (
    FINGERPRINT,
    MIN_FINGERPRINT_TALLIES,
    SCHEMA,
    SPARSE_COLUMNS,
    UNIT_KEYS,
    ForensicState,
    centre_state,
    fingerprint_counts,
    forensic_state,
    tally_rows,
    unnamed_mart,
)
from transforms.model import Candidate, Election
from transforms.staging import CONTEST, cast_votes_total

CONTEST_SCHEMA = {"source_id": pl.String, CONTEST: pl.String, **SCHEMA}


@dataclass(frozen=True)
class ContestView:
    """One contest as the single-contest checks see it: the election with a candidate per line
    (`p001`, …, column-safe) and the lines' candidate ids by slot."""

    contest: str
    election: Election
    back: dict[str, str]  # slot -> candidate_id

    @property
    def slots(self) -> list[str]:
        return self.election.candidate_ids


def contest_views(lines: pl.DataFrame, election: Election) -> dict[str, ContestView]:
    """Every contest's view; lines: contest_id, candidate_id in ballot order."""
    views = {}
    for (contest,), own in lines.partition_by(CONTEST, as_dict=True, maintain_order=True).items():
        back = {slot(i + 1): c for i, c in enumerate(own["candidate_id"].to_list())}
        view = replace(
            election,
            candidates=tuple(Candidate(s, s) for s in back),
            contests=(),
            discovers_contests=False,
        )
        views[contest] = ContestView(contest, view, back)
    return views


@dataclass(frozen=True)
class ContestRows:
    """Some accepted tallies of one contest as its checks read them, on long rows: a contest
    elected in districts has a line per candidate of every district, so a frame with a column
    per line (tally_frame's) would be mostly null, and as wide as the districts' lines are many.

    tallies: mart.tally_rows (one row per tally, tally_id, no candidate column); counts: one
    row per tally and line with a count (tally_id, source_id, state, candidate_id: the line's
    slot, votes)."""

    tallies: pl.DataFrame
    counts: pl.DataFrame

    def clear(self) -> ContestRows:
        return ContestRows(self.tallies.clear(), self.counts.clear())

    def digits(self) -> pl.DataFrame:
        """F1's digit_stats (mart.tally_digit_stats of the tally frame)."""
        return digit_stats(self.counts.rename({"state": "unit_code"}).drop("tally_id"))

    def units(self, view: ContestView) -> pl.DataFrame:
        """mart.unit_stats of the tally frame: F3's counts from each tally's largest count,
        the lines' sums per source and state from the long rows (0 where none counts)."""
        top = self.counts.group_by("tally_id").agg(pl.col("votes").max().alias("_top"))
        counts = (
            self.tallies.join(top, on="tally_id", how="left")
            .group_by(UNIT_KEYS)
            .agg(fingerprint_counts(pl.col("_top")))
        )
        sums = (
            self.counts.group_by(*UNIT_KEYS, "candidate_id")
            .agg(pl.col("votes").sum())
            .pivot(on="candidate_id", index=UNIT_KEYS, values="votes", on_columns=view.slots)
        )
        return (
            counts.join(sums, on=UNIT_KEYS, how="left", nulls_equal=True)
            .select(
                *UNIT_KEYS,
                *[pl.col(c).cast(pl.Int64) for c in [*FINGERPRINT, VALID]],
                *[pl.col(s).fill_null(0).cast(pl.Int64) for s in view.slots],
            )
            .sort(UNIT_KEYS)
        )

    def frame(self, lines: list[str]) -> pl.DataFrame:
        """The tally frame (mart.tally_frame) with the columns of these lines only: F2 reads
        the shares of the main candidates alone (centres.centre_measures)."""
        tallies = self.tallies
        if lines:
            wide = self.counts.filter(pl.col("candidate_id").is_in(lines)).pivot(
                on="candidate_id", index="tally_id", values="votes", on_columns=lines
            )
            tallies = tallies.join(wide, on="tally_id", how="left")
        return tallies.select(*self.tallies.columns[1:], *[pl.col(c).cast(pl.Int64) for c in lines])


def contest_rows(tallies: pl.DataFrame, votes: pl.DataFrame, view: ContestView) -> ContestRows:
    """ContestRows of some accepted tallies of one contest (mart.tally_columns and vote_for)
    and their long votes (tally_id, candidate_id, votes), each vote on its line's slot.
    Raises NeedsFullBuild for a vote on a line the contest does not list.

    Both frames come out in tally_id order: polars then joins, groups (a tally's largest
    count) and pivots them on a sorted key, which cost a third of hashing them at each step;
    sorting the votes once costs less than that."""
    slots = {c: s for s, c in view.back.items()}
    rows = tally_rows(_ballots(tallies), view.election).sort("tally_id")
    counts = (
        votes.filter(pl.col("votes").is_not_null())
        .sort("tally_id")
        .join(rows.select("tally_id", "source_id", "state"), on="tally_id", how="inner")
        .select(
            "tally_id",
            "source_id",
            "state",
            pl.col("candidate_id").replace_strict(slots, default=None, return_dtype=pl.String),
            pl.col("votes").cast(pl.Int64),
        )
    )
    if counts["candidate_id"].null_count():
        raise NeedsFullBuild(f"a vote on a line contest {view.contest} does not list")
    return ContestRows(rows, counts)


def rows_state(rows: ContestRows, view: ContestView) -> ForensicState:
    """mart.forensic_state of one contest's accepted tallies, from their ContestRows: the same
    frames, bit for bit. A contest of few lines is examined on its tally frame (fewer steps,
    which count where a ballot holds hundreds of small contests); a wide one on its rows."""
    if len(view.slots) <= SPARSE_COLUMNS:
        return forensic_state(rows.frame(view.slots), view.election)
    units = rows.units(view)
    main = main_candidates(units, view.slots)
    centres, outliers = centre_state(rows.frame(main_lines(units, view)), main, view.election)
    return ForensicState(rows.digits(), units, centres, outliers)


def main_lines(units: pl.DataFrame, view: ContestView) -> list[str]:
    """The slots, in ballot order, of the lines main for some source (F2's shares: the columns
    ContestRows.frame needs) by these unit statistics."""
    main = set(main_candidates(units, view.slots)["candidate_id"].to_list())
    return [s for s in view.slots if s in main]


def contest_states(
    tallies: pl.DataFrame, votes: pl.DataFrame, views: dict[str, ContestView]
) -> ForensicState:
    """Every contest's state from all its accepted tallies, keyed by contest_id (the full
    computation; contest_mart turns it into the mart)."""
    cast, votes_of = cast_votes_by(votes, tallies, [CONTEST])
    none = cast.clear().drop(CONTEST)
    return states_by_contest(tallies, lambda contest: votes_of.get((contest,), none), views)


def states_by_contest(
    tallies: pl.DataFrame,
    votes_of: Callable[[str], pl.DataFrame],
    views: dict[str, ContestView],
) -> ForensicState:
    """contest_states with each contest's long votes asked for when it is examined:
    votes_of(contest) gives them for at least its accepted tallies (those of its other
    tallies are left out by contest_rows' join), so the warehouse can hand them over contest
    by contest, not joined with the tallies and split here."""
    states = []
    for (contest,), own in sorted(tallies.partition_by(CONTEST, as_dict=True).items()):
        view = views.get(contest)
        if view is None:  # a contest without lines: no vote to screen
            continue
        states.append((contest, rows_state(contest_rows(own, votes_of(contest), view), view)))
    return keyed_by_contest(states)


def keyed_by_contest(states: list[tuple[str, ForensicState]]) -> ForensicState:
    """Contests' states as one, each frame with contest_id (units: a column per slot, null
    beyond a contest's own lines)."""
    frames = {"digits": [], "units": [], "centres": [], "outliers": []}
    for contest, state in states:
        for name, frame in state.frames().items():
            frames[name].append(frame.with_columns(pl.lit(contest, pl.String).alias(CONTEST)))
    return ForensicState(**{name: _stacked(parts) for name, parts in frames.items()})


def _stacked(parts: list[pl.DataFrame]) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema={CONTEST: pl.String})
    return pl.concat(parts, how="diagonal_relaxed")


def state_of(state: ForensicState, view: ContestView) -> ForensicState:
    """One contest's state out of keyed_by_contest's (its own frames, without contest_id)."""
    units = [*UNIT_KEYS, *FINGERPRINT, VALID]
    frames = {}
    for name, frame in state.frames().items():
        own = (
            frame.filter(pl.col(CONTEST) == view.contest).drop(CONTEST)
            if CONTEST in frame.columns
            else frame
        )
        if name == "units":
            own = own.select(
                *[pl.col(c) for c in units if c in own.columns],
                *[
                    (pl.col(s) if s in own.columns else pl.lit(None, pl.Int64)).alias(s)
                    for s in view.slots
                ],
            )
        frames[name] = own
    return ForensicState(**frames)


def contest_mart(
    state: ForensicState,
    views: dict[str, ContestView],
    minimum: int = MIN_FINGERPRINT_TALLIES,
) -> pl.DataFrame:
    """The forensics mart's rows (without unit names: mart.with_names adds them) from
    keyed_by_contest's state: per contest, the sources with at least `minimum` accepted
    tallies of it; a contest none of whose lines they give a count has no rows."""
    contests = sorted(set(state.units[CONTEST].to_list())) if state.units.height else []
    parts = []
    for contest in contests:
        view = views.get(contest)
        if view is None:
            continue
        own = state_of(state, view)
        enough = own.units.group_by("source_id").agg(pl.col("tallies").sum())
        sources = enough.filter(pl.col("tallies") >= minimum).select("source_id")
        own = ForensicState(
            **{k: f.join(sources, on="source_id", how="semi") for k, f in own.frames().items()}
        )
        if own.digits.is_empty():  # no line given a count: nothing to screen
            continue
        parts.append(
            _named_back(unnamed_mart(own, view.election), view.back).with_columns(
                pl.lit(contest, pl.String).alias(CONTEST)
            )
        )
    if not parts:
        return pl.DataFrame(schema={k: v for k, v in CONTEST_SCHEMA.items() if k != "unit_name"})
    return pl.concat(parts, how="diagonal_relaxed")


def contest_forensics(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    lines: pl.DataFrame,
    election: Election,
    minimum: int = MIN_FINGERPRINT_TALLIES,
) -> pl.DataFrame:
    """The forensics mart's rows (without unit names: mart.with_names adds them) per contest.

    tallies: accepted tallies (mart.tally_columns, contest_id, vote_for); votes: their long votes
    (tally_id, candidate_id, votes); lines: contest_id, candidate_id (ballot order)."""
    views = contest_views(lines, election)
    return contest_mart(contest_states(tallies, votes, views), views, minimum)


def _ballots(tallies: pl.DataFrame) -> pl.DataFrame:
    """Turnout is of ballots: a vote-for-N contest's sheet totals N marks per ballot."""
    if "vote_for" not in tallies.columns:
        return tallies
    cast = cast_votes_total(tallies)
    return cast.with_columns(pl.col(TOTAL) // pl.col("vote_for").fill_null(1).clip(1, None))


def _named_back(mart: pl.DataFrame, back: dict[str, str]) -> pl.DataFrame:
    """The lines' column names (`p001`) back to the contest's candidate ids, in candidate_id
    and in F2's words (`share of …`)."""
    candidate = pl.col("candidate_id").replace_strict(back, default=None, return_dtype=pl.String)
    prefix = "share of "
    named = pl.concat_str(
        pl.lit(prefix),
        candidate,
        pl.col("detail").str.slice(len(prefix) + pl.col("candidate_id").str.len_chars()),
    )
    slot_named = pl.col("detail").str.starts_with(prefix + pl.col("candidate_id").fill_null(""))
    return mart.with_columns(
        pl.when(pl.col("candidate_id").is_not_null() & slot_named)
        .then(named)
        .otherwise(pl.col("detail"))
        .alias("detail"),
        candidate,
    )
