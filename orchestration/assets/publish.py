"""Marts → the published copy analysts read."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from orchestration.assets.keys import ADDED_TABLES, ALL_MARTS, PUBLISHED, PUBLISHED_MARTS
from orchestration.resources import TallyhouseDirs
from transforms.history import results_snapshot
from warehouse.history_store import publish_with_history
from warehouse.refresh_state import read_stamp as read_state
from warehouse.tables import read_table


@dg.asset(
    key=PUBLISHED_MARTS,
    deps=list(ALL_MARTS),
    group_name=PUBLISHED,
    description="A separate DuckDB file holding the marts, replaced atomically per run.",
)
def published_marts(
    context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    target = dirs.settings.published
    election = dirs.election_config().election
    run_id = context.run.run_id
    published_at = datetime.now(UTC).replace(tzinfo=None)
    with duckdb.get_connection() as con:
        deliveries, last_file = con.execute(
            "select count(*), arg_max(file_name, delivery_seq) from raw.deliveries "
            "where kind = 'feed'"
        ).fetchall()[0]

        def snapshot(marts: dict) -> pl.DataFrame:
            return results_snapshot(
                marts["results"],
                marts["turnout"],
                marts["coverage"],
                election,
                run_id,
                published_at,
                deliveries,
                last_file,
            )

        state = read_state(con, "staged")
        generation = state.stamp if state else None
        more = {table: read_table(con, "marts", table) for table in ADDED_TABLES}
        tables = publish_with_history(
            con, target, run_id, election.levels[0], snapshot, generation, more
        )
    context.log.info(f"published {len(tables)} marts to {target}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(target)), "tables": ", ".join(tables)}
    )
