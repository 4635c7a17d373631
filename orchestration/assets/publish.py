"""Marts → the published copy analysts read."""

import dagster as dg

from orchestration.assets.keys import ALL_MARTS, PUBLISHED, PUBLISHED_MARTS
from orchestration.resources import TallyhouseDirs
from warehouse.publish import publish_pending


@dg.asset(
    key=PUBLISHED_MARTS,
    deps=list(ALL_MARTS),
    group_name=PUBLISHED,
    description="A separate DuckDB file holding the marts, replaced atomically per run.",
)
def published_marts(
    context: dg.AssetExecutionContext, dirs: TallyhouseDirs
) -> dg.MaterializeResult:
    target = dirs.settings.published
    tables = publish_pending(target, context.run.run_id)
    context.log.info(f"published {len(tables)} marts to {target}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(target)), "tables": ", ".join(tables)}
    )
