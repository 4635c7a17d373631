"""Staged + quality → marts: polars rollups of the accepted tallies, and the quality marts.

The marts are written once, into the pending copy that the publish step swaps in.
"""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from expectations.rules import RULES
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
from orchestration.resources import TallyhouseDirs
from transforms.history import amendments
from transforms.model import NATIONAL, Election
from transforms.quality_marts import quality_issues, quality_summary
from transforms.rollup import build_marts, results_long
from transforms.verification import announced_vs_tallied, reconcile, reconciliation_summary
from warehouse.db import table_exists
from warehouse.publish import write_pending
from warehouse.tables import read_table, read_votes_wide

UPSTREAM = [
    STAGED_TALLIES,
    STAGED_VOTES,
    STAGED_UNITS,
    STAGED_VERSIONS,
    QUALITY_QUARANTINE,
    QUALITY_ISSUES,
]
RULE_TEXT = pl.DataFrame(
    {"rule_id": [r.id for r in RULES], "description": [r.description for r in RULES]}
)


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
def marts(context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: DuckDBResource):
    config = dirs.election_config()
    election = config.election
    with duckdb.get_connection() as con:
        tallies = read_table(con, "staged", "tallies")
        votes = read_votes_wide(con, election.candidate_ids)
        units = read_table(con, "staged", "units")
        versions = read_table(con, "staged", "tally_versions")
        quarantine = read_table(con, "quality", "quarantine")
        issues = read_table(con, "quality", "issues")
        deliveries = read_table(con, "raw", "deliveries")
        # the registry only bounds announced totals: read it only when there are some
        wanted = config.announced and table_exists(con, "raw", "registry")
        registry = read_table(con, "raw", "registry") if wanted else None
    accepted = tallies.join(quarantine.select("tally_id"), on="tally_id", how="anti")
    built = build_marts(accepted, votes, units, election, received=tallies)
    frames = {
        "turnout": built.turnout,
        "coverage": built.coverage,
        "quality_summary": quality_summary(tallies, issues, units, [r.id for r in RULES], election),
        "quality_issues": quality_issues(issues, tallies, deliveries, RULE_TEXT, election),
    }
    national = results_long(built.results_wide.filter(level=NATIONAL), election)
    reconciled = reconcile(accepted, votes, election)
    frames["reconciliation"] = reconciled
    frames["reconciliation_summary"] = reconciliation_summary(reconciled, units, election)
    frames["announced_vs_tallied"] = announced_vs_tallied(
        config.announced,
        national,
        built.coverage.filter(level=NATIONAL),
        built.turnout.filter(level=NATIONAL).select("source_id", "total_votes"),
        election,
        _uncounted_registered(registry, accepted, election),
    )
    frames["amendments"] = amendments(versions, deliveries)
    pending = write_pending(dirs.settings.published, built.results_wide, frames, election)
    result_rows = built.results_wide.height * len(election.candidates)
    context.log.info(
        f"built marts from {accepted.height:,} accepted tallies: {result_rows:,} result rows, "
        f"waiting to be published in {pending.name}"
    )
    yield dg.MaterializeResult(asset_key=MART_RESULTS, metadata={"rows": result_rows})
    for table, frame in frames.items():
        yield dg.MaterializeResult(asset_key=MART_TABLES[table], metadata={"rows": frame.height})


def _uncounted_registered(
    registry: pl.DataFrame | None, accepted: pl.DataFrame, election: Election
) -> dict[str, int]:
    """Per source: registered voters of the registry's units with no accepted tally."""
    if registry is None:
        return {}
    code = election.code_column(election.tally_level)
    units = registry.select(
        pl.col(code).alias("tally_code"), pl.col("registered").cast(pl.Int64, strict=False)
    )
    found = {}
    for source in accepted["source_id"].unique().to_list():
        counted = accepted.filter(source_id=source).select("tally_code")
        found[source] = int(units.join(counted, on="tally_code", how="anti")["registered"].sum())
    return found
