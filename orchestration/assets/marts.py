"""Staged + quality → marts: polars rollups of the accepted tallies, and the quality marts.

The marts are written once, into the pending copy that the publish step swaps in: built whole
from the staged tallies, or the published ones updated by the last change
(orchestration/mart_builds.py).
"""

import dagster as dg

from orchestration.assets.keys import (
    MART_AMENDMENTS,
    MART_ANNOUNCED,
    MART_COVERAGE,
    MART_QUALITY_ISSUES,
    MART_QUALITY_SUMMARY,
    MART_RECONCILIATION,
    MART_RECONCILIATION_SUMMARY,
    MART_RESULTS,
    MART_TABLES,
    MART_TURNOUT,
    MARTS,
    QUALITY_ISSUES,
    QUALITY_QUARANTINE,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VERSIONS,
    STAGED_VOTES,
)
from orchestration.mart_builds import apply_change, build_all, plan_marts
from orchestration.resources import TallyhouseDirs, Warehouse
from transforms.delta import (
    NeedsFullBuild,
)
from transforms.refresh import (
    FULL,
    INCREMENTAL,
)
from warehouse.run_frames import RunFrames

UPSTREAM = [
    STAGED_TALLIES,
    STAGED_VOTES,
    STAGED_UNITS,
    STAGED_VERSIONS,
    QUALITY_QUARANTINE,
    QUALITY_ISSUES,
]


def _spec(key: dg.AssetKey, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(key, deps=UPSTREAM, group_name=MARTS, description=description)


@dg.multi_asset(
    specs=[
        _spec(
            MART_RESULTS,
            "Votes, share of valid votes and rank per candidate, per unit at "
            "every level, from accepted tallies only.",
        ),
        _spec(MART_TURNOUT, "Registered, valid, null, blank, total and turnout per unit."),
        _spec(MART_COVERAGE, "Expected, received and counted (accepted) tallies per unit."),
        _spec(
            MART_QUALITY_SUMMARY,
            "Per source and unit: tallies received, accepted, "
            "quarantined and flagged, and by rule.",
        ),
        _spec(
            MART_RECONCILIATION,
            "Per pair of sources and tally unit: agree, differ (per-candidate deltas) or only "
            "in one source.",
        ),
        _spec(
            MART_RECONCILIATION_SUMMARY,
            "Per pair of sources and unit at every level: tally units agreeing, differing or "
            "in one source only.",
        ),
        _spec(
            MART_ANNOUNCED,
            "Announced totals against the tallies: differences, share counted, and the votes "
            "the uncounted tallies would need.",
        ),
        _spec(
            MART_AMENDMENTS,
            "Every version no longer current: which delivery superseded it, or withdrew it.",
        ),
        _spec(
            MART_QUALITY_ISSUES,
            "One row per quarantined or flagged tally and rule, with "
            "geography, source file and row.",
        ),
    ],
)
def marts(
    context: dg.AssetExecutionContext,
    dirs: TallyhouseDirs,
    duckdb: Warehouse,
    frames: dg.ResourceParam[RunFrames],
):
    config = dirs.election_config()
    target = dirs.settings.published
    with duckdb.get_connection() as con:
        mode, reason = plan_marts(con, target)
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
    yield dg.MaterializeResult(
        asset_key=MART_RESULTS, metadata={counted: rows["results"], "mode": mode}
    )
    for table, key in MART_TABLES.items():
        yield dg.MaterializeResult(asset_key=key, metadata={counted: rows[table], "mode": mode})
