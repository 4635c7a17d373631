"""Accepted tallies → marts.projection: projected final votes and shares with 95 % intervals.

Built after the marts step into the warehouse (marts.projection); the publish step adds it to the
pending marts file, so it is published with them. The estimate stands on integer sums per source
and state (transforms.projection.estimator.projection_stats), kept in the warehouse between
runs: a drop moves them by its difference, so an election-night run reads only the drop's
tallies and still gets the numbers a computation afresh would. A general election keeps them per
contest and district (transforms.projection.contests), with the lines each projects; the
districts a drop cannot move exactly are computed again from their own tallies.
"""

import functools

import dagster as dg
import polars as pl

from orchestration.assets.keys import (
    MART_PROJECTION,
    MART_RESULTS,
    MART_TABLES,
    MARTS,
    QUALITY_QUARANTINE,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VOTES,
)
from orchestration.catalog import ROW_COUNT
from orchestration.resources import TallyhouseDirs, Warehouse
from transforms.accepted import at_polling_units
from transforms.delta import NeedsFullBuild, add_stats
from transforms.model import Election
from transforms.projection.contest_delta import group_state, moved_groups, split_group_state
from transforms.projection.contests import (
    GROUP,
    CastVotes,
    Populations,
    project_groups,
    with_contest_id,
    with_districts,
)
from transforms.projection.estimator import (
    STATE,
    STATS_KEYS,
    Frame,
    counted_units,
    expected_tallies,
    project_from_stats,
    projection_stats,
    registry_sizes,
    registry_strata,
    sizes_of,
)
from transforms.staging import CONTEST_CARRIED
from warehouse.change import Change, read_change_long_votes
from warehouse.projection_inputs import (
    projection_columns,
    read_accepted_of_groups,
    read_accepted_of_source,
    read_capacity_max,
    read_capacity_max_of_groups,
    read_registry,
    read_units,
)
from warehouse.refresh_state import plan_follower, read_follower, write_followers
from warehouse.run_frames import RunFrames
from warehouse.tables import (
    accepted_of,
    accepted_tallies_of,
    read_contest_lines,
    read_long_votes,
    replace_tables,
)

# published with the marts the marts step writes
UPSTREAM = [STAGED_TALLIES, STAGED_VOTES, STAGED_UNITS, QUALITY_QUARANTINE]
MARTS_WRITTEN = [MART_RESULTS, *MART_TABLES.values()]
STATS, STRATA, EXPECTED = "projection_stats", "projection_strata", "projection_expected"
# a general election's, per contest and district (transforms.projection.contests)
CONTEST_STATS, CONTEST_LINES = "projection_contest_stats", "projection_contest_lines"


@dg.asset(
    key=MART_PROJECTION,
    deps=[*UPSTREAM, *MARTS_WRITTEN],
    group_name=MARTS,
    description="Per source and candidate: projected final votes and share of valid votes with "
    "95 % intervals (stratified by state), and worst-case bounds, while tallies are missing.",
)
def projection(
    context: dg.AssetExecutionContext,
    dirs: TallyhouseDirs,
    duckdb: Warehouse,
    frames: dg.ResourceParam[RunFrames],
) -> dg.MaterializeResult:
    election = dirs.election_config().election
    if election.is_general:  # per contest and district: a drop moves the groups it touches
        with duckdb.get_connection() as con:
            mart, plan = _general(con, election, frames)
        context.log.info(
            f"projection {plan.mode}: {plan.reason}; a general election, {mart.height:,} rows "
            f"over {mart['contest_id'].n_unique()} contest(s)"
        )
        return dg.MaterializeResult(
            metadata={ROW_COUNT: mart.height, "mode": plan.mode, "reason": plan.reason}
        )
    with duckdb.get_connection() as con:
        plan = plan_follower(con, STATS)
        if plan.incremental:
            change = frames.change(con, election.candidate_ids)
            stats, strata, expected = _moved_by_change(con, election, change)
        else:
            staged = frames.staged(con, election.candidate_ids)
            accepted = accepted_of(staged, projection_columns(election), election.higher_sources)
            stats, strata, expected = _from_everything(con, election, *accepted)
        frame = Frame(
            strata if strata.height else None,
            {k: v for k, v in expected.iter_rows() if k is not None},
            next((v for k, v in expected.iter_rows() if k is None), None),
            read_capacity_max(con) if not strata.height else {},
        )

        def unit_rates(source: str):
            """The rare fallback that needs single tallies: read the source's again."""
            tallies, votes = read_accepted_of_source(con, election, source)
            sizes = registry_sizes(read_registry(con, election), election)
            counted = counted_units(tallies, votes, election, sizes)
            own = counted.filter(pl.col(STATE).is_not_null())
            rates = own.select(pl.col(r"^y\d+$")).to_numpy().astype(float)
            return rates, own["_x"].to_numpy().astype(float)

        mart = with_contest_id(
            project_from_stats(stats, election, frame, unit_rates), election.default_contest.id
        )
        write_followers(con, {STATS: stats, STRATA: strata, EXPECTED: expected}, plan.stamp)
        replace_tables(con, "marts", {"projection": mart})  # the publish step adds it
    context.log.info(f"projection {plan.mode}: {plan.reason}")
    return dg.MaterializeResult(metadata={ROW_COUNT: mart.height, "mode": plan.mode})


def _general(con, election: Election, frames: RunFrames):
    """A general election's projection, contest by contest and district by district
    (transforms.projection.contests), from the statistics of each kept in the warehouse: a
    drop moves those of the groups it touches. The mart and the plan."""
    plans = [plan_follower(con, name) for name in (CONTEST_STATS, CONTEST_LINES)]
    plan = next((p for p in plans if not p.incremental), plans[0])
    registry = read_registry(con, election, every_level=True)
    populations = Populations(registry, read_units(con, election, every_level=True), election)
    if plan.incremental:
        try:
            stats, lines, whole = _general_moved(con, election, populations, frames.change(con, []))
            if whole:
                plan = plan.also(whole)
        except NeedsFullBuild as why:
            plan = plan.full_instead(f"full instead: {why}")
    if not plan.incremental:
        columns = [*projection_columns(election), *election.code_columns, *CONTEST_CARRIED]
        # a source above the polling units (a canvass) is reconciled, never projected
        staged = frames.staged(con, [])
        tallies = with_districts(accepted_tallies_of(staged, columns, election.higher_sources))
        cast = CastVotes.by_contest(tallies, lambda c: frames.cast_votes(con, c))
        stats, lines = split_group_state(tallies, cast, read_contest_lines(con), populations)
    write_followers(con, {CONTEST_STATS: stats, CONTEST_LINES: lines}, plan.stamp)
    capacity = functools.cache(lambda: read_capacity_max_of_groups(con))  # read if needed

    def tallies_of(key: tuple, source: str):
        """The rare fallback that needs single tallies: read the group's source's again."""
        wanted = pl.DataFrame([key], schema=dict.fromkeys(GROUP, pl.String), orient="row")
        return read_accepted_of_groups(con, wanted, source)

    mart = project_groups(
        stats, lines, populations, lambda key: capacity().get(key, {}), tallies_of
    )
    replace_tables(con, "marts", {"projection": mart})  # the publish step adds it
    return mart, plan


def _group_state(con, populations: Populations, tallies: pl.DataFrame):
    """The statistics and lines of every contest and district of these accepted tallies (some
    groups' tallies: their votes are read by tally)."""
    lines = read_contest_lines(con)
    return group_state(tallies, read_long_votes(con, tallies), lines, populations)


def _general_moved(con, election: Election, populations: Populations, change: Change):
    """The kept statistics and lines moved by the last change, group by group, and what the
    plan's reason adds (transforms.projection.contest_delta): a group the drop cannot move by
    its difference is computed again from all its tallies, read again here."""
    old_stats, old_lines = read_follower(con, CONTEST_STATS), read_follower(con, CONTEST_LINES)
    sides, long_votes = change.accepted_sides(), read_change_long_votes(con)
    higher = election.higher_sources
    moves = moved_groups(old_stats, old_lines, sides, long_votes, populations, higher)
    again = ()
    if moves.whole:
        # a source above the polling units (a canvass) is reconciled, never projected
        tallies = at_polling_units(read_accepted_of_groups(con, moves.again)[0], higher)
        again = _group_state(con, populations, tallies)
    return (*moves.merged(old_stats, old_lines, *again), moves.reason)


def _from_everything(con, election: Election, tallies: pl.DataFrame, votes: pl.DataFrame):
    registry = read_registry(con, election)
    sizes = registry_sizes(registry, election)
    stats = projection_stats(counted_units(tallies, votes, election, sizes), election)
    per_state, national = expected_tallies(registry, read_units(con, election), election)
    expected = pl.DataFrame(
        {STATE: [*per_state, None], "expected": [*per_state.values(), national]},
        schema={STATE: pl.String, "expected": pl.Int64},
    )
    strata = registry_strata(sizes)
    if strata is None:
        strata = pl.DataFrame(schema={STATE: pl.String, "units": pl.Int64, "size": pl.Int64})
    return stats, strata, expected


def _moved_by_change(con, election: Election, change: Change):
    """The kept statistics, less the replaced accepted tallies', plus the restaged ones'."""
    old = read_follower(con, STATS)
    strata, expected = read_follower(con, STRATA), read_follower(con, EXPECTED)
    sides = []
    for accepted, votes in zip(
        change.accepted_sides(), (change.before_votes, change.after_votes), strict=True
    ):
        accepted = at_polling_units(accepted, election.higher_sources)  # a canvass: never projected
        sizes = None
        if strata.height:
            codes = accepted["tally_code"].drop_nulls().unique().to_list()
            sizes = sizes_of(read_registry(con, election, codes), election)
        sides.append(projection_stats(counted_units(accepted, votes, election, sizes), election))
    return add_stats(old, *sides, STATS_KEYS), strata, expected
