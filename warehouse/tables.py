"""Whole-table reads and replacements between DuckDB and polars."""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.db import qualified, table_exists, transaction


def read_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> pl.DataFrame:
    return con.sql(f"select * from {qualified(schema, table)}").pl()


def replace_tables(
    con: duckdb.DuckDBPyConnection, schema: str, frames: dict[str, pl.DataFrame]
) -> None:
    """Replace several tables in one transaction: readers see all the new ones or none."""
    with transaction(con):
        for table, frame in frames.items():
            name = f"incoming_{table}"
            con.register(name, frame)
            try:
                con.execute(
                    f"create or replace table {qualified(schema, table)} as select * from {name}"
                )
            finally:
                con.unregister(name)


def count_rows(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    if not table_exists(con, schema, table):
        return 0
    return int(con.execute(f"select count(*) from {qualified(schema, table)}").fetchall()[0][0])
