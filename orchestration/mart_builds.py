"""Building the marts from the staged tallies, or updating the published ones by the last
change: what the marts asset runs (orchestration/assets/marts.py).
"""

import polars as pl

from expectations.rules import RULES
from orchestration.assets.keys import MART_TABLES
from orchestration.resources import Warehouse
from transforms import refresh
from transforms.delta import (
    KEYS,
    UNIT,
    Side,
    mart_deltas,
    updated_coverage,
    updated_quality_summary,
    updated_results,
    updated_turnout,
)
from transforms.history import amendments
from transforms.model import NATIONAL, Election
from transforms.quality_marts import quality_issues, quality_summary
from transforms.rollup import RESULT_COLUMNS, build_marts, results_long
from transforms.verification import announced_vs_tallied, reconcile, reconciliation_summary
from warehouse.db import table_exists, transaction
from warehouse.mart_updates import (
    copy_published,
    open_pending,
    published_stamp,
    put_back,
    read_national,
    take_touched,
    votes_wide_of,
)
from warehouse.publish import write_pending
from warehouse.raw_load import feed_sources
from warehouse.refresh_state import staged_and_gate
from warehouse.run_frames import RunFrames
from warehouse.tables import read_table, units_of, versions_of

CHANGED = ["delivery_seq", "source_row"]
RULE_IDS = [r.id for r in RULES]
RULE_TEXT = pl.DataFrame(
    {"rule_id": [r.id for r in RULES], "description": [r.description for r in RULES]}
)


def plan_marts(con, target) -> tuple[str, str]:
    """(mode, reason): update the published marts by the last change when the gate applied it
    incrementally, the published file's stamp is the previous generation, and the change can be
    applied as a difference (one source); rebuild them otherwise (transforms.refresh.plan)."""
    staged, gate = staged_and_gate(con)
    several = len(feed_sources(con)) > 1
    decided = refresh.plan(
        "the published marts",
        refresh.Stamp.parse(published_stamp(target)),
        gate if staged else None,
        current=staged,
        full_because=[several and "several sources: reconciliation compares them tally by tally"],
        incremental_because="applying the last drop to the published marts",
    )
    return decided.mode, decided.reason


def build_all(duckdb: Warehouse, frames: RunFrames, config, target) -> dict[str, int]:
    election = config.election
    with duckdb.get_connection() as con:
        tallies, votes, quarantine = frames.staged(con, election.candidate_ids)
        units = read_table(con, "staged", "units")
        versions = read_table(con, "staged", "tally_versions")
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
        "quality_summary": quality_summary(tallies, issues, units, RULE_IDS, election),
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
    write_pending(target, built.results_wide, frames, election)
    counts = {table: frame.height for table, frame in frames.items()}
    return {"results": built.results_wide.height * len(election.candidates), **counts}


def apply_change(duckdb: Warehouse, frames: RunFrames, config, target) -> dict[str, int]:
    """Apply the last change (replaced and restaged tallies) to a copy of the published marts."""
    election = config.election
    candidates = election.candidate_ids
    with duckdb.get_connection() as con:
        change = frames.change(con, candidates)
        deliveries = read_table(con, "raw", "deliveries")
        removed, added = change.before_tallies, change.after_tallies
        changed_units = pl.concat([removed.select(UNIT), added.select(UNIT)]).unique()
        versions = versions_of(con, changed_units)
        wanted = config.announced and table_exists(con, "raw", "registry")
        registry = read_table(con, "raw", "registry") if wanted else None
        accepted = (
            con.sql(
                "select source_id, tally_code from staged.tallies "
                "where tally_id not in (select tally_id from quality.quarantine)"
            ).pl()
            if wanted
            else None
        )
    before = Side(removed, change.before_votes, change.before_accepted, change.before_issues)
    after = Side(added, change.after_votes, change.after_accepted, change.after_issues)
    deltas = mart_deltas(before, after, RULE_IDS, election)
    touched = deltas.touched()
    with duckdb.get_connection() as con:
        units = units_of(con, touched)
    names = units.select("level", "unit_code", "unit_name")
    copy_published(target)
    with open_pending(target) as con, transaction(con):
        old = take_touched(con, touched)
        coverage = updated_coverage(old["coverage"], deltas, units)
        counted = coverage.select(*KEYS, "counted")
        results = updated_results(
            votes_wide_of(old["results"], election), deltas, counted, names, election
        )
        new_rows = {
            "results": results_long(results, election),
            "turnout": updated_turnout(old["turnout"], deltas, counted, names),
            "coverage": coverage,
            "quality_summary": updated_quality_summary(old["quality_summary"], deltas, names),
        }
        others = {}
        if config.announced:
            national = read_national(con)
            for table in ("results", "coverage", "turnout"):
                fresh = new_rows[table].filter(level=NATIONAL)
                national[table] = fresh if fresh.height else national[table]
            others["announced_vs_tallied"] = announced_vs_tallied(
                config.announced,
                national["results"].select(RESULT_COLUMNS),
                national["coverage"],
                national["turnout"].select("source_id", "total_votes"),
                election,
                _uncounted_registered(registry, accepted, election),
            )
        put_back(
            con,
            new_rows,
            pl.concat([removed.select(CHANGED), added.select(CHANGED)]),
            quality_issues(change.after_issues, added, deliveries, RULE_TEXT, election),
            changed_units,
            amendments(versions, deliveries),
            others,
        )
    return {"results": new_rows["results"].height} | {
        table: new_rows.get(table, others.get(table, pl.DataFrame())).height
        for table in MART_TABLES
    }


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
