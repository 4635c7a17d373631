"""Accepted tallies → marts.projection: projected final votes and shares with 95 % intervals.

Built after the marts step into the warehouse (marts.projection); the publish step adds it to the
pending marts file, so it is published with them. The estimate stands on integer sums per source
and state (transforms.projection.estimator.projection_stats), kept in the warehouse between
runs: a drop moves them by its difference, so an election-night run reads only the drop's
tallies and still gets the numbers a computation afresh would.
"""

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
from transforms.accepted import accepted as accepted_tallies
from transforms.delta import add_stats
from transforms.model import Election
from transforms.projection.contests import project_contests, with_contest_id
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
from warehouse.change import Change
from warehouse.projection_inputs import (
    projection_columns,
    read_accepted_of_source,
    read_capacity_max,
    read_registry,
    read_units,
)
from warehouse.refresh_state import plan_follower, read_follower, write_followers
from warehouse.run_frames import RunFrames
from warehouse.tables import accepted_of, read_contest_inputs, replace_tables

# published with the marts the marts step writes
UPSTREAM = [STAGED_TALLIES, STAGED_VOTES, STAGED_UNITS, QUALITY_QUARANTINE]
MARTS_WRITTEN = [MART_RESULTS, *MART_TABLES.values()]
STATS, STRATA, EXPECTED = "projection_stats", "projection_strata", "projection_expected"


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
    if election.is_general:  # per contest, from every accepted tally on every run
        with duckdb.get_connection() as con:
            mart = _general(con, election, frames)
            replace_tables(con, "marts", {"projection": mart})
        context.log.info(
            f"projection full: a general election, {mart.height:,} rows over "
            f"{mart['contest_id'].n_unique()} contest(s)"
        )
        return dg.MaterializeResult(metadata={ROW_COUNT: mart.height, "mode": "full"})
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


def _general(con, election: Election, frames: RunFrames) -> pl.DataFrame:
    """A general election's projection, contest by contest (transforms.projection.contests)."""
    tallies, _, quarantine = frames.staged(con, [])
    columns = [*projection_columns(election), *election.code_columns, *CONTEST_CARRIED]
    accepted = accepted_tallies(tallies, quarantine).select(list(dict.fromkeys(columns)))
    votes, lines, units = read_contest_inputs(con, accepted)
    registry = read_registry(con, election, every_level=True)
    return project_contests(accepted, votes, lines, election, registry, units)


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
    for tallies, votes, accepted in (
        (change.before_tallies, change.before_votes, change.before_accepted),
        (change.after_tallies, change.after_votes, change.after_accepted),
    ):
        accepted = tallies.join(accepted, on="tally_id", how="semi")
        sizes = None
        if strata.height:
            codes = accepted["tally_code"].drop_nulls().unique().to_list()
            sizes = sizes_of(read_registry(con, election, codes), election)
        sides.append(projection_stats(counted_units(accepted, votes, election, sizes), election))
    return add_stats(old, *sides, STATS_KEYS), strata, expected
