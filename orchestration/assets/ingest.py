"""Landing files → raw: each file loaded once, keyed by its sha256."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.assets.keys import RAW, RAW_DELIVERIES
from orchestration.resources import TallyhouseDirs
from warehouse.landing import feed_files, read_election, registry_file
from warehouse.raw_load import LOADED, REJECTED, SKIPPED, load_feed_file, load_registry
from warehouse.schema import ensure_schema


@dg.asset(
    key=RAW_DELIVERIES,
    group_name=RAW,
    description="Landing files loaded as delivered, "
    "one transactional load per file, idempotent by file sha256.",
)
def raw_deliveries(
    context: dg.AssetExecutionContext, dirs: TallyhouseDirs, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    landing = dirs.settings.landing
    election = read_election(landing)
    source = election.sources[0].id if election.sources else election.id
    outcomes = []
    with duckdb.get_connection() as con:
        ensure_schema(con)
        registry = registry_file(landing)
        if registry is not None:
            outcomes.append(load_registry(con, registry, election, context.run.run_id))
        for path in feed_files(landing):
            outcome = load_feed_file(con, path, source, election, context.run.run_id)
            outcomes.append(outcome)
            verb = {
                LOADED: f"loaded {outcome.rows:,} rows",
                SKIPPED: "already delivered, skipped",
                REJECTED: "REJECTED",
            }[outcome.status]
            context.log.info(f"{path.name}: {verb}")
        total = con.execute(
            "select count(*), coalesce(sum(row_count), 0) from raw.deliveries where kind = 'feed'"
        ).fetchall()[0]
    rejected = [o for o in outcomes if o.status == REJECTED]
    if rejected:
        raise dg.Failure(
            description="Rejected whole, nothing of them loaded:\n"
            + "\n".join(f"- {o.error}" for o in rejected),
            metadata={"rejected_files": [o.file_name for o in rejected]},
        )
    loaded = [o for o in outcomes if o.status == LOADED]
    return dg.MaterializeResult(
        metadata={
            "files_loaded": len(loaded),
            "rows_loaded": sum(o.rows for o in loaded),
            "files_skipped": sum(o.status == SKIPPED for o in outcomes),
            "deliveries_total": int(total[0]),
            "rows_total": int(total[1]),
        }
    )
