"""history.results_history in the warehouse: one snapshot appended per published run."""

from collections.abc import Callable

import duckdb
import polars as pl

from warehouse.db import table_exists, transaction
from warehouse.publish import publish_pending

LEVELS_SQL = "level = 'national' or level = ?"


def read_for_snapshot(
    pending: duckdb.DuckDBPyConnection, first_level: str
) -> dict[str, pl.DataFrame]:
    """The national and first-level rows of the marts waiting to be published."""
    return {
        table: pending.sql(f"select * from {table} where {LEVELS_SQL}", params=[first_level]).pl()
        for table in ("results", "turnout", "coverage")
    }


def publish_with_history(
    con: duckdb.DuckDBPyConnection,
    target,
    run_id: str,
    first_level: str,
    make_snapshot: Callable[[dict[str, pl.DataFrame]], pl.DataFrame],
    generation: str | None = None,
    more: dict[str, pl.DataFrame] | None = None,
) -> list[str]:
    """Append the run's snapshot (made from the pending marts' national and first-level rows),
    copy the whole history (and `more` marts) into the pending marts, swap them in.

    All in one warehouse transaction: if publishing fails, the snapshot is not kept, so the
    history has exactly one snapshot per published run.
    """
    con.execute("create schema if not exists history")

    def history(pending: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
        snapshot = make_snapshot(read_for_snapshot(pending, first_level))
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
        return {"results_history": con.sql("select * from history.results_history").pl()}

    with transaction(con):
        return publish_pending(target, run_id, generation, more, history)
