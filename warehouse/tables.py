"""Whole-table reads and replacements between DuckDB and polars."""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.db import ident, qualified, transaction


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


def read_votes_wide(
    con: duckdb.DuckDBPyConnection, candidate_ids: list[str], only_ids: str | None = None
) -> pl.DataFrame:
    """staged.tally_votes pivoted in DuckDB: one row per tally_id, a column per candidate.

    Twice as fast as reading the long rows into polars and pivoting there.
    """
    columns = ", ".join(
        f"max(votes) filter (where candidate_id = ?) as {ident(c)}" for c in candidate_ids
    )
    where = ""
    if only_ids is not None:  # a table of tally_ids, e.g. staged.delta_added
        schema, table = only_ids.split(".")
        where = f"where tally_id in (select tally_id from {qualified(schema, table)}) "
    return con.sql(
        f"select tally_id, {columns} from staged.tally_votes {where}group by tally_id",
        params=candidate_ids,
    ).pl()


def read_staged(
    con: duckdb.DuckDBPyConnection, candidate_ids: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Every staged tally (all columns), their votes a column per candidate, and the
    quarantine: what a full build of the marts starts from."""
    return (
        read_table(con, "staged", "tallies"),
        read_votes_wide(con, candidate_ids),
        read_table(con, "quality", "quarantine"),
    )


def accepted_of(
    staged: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], columns: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """From read_staged: the accepted tallies with only these columns, and their votes."""
    tallies, votes, quarantine = staged
    accepted = tallies.join(quarantine.select("tally_id"), on="tally_id", how="anti")
    accepted = accepted.select(columns)
    return accepted, votes.join(accepted.select("tally_id"), on="tally_id", how="semi")
