"""Reads and replacements between DuckDB and polars: whole tables, the staged votes pivoted,
and the staged rows of some units."""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.accepted import accepted, at_polling_units
from warehouse.db import ident, qualified, registered, transaction


def read_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> pl.DataFrame:
    return con.sql(f"select * from {qualified(schema, table)}").pl()


def replace_tables(
    con: duckdb.DuckDBPyConnection, schema: str, frames: dict[str, pl.DataFrame]
) -> None:
    """Replace several tables at once: readers see all the new ones or none.

    Each new table is first written and committed under a name of its own (write_incoming),
    then all are swapped in by one transaction of renames (swap_in). Writing them inside that
    transaction instead would hold their rows in memory until it commits (DuckDB keeps an open
    transaction's appended rows; 0.5 GB for the ten million staged votes of a million
    tallies). A run stopped before the swap leaves the incoming tables, which the next
    replacement overwrites; the tables in use are never touched until the swap."""
    for table, frame in frames.items():
        write_incoming(con, schema, table, frame)
    swap_in(con, schema, list(frames))


def incoming(schema: str, table: str) -> str:
    """The qualified name a replacement of `table` is written under until swap_in."""
    return qualified(schema, INCOMING + table)


def write_incoming(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, frame: pl.DataFrame
) -> None:
    """Write `frame` as the replacement of `table`, committed, not yet in use."""
    with registered(con, {f"incoming_{table}": frame}):
        con.execute(
            f"create or replace table {incoming(schema, table)} as "
            f"select * from {ident('incoming_' + table)}"
        )


def swap_in(con: duckdb.DuckDBPyConnection, schema: str, tables: list[str]) -> None:
    """Put the written replacements of `tables` in use, all in one transaction."""
    with transaction(con):
        for table in tables:
            con.execute(f"drop table if exists {qualified(schema, table)}")
            con.execute(f"alter table {incoming(schema, table)} rename to {ident(table)}")


# the prefix of a replacement table's name until it is swapped in (replace_tables)
INCOMING = "_incoming_"


def replace_in_transaction(
    con: duckdb.DuckDBPyConnection, schema: str, frames: dict[str, pl.DataFrame]
) -> None:
    """Replace several tables inside the caller's transaction."""
    incoming = {f"incoming_{table}": frame for table, frame in frames.items()}
    with registered(con, incoming):
        for table in frames:
            con.execute(
                f"create or replace table {qualified(schema, table)} as "
                f"select * from {ident('incoming_' + table)}"
            )


def read_votes_wide(
    con: duckdb.DuckDBPyConnection,
    candidate_ids: list[str],
    ids: pl.DataFrame | None = None,
    table: str = "tally_votes",
    key: str = "candidate_id",
) -> pl.DataFrame:
    """staged.<table> (long votes) pivoted in DuckDB: one row per tally_id, a column per
    candidate; with `ids` (a frame with tally_id), only those tallies.

    Twice as fast as reading the long rows into polars and pivoting there.
    """
    columns = ", ".join(
        f"max(v.votes) filter (where v.{ident(key)} = ?) as {ident(c)}" for c in candidate_ids
    )
    source = f"{qualified('staged', table)} v"
    if ids is None:
        return con.sql(
            f"select v.tally_id, {columns} from {source} group by v.tally_id",
            params=candidate_ids,
        ).pl()
    with registered(con, {"wanted_ids": ids.select("tally_id")}):
        return con.sql(
            f"select v.tally_id, {columns} from {source} semi join wanted_ids w "
            "on v.tally_id = w.tally_id group by v.tally_id",
            params=candidate_ids,
        ).pl()


def read_staged(
    con: duckdb.DuckDBPyConnection, candidate_ids: list[str], key: str = "candidate_id"
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Every staged tally (all columns), their votes a column per candidate, and the
    quarantine: what a full build of the marts starts from. With no candidate asked for (a
    general election's steps, which read its long votes) the votes are not read: an empty frame
    of tally_id (pivoting to no column would group every staged vote for a column of tally ids
    no step reads)."""
    votes = (
        read_votes_wide(con, candidate_ids, key=key)
        if candidate_ids
        else pl.DataFrame(schema={"tally_id": pl.Int64})
    )
    return read_table(con, "staged", "tallies"), votes, read_table(con, "quality", "quarantine")


def accepted_of(
    staged: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
    columns: list[str],
    higher_sources: list[str] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """From read_staged: the accepted tallies of the sources at the polling units (those above
    them, `higher_sources`, are only reconciled) with only these columns, and their votes."""
    kept = accepted_tallies_of(staged, columns, higher_sources)
    return kept, staged[1].join(kept.select("tally_id"), on="tally_id", how="semi")


def accepted_tallies_of(
    staged: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
    columns: list[str],
    higher_sources: list[str] = (),
) -> pl.DataFrame:
    """accepted_of's tallies alone (a general election reads their long votes instead)."""
    tallies, _, quarantine = staged
    kept = accepted(at_polling_units(tallies, list(higher_sources)), quarantine)
    return kept.select(list(dict.fromkeys(columns)))


def quarantined_per_delivery(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per delivery (file): its current staged tallies, how many are quarantined, and the share
    (the base of the quarantine-share check)."""
    return con.sql(
        "select t.delivery_seq, t.file_sha256, t.source_id, count(*) as tallies, "
        "count(q.tally_id) as quarantined, count(q.tally_id) / count(*) as share "
        "from staged.tallies t left join quality.quarantine q using (tally_id) "
        "group by all order by t.delivery_seq"
    ).pl()


def versions_of(con: duckdb.DuckDBPyConnection, units: pl.DataFrame) -> pl.DataFrame:
    """Every version of these (source_id, tally_code) units."""
    with registered(con, {"incoming_units": units}):
        return con.sql(
            "select v.* from staged.tally_versions v semi join incoming_units u "
            "on v.source_id = u.source_id and v.tally_code = u.tally_code"
        ).pl()


def units_of(con: duckdb.DuckDBPyConnection, touched: pl.DataFrame) -> pl.DataFrame:
    """The staged.units rows (names, expected tallies) of these touched units."""
    with registered(con, {"incoming_touched": touched.select("level", "unit_code").unique()}):
        return con.sql(
            "select u.* from staged.units u semi join incoming_touched t "
            "on u.level = t.level and u.unit_code = t.unit_code"
        ).pl()


def read_codes(con: duckdb.DuckDBPyConnection, columns: list[str]) -> pl.DataFrame:
    """Some columns of staged.tallies (tally_id and the code columns, say)."""
    return con.sql(f"select {', '.join(ident(c) for c in columns)} from staged.tallies").pl()


def read_contest_inputs(
    con: duckdb.DuckDBPyConnection, accepted: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A general election's: the long votes of these accepted tallies (tally_id, candidate_id,
    votes), every contest's lines (ballot order) and staged.units (every level)."""
    units = con.sql("select level, unit_code, expected from staged.units").pl()
    return read_long_votes(con, accepted), read_contest_lines(con), units


def read_long_votes(con: duckdb.DuckDBPyConnection, tallies: pl.DataFrame) -> pl.DataFrame:
    """A general election's long votes (tally_id, candidate_id, votes) of these tallies."""
    with registered(con, {"wanted_ids": tallies.select("tally_id")}):
        return con.sql(
            "select v.tally_id, v.candidate_id, v.votes from staged.tally_votes v "
            "semi join wanted_ids w on v.tally_id = w.tally_id"
        ).pl()


def read_contest_lines(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every contest's lines in ballot order: contest_id, candidate_id, candidate_name."""
    return con.sql(
        "select contest_id, candidate_id, candidate_name from staged.contest_lines "
        "order by contest_id, slot"
    ).pl()
