"""A drop applied to a general election's kept projection statistics, group by group (a contest
in one district, transforms/projection/contests.py). Pure polars.

The statistics are integer sums (transforms.projection.estimator.projection_stats): a group the
drop touches is moved by its difference, the replaced accepted tallies' taken off and the
restaged ones' added, unless its lines or its population could change with it; such a group is
computed again from all its tallies (the warehouse reads them: orchestration/assets/projection.py)
and `GroupMoves.merged` puts the kept, the moved and the recomputed groups together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from transforms.accepted import at_polling_units, cast_votes_by
from transforms.delta import add_stats
from transforms.projection.contests import (
    DISTRICT,
    DISTRICT_LEVEL,
    GROUP,
    GROUP_SCHEMA,
    CastVotes,
    Group,
    GroupStats,
    Populations,
    group_counted,
    group_lines,
    group_stats,
    groups_of,
    stats_of,
    with_districts,
)
from transforms.projection.estimator import STATS_KEYS, projection_stats
from transforms.staging import CONTEST

GROUP_KEY_SCHEMA = dict.fromkeys(GROUP, pl.String)


@dataclass(frozen=True)
class GroupMoves:
    """What a drop does to the kept statistics: the groups it touches (GROUP), the moved
    statistics of those it moves by the difference, and those to compute again from all their
    tallies, with why."""

    touched: pl.DataFrame
    moved: list[pl.DataFrame]
    whole: dict[tuple, str]

    @property
    def again(self) -> pl.DataFrame:
        """GROUP of the groups to compute again from all their tallies."""
        return pl.DataFrame(list(self.whole), schema=GROUP_KEY_SCHEMA, orient="row")

    @property
    def reason(self) -> str:
        """What the plan's reason adds: the groups computed again, and why ('' when none)."""
        return "; ".join(
            f"contest {c}{f' in {d}' if d else ''} computed again from all its tallies: {w}"
            for (c, d), w in self.whole.items()
        )

    def merged(
        self,
        old_stats: pl.DataFrame,
        old_lines: pl.DataFrame,
        new_stats: pl.DataFrame | None = None,
        new_lines: pl.DataFrame | None = None,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The statistics and lines after the drop: the kept ones of the untouched groups, the
        moved groups' statistics (their lines kept), and the recomputed groups' statistics
        and lines (group_state of all their tallies; none when nothing is computed again)."""
        empty = pl.DataFrame(schema=GROUP_SCHEMA)  # the stats then carry its columns, null
        new_stats = empty if new_stats is None else new_stats
        new_lines = empty if new_lines is None else new_lines
        again = self.again
        kept_stats, kept_lines = (
            frame.join(again, on=GROUP, how="anti", nulls_equal=True)
            for frame in (old_stats, old_lines)
        )
        stats = pl.concat(
            [
                kept_stats.join(self.touched, on=GROUP, how="anti", nulls_equal=True),
                *self.moved,
                new_stats,
            ],
            how="diagonal_relaxed",
        )
        return stats, pl.concat([kept_lines, new_lines], how="diagonal_relaxed")


def group_state(
    tallies: pl.DataFrame, votes: pl.DataFrame, lines: pl.DataFrame, populations: Populations
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The statistics and lines (group_lines) of every contest and district of these accepted
    tallies (at the polling units); votes: their long votes; lines: the contests' lines
    (contest_id, candidate_id, candidate_name in ballot order)."""
    tallies = with_districts(tallies)
    return split_group_state(tallies, CastVotes(votes, tallies), lines, populations)


def split_group_state(
    tallies: pl.DataFrame, cast: CastVotes, lines: pl.DataFrame, populations: Populations
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """group_state of tallies with their districts (with_districts) and their votes already
    split by group (CastVotes: a full build's, read contest by contest)."""
    groups = group_lines(tallies, cast, lines, populations.election)
    return group_stats(cast, groups, populations), groups


def moved_groups(
    old_stats: pl.DataFrame,
    old_lines: pl.DataFrame,
    sides: tuple[pl.DataFrame, pl.DataFrame],
    long_votes: tuple[pl.DataFrame, pl.DataFrame],
    populations: Populations,
    higher_sources: Sequence[str] = (),
) -> GroupMoves:
    """The kept statistics moved by a drop, group by group. sides: the replaced and the
    restaged accepted tallies; long_votes: theirs (tally_id, candidate_id, votes). A source
    above the polling units (higher_sources: a canvass) is reconciled, never projected: its
    tallies are left out, as a full build leaves them. A group whose lines or population could
    change (why_whole) is left to compute again."""
    groups = groups_of(old_lines, populations.election)
    sides = [with_districts(at_polling_units(side, list(higher_sources))) for side in sides]
    by_group = [_split_by_group(side, votes) for side, votes in zip(sides, long_votes, strict=True)]
    touched = pl.concat([side.select(GROUP).cast(pl.String) for side in sides]).unique()
    olds, befores, afters, whole = [], [], [], {}
    old_split = GroupStats(old_stats)  # split once: a filter per group costs ~15 ms
    for key in touched.sort(GROUP, nulls_last=True).iter_rows():
        own = [
            (tallies.get(key, none[0]), votes.get(key, none[1]))
            for tallies, votes, none in by_group
        ]
        why = why_whole(groups.get(key), populations, own)
        if why:
            whole[key] = why
            continue
        group = groups[key]
        sizes = populations.of(group)[2]
        keyed = [
            pl.lit(key[0], pl.String).alias(CONTEST),
            pl.lit(key[1], pl.String).alias(DISTRICT),
        ]
        olds.append(stats_of(old_split, group).with_columns(keyed))
        before, after = (
            projection_stats(group_counted(t, v, group, sizes), group.view).with_columns(keyed)
            for t, v in own
        )
        befores.append(before)
        afters.append(after)
    moved = (
        [
            add_stats(
                *(pl.concat(p, how="diagonal_relaxed") for p in (olds, befores, afters)),
                [*GROUP, *STATS_KEYS],
            )
        ]
        if olds
        else []
    )
    return GroupMoves(touched, moved, whole)


def _split_by_group(side: pl.DataFrame, votes: pl.DataFrame) -> tuple[dict, dict, tuple]:
    """One side's tallies and cast long votes per group, and a group's none of either."""
    cast, cast_by_group = cast_votes_by(votes, side, GROUP)
    none = (side.clear(), cast.clear().drop(GROUP))
    return side.partition_by(GROUP, as_dict=True), cast_by_group, none


def why_whole(group: Group | None, populations: Populations, sides: list) -> str | None:
    """Why a touched group's statistics cannot be moved by the difference, or None. sides:
    the group's replaced and restaged accepted tallies, each with its cast long votes."""
    if group is None:
        return "no line of it was counted before"
    if populations.needs_tallies(group):
        return "its population's state is read off its tallies"
    counts = []
    for tallies, votes in sides:
        levels = set(tallies[DISTRICT_LEVEL].drop_nulls().to_list())
        if levels - {group.level}:
            return "its district level changed"
        counts.append(
            dict(votes.group_by("candidate_id").len().iter_rows()) if votes.height else {}
        )
    before, after = counts
    if set(after) - set(group.ids):
        return "a line it did not count before"
    if any(after.get(line, 0) < n for line, n in before.items()):
        return "fewer tallies count one of its lines (it may stop)"
    return None
