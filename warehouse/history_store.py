"""history.results_history in the warehouse: one snapshot appended per published run."""

import duckdb
import polars as pl

from warehouse.db import connect, table_exists, transaction
from warehouse.publish import pending_path, publish_pending

LEVELS_SQL = "level = 'national' or level = ?"


def read_pending_for_snapshot(target, first_level: str) -> dict[str, pl.DataFrame]:
    """The national and first-level rows of the marts waiting to be published."""
    with connect(pending_path(target), read_only=True) as con:
        return {
            table: con.sql(f"select * from {table} where {LEVELS_SQL}", params=[first_level]).pl()
            for table in ("results", "turnout", "coverage")
        }


def publish_with_history(
    con: duckdb.DuckDBPyConnection,
    target,
    run_id: str,
    snapshot: pl.DataFrame,
    generation: str | None = None,
    more: dict[str, pl.DataFrame] | None = None,
) -> list[str]:
    """Append the run's snapshot, copy the whole history (and `more` marts) into the pending
    marts, swap them in.

    All in one warehouse transaction: if publishing fails, the snapshot is not kept, so the
    history has exactly one snapshot per published run.
    """
    con.execute("create schema if not exists history")
    with transaction(con):
        con.register("incoming_snapshot", snapshot)
        try:
            if not table_exists(con, "history", "results_history"):
                con.execute(
                    "create table history.results_history as select * from incoming_snapshot"
                )
            else:
                con.execute(
                    "insert into history.results_history by name select * from incoming_snapshot"
                )
        finally:
            con.unregister("incoming_snapshot")
        history = con.sql("select * from history.results_history").pl()
        return publish_pending(
            target, run_id, generation, {"results_history": history, **(more or {})}
        )
