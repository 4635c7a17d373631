"""history.results_history in the warehouse: one snapshot appended per published run.

warehouse/publish.py appends the run's snapshot inside the warehouse transaction that ends
with the published file's rename, so a failed publish keeps no snapshot.
"""

import duckdb
import polars as pl

from warehouse.db import ident, registered, table_exists

SNAPSHOT_MARTS = ("results", "turnout", "coverage")


def read_for_snapshot(
    pending: duckdb.DuckDBPyConnection, first_level: str
) -> dict[str, pl.DataFrame]:
    """The national and first-level rows of the marts waiting to be published."""
    return {
        table: pending.sql(
            f"select * from {ident(table)} where level = 'national' or level = ?",
            params=[first_level],
        ).pl()
        for table in SNAPSHOT_MARTS
    }


def append_snapshot(con: duckdb.DuckDBPyConnection, snapshot: pl.DataFrame) -> pl.DataFrame:
    """Append the run's snapshot to history.results_history; return the whole history.
    Call inside the transaction that publishes the run."""
    con.execute("create schema if not exists history")
    with registered(con, {"incoming_snapshot": snapshot}):
        if table_exists(con, "history", "results_history"):
            con.execute(
                "insert into history.results_history by name select * from incoming_snapshot"
            )
        else:
            con.execute("create table history.results_history as select * from incoming_snapshot")
    return con.sql("select * from history.results_history").pl()
