"""DuckDB connections and small query helpers.

DuckDB 2.0: a result from execute() must be fetched to the end before the connection does other
work, so helpers here always fetch everything.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.folders import searchable_folder

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def ident(name: str) -> str:
    """Quote a validated identifier. Names never come straight from data values."""
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not a safe SQL identifier")
    return f'"{name}"'


def qualified(schema: str, table: str) -> str:
    return f"{ident(schema)}.{ident(table)}"


def create_whole(path: Path) -> None:
    """Create an empty DuckDB database at `path` if none is there, whole or not at all. DuckDB
    writes a new file's header as it opens it: a process killed at that moment left a file no
    connection can open ("exists, but it is not a valid DuckDB database file"), and no later run
    could start. The file is made beside it and renamed in; what a killed creation leaves
    (`.<name>.<pid>.new`) is removed by the next, which holds the writer lock too."""
    if path.exists():
        return
    for stale in path.parent.glob(f".{path.name}.*.new"):
        stale.unlink(missing_ok=True)
    making = path.with_name(f".{path.name}.{os.getpid()}.new")
    duckdb.connect(str(making)).close()
    os.replace(making, path)


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    files_folder(path)  # refused before a database file is made there
    return beside_its_files(duckdb.connect(str(path), read_only=read_only), path)


def beside_its_files(con: duckdb.DuckDBPyConnection, path: Path | str):
    """The connection, with a relative file path in its SQL found in the database file's folder
    (the raw layer's views name their Parquet files so: warehouse/raw_files.py) from any working
    directory that does not hold a file of the same relative path itself (DuckDB looks there
    first). DuckDB's file_search_path is the database's, not the connection's: every connection
    to the file that is open shares it."""
    con.execute("set global file_search_path = ?", [files_folder(path)])
    return con


def files_folder(path: Path | str) -> str:
    """The folder of the database file at `path`, where its raw files are. DuckDB's
    file_search_path is a comma-separated list: a folder whose path holds a comma cannot be
    in it, and is refused rather than its raw files not found."""
    return searchable_folder(Path(path).resolve().parent)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | dict | None = None) -> list:
    return con.execute(sql, params or []).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence | dict | None = None):
    found = rows(con, sql, params)
    return found[0][0] if found else None


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        )
    )


def row_counts(
    con: duckdb.DuckDBPyConnection, schema: str, tables: Sequence[str]
) -> dict[str, int]:
    """Rows of each table of `schema` that exists (what Dagster's catalog shows as row count)."""
    return {
        table: scalar(con, f"select count(*) from {qualified(schema, table)}")
        for table in tables
        if table_exists(con, schema, table)
    }


def file_row_counts(path: Path, schema: str, tables: Sequence[str]) -> dict[str, int]:
    """row_counts of a DuckDB file opened read-only (the pending or published marts)."""
    with connect(path, read_only=True) as con:
        return row_counts(con, schema, tables)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit on success, roll back on any error."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


@contextmanager
def registered(
    con: duckdb.DuckDBPyConnection, frames: Mapping[str, object]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Register frames (polars or Arrow) as views under validated names for the block, and
    unregister them however it ends: the one way a frame is handed to SQL."""
    for name in frames:
        ident(name)  # raises on an unsafe name before anything is registered
    done = []
    try:
        for name in frames:
            con.register(name, as_arrow(frames[name]))
            done.append(name)
        yield con
    finally:
        for name in done:
            con.unregister(name)


def as_arrow(frame: object) -> object:
    """A polars frame as Arrow without a copy (its own string views), anything else as it is.

    DuckDB reads a polars frame handed over as it is through Arrow's plain strings: every text
    cell copied first, the copy alive while the statement runs (0.45 GB for a mart of 1.4M rows
    and a dozen text columns, more time than the write itself). It reads string views as well,
    into the same types and values."""
    pl = sys.modules.get("polars")  # not imported here: none loaded, no polars frame
    if pl is None or not isinstance(frame, pl.DataFrame):
        return frame
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())
