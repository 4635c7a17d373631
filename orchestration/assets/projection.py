"""Accepted tallies → marts.projection: projected final votes and shares with 95 % intervals.

Written into the pending marts file after the marts step, so it is published with them.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

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
from orchestration.resources import TallyhouseDirs
from transforms.projection import project
from warehouse.db import table_exists
from warehouse.publish import add_to_pending
from warehouse.tables import read_table, read_votes_wide

# the marts step writes the pending file this one adds to
UPSTREAM = [STAGED_TALLIES, STAGED_VOTES, STAGED_UNITS, QUALITY_QUARANTINE]
MARTS_WRITTEN = [MART_RESULTS, *MART_TABLES.values()]


@dg.asset(
    key=MART_PROJECTION,
    deps=[*UPSTREAM, *MARTS_WRITTEN],
    group_name=MARTS,
    description="Per source and candidate: projected final votes and share of valid votes with "
    "95 % intervals (stratified by state), and worst-case bounds, while tallies are missing.",
)
def projection(
    context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    election = dirs.election_config().election
    with duckdb.get_connection() as con:
        tallies = read_table(con, "staged", "tallies")
        votes = read_votes_wide(con, election.candidate_ids)
        units = read_table(con, "staged", "units")
        quarantine = read_table(con, "quality", "quarantine")
        registry = (
            read_table(con, "raw", "registry") if table_exists(con, "raw", "registry") else None
        )
    accepted = tallies.join(quarantine.select("tally_id"), on="tally_id", how="anti")
    frame = project(accepted, votes, election, registry=registry, units=units)
    add_to_pending(dirs.settings.published, {"projection": frame})
    context.log.info(f"projected final results: {frame.height} rows")
    return dg.MaterializeResult(metadata={"rows": frame.height})
