"""Marts → the published copy analysts read."""

from datetime import UTC, datetime

import dagster as dg

from orchestration.assets.keys import ALL_MARTS, PUBLISHED, PUBLISHED_MARTS
from orchestration.resources import TallyhouseDirs, Warehouse
from warehouse.mart_registry import built_into_warehouse
from warehouse.publish import Publication, publish
from warehouse.refresh_state import read_stamp
from warehouse.tables import read_table


@dg.asset(
    key=PUBLISHED_MARTS,
    deps=list(ALL_MARTS),
    group_name=PUBLISHED,
    description="A separate DuckDB file holding the marts, replaced atomically per run.",
)
def published_marts(
    context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: Warehouse
) -> dg.MaterializeResult:
    target = dirs.settings.published
    election = dirs.election_config().election
    with duckdb.get_connection() as con:
        publication = _publication(con, context.run.run_id)
        added = {m.name: read_table(con, "marts", m.name) for m in built_into_warehouse()}
        tables = publish(con, target, publication, added, election)
    context.log.info(f"published {len(tables)} marts to {target}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(target)), "tables": ", ".join(tables)}
    )


def _publication(con, run_id: str) -> Publication:
    deliveries, last_file = con.execute(
        "select count(*), arg_max(file_name, delivery_seq) from raw.deliveries where kind = 'feed'"
    ).fetchall()[0]
    state = read_stamp(con, "staged")
    return Publication(
        run_id=run_id,
        published_at=datetime.now(UTC).replace(tzinfo=None),
        staged_generation=state.stamp if state else None,
        deliveries=deliveries,
        last_file=last_file,
    )
