"""Raw → staged: canonical tallies, long-form votes and the units of the registry."""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from orchestration.assets.keys import (
    RAW_DELIVERIES,
    STAGED,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VERSIONS,
    STAGED_VOTES,
)
from orchestration.resources import TallyhouseDirs
from transforms.rollup import units_from_registry, units_from_tallies
from transforms.staging import stage
from warehouse.db import table_exists
from warehouse.raw_load import feed_sources, read_raw_feed
from warehouse.tables import read_table, replace_tables


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
def staged_tallies(context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: DuckDBResource):
    election = dirs.election_config().election
    with duckdb.get_connection() as con:
        deliveries = read_table(con, "raw", "deliveries")
        frames = [read_raw_feed(con, s) for s in feed_sources(con)]
        filled = [f for f in frames if f.height]
        raw = pl.concat(filled, how="vertical") if filled else None
        registry = (
            read_table(con, "raw", "registry").drop("file_sha256", "source_row")
            if table_exists(con, "raw", "registry")
            else None
        )
    if raw is None:
        raise dg.Failure(
            description="The feeds delivered so far hold no tally rows (header-only files?)."
        )
    staged = stage(raw, deliveries, election, registry)
    units = (
        units_from_registry(registry, election)
        if registry is not None
        else units_from_tallies(staged.tallies, election)
    )
    with duckdb.get_connection() as con:
        replace_tables(
            con,
            "staged",
            {
                "tallies": staged.tallies,
                "tally_votes": staged.votes,
                "units": units,
                "tally_versions": staged.versions,
            },
        )
    context.log.info(f"staged {staged.tallies.height:,} tallies from {raw.height:,} raw rows")
    yield dg.MaterializeResult(
        asset_key=STAGED_TALLIES,
        metadata={"tallies": staged.tallies.height, "raw_rows": raw.height},
    )
    yield dg.MaterializeResult(asset_key=STAGED_VOTES, metadata={"rows": staged.votes.height})
    yield dg.MaterializeResult(asset_key=STAGED_UNITS, metadata={"units": units.height})
    yield dg.MaterializeResult(
        asset_key=STAGED_VERSIONS, metadata={"versions": staged.versions.height}
    )
