"""Staged + quality → marts: polars rollups of the accepted tallies, and the quality marts.

The marts are written once, into the pending copy that the publish step swaps in: built whole
from the staged tallies, or the published ones updated by the last change
(orchestration/mart_builds.py).
"""

import dagster as dg

from orchestration.assets.keys import (
    MART_KEYS,
    MARTS,
    QUALITY_ISSUES,
    QUALITY_QUARANTINE,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VERSIONS,
    STAGED_VOTES,
)
from orchestration.catalog import row_count_metadata
from orchestration.mart_builds import apply_change, build_all, plan_marts
from orchestration.resources import TallyhouseDirs, Warehouse
from transforms.delta import NeedsFullBuild
from transforms.refresh import FULL, INCREMENTAL
from warehouse.db import file_row_counts
from warehouse.mart_registry import Mart, Step, built_by
from warehouse.publish import pending_path
from warehouse.run_frames import RunFrames

UPSTREAM = [
    STAGED_TALLIES,
    STAGED_VOTES,
    STAGED_UNITS,
    STAGED_VERSIONS,
    QUALITY_QUARANTINE,
    QUALITY_ISSUES,
]


def _spec(mart: Mart) -> dg.AssetSpec:
    return dg.AssetSpec(
        MART_KEYS[mart.name], deps=UPSTREAM, group_name=MARTS, description=mart.comment
    )


@dg.multi_asset(specs=[_spec(mart) for mart in built_by(Step.MARTS)])
def marts(
    context: dg.AssetExecutionContext,
    dirs: TallyhouseDirs,
    duckdb: Warehouse,
    frames: dg.ResourceParam[RunFrames],
):
    config = dirs.election_config()
    target = dirs.settings.published
    with duckdb.get_connection() as con:
        mode, reason = plan_marts(con, target, config.election.is_general, bool(config.announced))
    if mode == INCREMENTAL:
        try:
            rows = apply_change(duckdb, frames, config, target)
        except NeedsFullBuild as why:
            mode, reason = FULL, f"full build instead: {why}"
    context.log.info(f"marts {mode}: {reason}")
    if mode != INCREMENTAL:
        rows = build_all(duckdb, frames, config, target)
    # a full build counts each mart's rows; an update, the rows it rewrote
    counted = "rows" if mode == FULL else "rows_rewritten"
    context.log.info(
        f"marts ready to publish ({mode}), {counted.replace('_', ' ')}: "
        + ", ".join(f"{table} {count:,}" for table, count in rows.items())
    )
    names = [mart.name for mart in built_by(Step.MARTS)]
    in_file = file_row_counts(pending_path(target), "main", names)
    for name in names:
        yield dg.MaterializeResult(
            asset_key=MART_KEYS[name],
            metadata=row_count_metadata(
                in_file[name], {counted: rows[name], "mode": mode, "reason": reason}
            ),
        )
