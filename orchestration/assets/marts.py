"""Staged → marts: polars rollups from the tally's unit up to national."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.assets.keys import (
    MART_COVERAGE,
    MART_RESULTS,
    MART_TURNOUT,
    MARTS,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VOTES,
)
from orchestration.resources import TallyhouseDirs
from transforms.rollup import build_marts
from warehouse.landing import read_election
from warehouse.tables import read_table, replace_tables

STAGED = [STAGED_TALLIES, STAGED_VOTES, STAGED_UNITS]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MART_RESULTS,
            deps=STAGED,
            group_name=MARTS,
            description="Votes, share of valid votes and rank per candidate, "
            "per unit at every level.",
        ),
        dg.AssetSpec(
            MART_TURNOUT,
            deps=STAGED,
            group_name=MARTS,
            description="Registered, valid, null, blank, total and turnout per unit.",
        ),
        dg.AssetSpec(
            MART_COVERAGE,
            deps=STAGED,
            group_name=MARTS,
            description="Expected, received and counted tallies per unit.",
        ),
    ],
)
def marts(context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: DuckDBResource):
    election = read_election(dirs.settings.landing)
    with duckdb.get_connection() as con:
        tallies = read_table(con, "staged", "tallies")
        votes = read_table(con, "staged", "tally_votes")
        units = read_table(con, "staged", "units")
    built = build_marts(tallies, votes, units, election)
    with duckdb.get_connection() as con:
        replace_tables(
            con,
            "marts",
            {
                "results": built.results,
                "turnout": built.turnout,
                "coverage": built.coverage,
            },
        )
    context.log.info(f"built marts: {built.results.height:,} result rows")
    for key, frame in (
        (MART_RESULTS, built.results),
        (MART_TURNOUT, built.turnout),
        (MART_COVERAGE, built.coverage),
    ):
        yield dg.MaterializeResult(asset_key=key, metadata={"rows": frame.height})
