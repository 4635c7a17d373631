"""A drop applied to a general election's forensic state, contest by contest. Pure polars.

Each contest the drop touches is moved as an election of one contest is
(transforms/forensics/delta.py), over its own part of the drop: F1's and F3's statistics by the
difference, F2's verdicts of the centres whose verdicts may change examined again from those
centres' tallies. Unlike an election of one contest, a change of a contest's main candidates
(F2's shares) does not send the step to a full build: every centre where one of those
candidates has a count is examined again too. The contests the drop leaves alone keep their
rows as they were (transforms/forensics/contests.py keys every frame by contest_id).

Three steps, with the warehouse's reads between them (orchestration/assets/forensics.py):
`moved_contests` (the statistics, the touched centres, the lines whose main status changed),
`centres_to_examine` (those centres and the ones where such a line has a count, read from the
warehouse) and `examined_state` (F2 of those centres from their tallies, the state merged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from transforms.accepted import at_polling_units
from transforms.delta import NeedsFullBuild
from transforms.forensics.contests import (
    ContestRows,
    ContestView,
    contest_rows,
    keyed_by_contest,
    main_lines,
    state_of,
)
from transforms.forensics.delta import added_stats, main_changes, touched_centres, with_centres
from transforms.forensics.mart import ForensicState
from transforms.model import Election
from transforms.staging import CONTEST

CENTRES_SCHEMA = {CONTEST: pl.String, "source_id": pl.String, "centre": pl.String}
MAIN_SCHEMA = {"source_id": pl.String, "candidate_id": pl.String, CONTEST: pl.String}


@dataclass(frozen=True)
class MovedContest:
    """One contest the drop touches: its kept state, its statistics moved by the drop, the
    centres the drop touches (source_id, centre) and ContestRows without rows (its columns)."""

    view: ContestView
    kept: ForensicState
    digits: pl.DataFrame
    units: pl.DataFrame
    touched: pl.DataFrame
    no_tallies: ContestRows


@dataclass(frozen=True)
class ContestMoves:
    """The contests a drop touches, by contest_id, and the lines whose main status (F2's
    shares) it changed: contest_id, source_id, candidate_id (the contest's own ids)."""

    contests: dict[str, MovedContest]
    main: pl.DataFrame

    @property
    def reason(self) -> str:
        """What the plan's reason adds: the contests whose main candidates changed ('' when
        none)."""
        return "; ".join(
            f"contest {c}: the drop changed which candidates are main (F2 shares), every centre "
            "where they have a count examined again"
            for c in self.main[CONTEST].unique().sort().to_list()
        )


def centre_column(election: Election) -> str | None:
    """The code column of F2's centres (the level above the tallies); None for an election of
    one level, which has no centres."""
    return election.code_columns[-2] if len(election.levels) > 1 else None


def moved_contests(
    old: ForensicState,
    sides: tuple[pl.DataFrame, pl.DataFrame],
    long_votes: tuple[pl.DataFrame, pl.DataFrame],
    views: dict[str, ContestView],
    higher_sources: Sequence[str] = (),
) -> ContestMoves:
    """The kept state's statistics moved by the drop, contest by contest. sides: the replaced
    and the restaged accepted tallies (mart.tally_columns, contest_id, vote_for); long_votes:
    theirs (tally_id, candidate_id, votes). A source above the polling units (higher_sources:
    a canvass) is reconciled, never screened: its tallies are left out, as a full build leaves
    them. Raises NeedsFullBuild for a contest without kept state or without lines."""
    sides = tuple(at_polling_units(side, list(higher_sources)) for side in sides)
    kept_contests = set(old.units[CONTEST].to_list()) if CONTEST in old.units.columns else set()
    contests, changed = {}, []
    for contest in sorted(set(sides[0][CONTEST]) | set(sides[1][CONTEST]), key=str):
        if contest not in views or contest not in kept_contests:
            raise NeedsFullBuild(f"contest {contest} has no kept state or no lines")
        view = views[contest]
        before, after = (
            contest_rows(side.filter(pl.col(CONTEST) == contest), votes, view)
            for side, votes in zip(sides, long_votes, strict=True)
        )
        own = state_of(old, view)
        digits, units = added_stats(
            own, *((rows.digits(), rows.units(view)) for rows in (before, after))
        )
        main = main_changes(own.units, units, view.election).with_columns(
            pl.col("candidate_id").replace_strict(view.back),
            pl.lit(contest, pl.String).alias(CONTEST),
        )
        changed.append(main)
        touched = touched_centres(before.tallies, after.tallies)
        contests[contest] = MovedContest(view, own, digits, units, touched, before.clear())
    main = pl.concat(changed) if changed else pl.DataFrame(schema=MAIN_SCHEMA)
    return ContestMoves(contests, main)


def centres_to_examine(
    moves: ContestMoves, counting: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """contest_id, source_id, centre of the centres whose F2 verdicts each contest's drop may
    change: those it touches, and `counting`, those where a line of moves.main has a count
    (warehouse.forensic_state.read_centres_counting). None for an election without centres."""
    if centre_column(election) is None:
        return pl.DataFrame(schema=CENTRES_SCHEMA)
    parts = [
        moved.touched.with_columns(pl.lit(contest, pl.String).alias(CONTEST))
        for contest, moved in moves.contests.items()
    ]
    if moves.main.height:
        parts.append(counting)
    if not parts:
        return pl.DataFrame(schema=CENTRES_SCHEMA)
    found = pl.concat([p.select(list(CENTRES_SCHEMA)).cast(CENTRES_SCHEMA) for p in parts])
    return found.filter(pl.col("centre").is_not_null()).unique().sort(list(CENTRES_SCHEMA))


def examined_state(
    old: ForensicState,
    moves: ContestMoves,
    centres: pl.DataFrame,
    centre_tallies: pl.DataFrame,
    centre_votes: pl.DataFrame,
) -> ForensicState:
    """The state after the drop: each moved contest's statistics with F2 of its `centres`
    (centres_to_examine) examined again from centre_tallies (every current accepted tally of
    those centres of those contests) and centre_votes (their long votes); the other contests'
    rows as they were."""
    states = []
    for contest, moved in moves.contests.items():
        mine = centre_tallies.filter(pl.col(CONTEST) == contest)
        rows = contest_rows(mine, centre_votes, moved.view) if mine.height else moved.no_tallies
        frame = rows.frame(main_lines(moved.units, moved.view))
        examined = centres.filter(pl.col(CONTEST) == contest).drop(CONTEST)
        states.append(
            (
                contest,
                with_centres(
                    moved.kept, moved.digits, moved.units, examined, frame, moved.view.election
                ),
            )
        )
    return _with_untouched(old, keyed_by_contest(states), list(moves.contests))


def _with_untouched(old: ForensicState, updated: ForensicState, moved: list[str]) -> ForensicState:
    """The updated contests' frames after the kept rows of every other contest."""
    return ForensicState(
        **{
            name: pl.concat(
                [old.frames()[name].filter(~pl.col(CONTEST).is_in(moved)), frame],
                how="diagonal_relaxed",
            )
            for name, frame in updated.frames().items()
        }
    )
