"""Raw → staged: canonical tallies, long-form votes and the units of the registry."""

from dataclasses import dataclass

import dagster as dg
import polars as pl

from landing.files import FileRejected, names_digest, read_unit_names
from orchestration.assets.keys import (
    RAW_DELIVERIES,
    STAGED,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VERSIONS,
    STAGED_VOTES,
)
from orchestration.catalog import row_count_metadata
from orchestration.resources import TallyhouseDirs, Warehouse
from orchestration.sensors import FULL_TAG
from transforms.contests import (
    Known,
    NewContestLines,
    stage_ballots,
    stage_general,
)
from transforms.model import Election
from transforms.refresh import Plan
from transforms.rollup import units_from_registry, units_from_tallies
from transforms.staging import affected_units, stage, without_unit_code
from warehouse.db import row_counts, table_exists
from warehouse.general_spread import spread_raw
from warehouse.raw_load import empty_raw, feed_sources, read_raw_feed
from warehouse.raw_lookup import read_new_rows, read_registry_rows, read_unit_rows
from warehouse.refresh_state import plan_staging, record_names_digest
from warehouse.staged_merge import current_tallies_of, merge_staged, record_full_staging
from warehouse.staged_write import replace_general_staged, replace_staged
from warehouse.tables import read_table
from warehouse.withdrawals import read_deliveries, withdrawals_digest


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            STAGED_TALLIES,
            deps=[RAW_DELIVERIES],
            group_name=STAGED,
            description="One canonical tally per source and unit: codes at every level, "
            "counts, provenance (file sha256, row).",
        ),
        dg.AssetSpec(
            STAGED_VOTES,
            deps=[RAW_DELIVERIES],
            group_name=STAGED,
            description="Per-candidate votes of each staged tally, long form.",
        ),
        dg.AssetSpec(
            STAGED_VERSIONS,
            deps=[RAW_DELIVERIES],
            group_name=STAGED,
            description="Every version of every unit from every delivery: current, superseded "
            "(by which delivery) or withdrawn.",
        ),
        dg.AssetSpec(
            STAGED_UNITS,
            deps=[RAW_DELIVERIES],
            group_name=STAGED,
            description="Every unit of the registry at every level, with its name, "
            "parent and number of expected tallies.",
        ),
    ],
)
def staged_tallies(context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: Warehouse):
    election = dirs.election_config().election
    landing = dirs.settings.landing
    try:
        names = read_unit_names(landing, election)
    except FileRejected as error:
        raise dg.Failure(description=f"unit names file refused: {error}") from None
    with duckdb.get_connection() as con:  # names files and withdrawals: either restages all
        digest = names_digest(landing, election) + withdrawals_digest(con)
    with duckdb.get_connection() as con:
        full = context.run.tags.get(FULL_TAG) == "true"
        # a source above the polling units: staged whole too, so that a drop of the precinct
        # sheets never meets the ward or city-wide tallies half restaged (incremental = full)
        full = full or bool(election.higher_sources)
        plan = plan_staging(con, full, digest)
        if plan.incremental and election.is_general and not table_exists(con, *COUNTS):
            plan = plan.full_instead("the contests' ballots per district are not kept yet")
    counts = _stage_drop(duckdb, plan, election, names) if plan.incremental else None
    if counts is None and plan.incremental:
        plan = plan.full_instead("full instead: the drop brings new contest lines")
    context.log.info(f"staging {plan.mode} (generation {plan.generation}): {plan.reason}")
    if counts is None:
        counts = _stage_everything(duckdb, plan, election, names)
    with duckdb.get_connection() as con:
        record_names_digest(con, digest)
        in_tables = row_counts(con, "staged", ["tallies", "tally_votes", "units", "tally_versions"])
    context.log.info(
        f"staged {counts['tallies']:,} tallies from {counts['raw_rows']:,} raw rows ({plan.mode})"
    )
    meta = {"mode": plan.mode, "generation": plan.generation}
    for key in (STAGED_TALLIES, STAGED_VOTES, STAGED_UNITS, STAGED_VERSIONS):
        extra = {**counts, **meta, "reason": plan.reason} if key == STAGED_TALLIES else meta
        yield dg.MaterializeResult(
            asset_key=key, metadata=row_count_metadata(in_tables[key.path[-1]], extra)
        )


def _stage_everything(duckdb: Warehouse, plan: Plan, election: Election, names: dict) -> dict:
    with duckdb.get_connection() as con:
        deliveries = read_deliveries(con)
        raw, spread = (
            (None, spread_raw(con, election)) if election.is_general else (_raw(con), None)
        )
        registry = (
            read_table(con, "raw", "registry").drop("file_sha256", "source_row")
            if table_exists(con, "raw", "registry")
            else None
        )
    if raw is None and spread is None:
        raise dg.Failure(
            description="The feeds delivered so far hold no tally rows (header-only files?)."
        )
    general = stage_ballots(spread[0], deliveries, election, registry) if spread else None
    staged = None if general else stage(raw, deliveries, election, registry)
    tallies = general.tallies if general else staged.tallies
    units = (
        units_from_registry(registry, election)
        if registry is not None
        else units_from_tallies(tallies, election, names)
    )
    others = {"units": units}
    if general:
        others |= {
            "contests": general.contests,
            "contest_lines": general.lines,
            POSITIONS[1]: general.positions,
            COUNTS[1]: general.counts,
        }
    with duckdb.get_connection() as con:
        if general:
            replace_general_staged(con, "staged", general, others)
        else:
            replace_staged(con, "staged", staged, others)
        record_full_staging(con, plan, election.code_column(election.tally_level))
    return {"tallies": tallies.height, "raw_rows": spread[1] if spread else raw.height}


def _raw(con) -> pl.DataFrame | None:
    """Every raw feed row (a wide feed: a row a tally); None when there is none."""
    filled = [f for f in (read_raw_feed(con, s) for s in feed_sources(con)) if f.height]
    return pl.concat(filled, how="vertical") if filled else None


@dataclass(frozen=True)
class Drop:
    """What a drop restages: the units it touches (source_id, tally_code), their raw rows from
    every delivery (and the drop's rows without a unit code), their registry rows and current
    tallies, and, without a registry, every other staged tally (the units table is built from
    the tallies then)."""

    units: pl.DataFrame
    raw: pl.DataFrame
    deliveries: pl.DataFrame
    registry: pl.DataFrame | None
    removed: pl.DataFrame
    removed_votes: pl.DataFrame
    others: pl.DataFrame | None


def _stage_drop(duckdb: Warehouse, plan: Plan, election: Election, names: dict) -> dict | None:
    """Restage only the units the new deliveries touch, from their rows in every delivery (all
    contests of a general election's units, against the contests' lines kept by the last full
    staging). None: a general election's drop brings new contest lines (stage everything)."""
    with duckdb.get_connection() as con:
        drop = _read_drop(con, plan, election)
        known = _known(con) if election.is_general else None
    if known is None:
        staged = stage(drop.raw, drop.deliveries, election, drop.registry)
    else:
        try:
            general = stage_general(drop.raw, drop.deliveries, election, drop.registry, known)
        except NewContestLines:
            return None
        staged = general.staged
    unit_table = (
        None
        if drop.others is None
        # in tally_id order, as the full path has them: names and parents are the first found
        else units_from_tallies(
            pl.concat([drop.others, staged.tallies], how="diagonal_relaxed").sort("tally_id"),
            election,
            names,
        )
    )
    with duckdb.get_connection() as con:
        merge_staged(
            con,
            plan,
            drop.units,
            drop.removed,
            drop.removed_votes,
            staged.tallies,
            staged.votes,
            staged.versions,
            unit_table,
            drop.registry,
        )
    return {"tallies": staged.tallies.height, "raw_rows": drop.raw.height}


# a general election's ballot positions and count rows per contest and district, kept for the
# drops (transforms.contests.Known; a warehouse staged before them lacks them: staged whole)
POSITIONS = ("staged", "ballot_positions")
COUNTS = ("staged", "ballot_counts")


def _known(con) -> Known:
    """What a drop of a general election is staged against (transforms.contests.Known)."""
    return Known(
        lines=read_table(con, "staged", "contest_lines"),
        contests=read_table(con, "staged", "contests"),
        positions=read_table(con, *POSITIONS),
        counts=read_table(con, *COUNTS),
    )


def _read_drop(con, plan: Plan, election: Election) -> Drop:
    code = election.code_column(election.tally_level)
    deliveries = read_deliveries(con)
    new_rows = read_new_rows(con, plan.new_deliveries)
    units = (
        affected_units(new_rows, deliveries, election)
        if new_rows is not None
        else pl.DataFrame(schema={"source_id": pl.String, "tally_code": pl.String})
    )
    parts = [
        read_unit_rows(con, source, code, units.filter(source_id=source)["tally_code"].to_list())
        for source in units["source_id"].unique().sort().to_list()
    ]
    if new_rows is not None:
        parts.append(without_unit_code(new_rows, election))
    filled = [p for p in parts if p.height]
    raw = pl.concat(filled, how="vertical") if filled else empty_raw(election)
    registry = read_registry_rows(con, code, units["tally_code"].unique().to_list())
    removed, removed_votes = current_tallies_of(con, units)
    others = (
        None
        if table_exists(con, "raw", "registry")
        else con.sql("select * from staged.tallies").pl().join(removed, on="tally_id", how="anti")
    )
    return Drop(units, raw, deliveries, registry, removed, removed_votes, others)
