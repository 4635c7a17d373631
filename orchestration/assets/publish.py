"""Marts → the published copy analysts read.

A run that changed nothing the published file shows (nothing loaded, nothing withdrawn, no
configuration change: warehouse/published_state.py decides from the refresh stamps) publishes
nothing: the file, its history and its publication stamp stay as they are, and the asset is not
materialized. A full run and a first run always publish.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.assets.keys import ALL_MARTS, PUBLISHED, PUBLISHED_MARTS
from orchestration.resources import TallyhouseDirs, Warehouse
from orchestration.sensors import FULL_TAG
from warehouse.db import transaction
from warehouse.mart_registry import built_into_warehouse
from warehouse.mart_updates import published_stamp
from warehouse.publish import Publication, discard_pending, publish
from warehouse.published_state import (
    PublishedInputs,
    election_digest,
    keep_unchanged,
    last_delivery,
    unchanged_since_published,
)
from warehouse.refresh_state import read_stamp
from warehouse.tables import read_table

NOTHING_NEW = "nothing new: the published file is unchanged"


@dg.asset(
    key=PUBLISHED_MARTS,
    deps=list(ALL_MARTS),
    group_name=PUBLISHED,
    output_required=False,  # not materialized by a run that changed nothing
    description="A separate DuckDB file holding the marts, replaced atomically per run that "
    "changed something.",
)
def published_marts(context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: Warehouse):
    target = dirs.settings.published
    config = dirs.election_config()
    digest = election_digest(config.folder)
    full = context.run.tags.get(FULL_TAG) == "true"
    with duckdb.get_connection() as con:
        if not full and unchanged_since_published(con, digest, lambda: published_stamp(target)):
            with transaction(con):
                keep_unchanged(con)
            discard_pending(target)
            context.log.info(NOTHING_NEW)
            return
        publication = _publication(con, context.run.run_id)
        inputs = PublishedInputs(
            publication.staged_generation or "",
            publication.staged_generation or "",
            last_delivery(con),
            digest,
        )
        added = {m.name: read_table(con, "marts", m.name) for m in built_into_warehouse()}
        tables = publish(con, target, publication, added, config.election, inputs)
    context.log.info(f"published {len(tables)} marts to {target}")
    yield dg.MaterializeResult(
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
