"""A delivered feed file's raw rows as one immutable Parquet file, and raw.tallies_<source> a
view over a source's files in delivery order.

DuckDB writing a long feed's raw rows into its own table was most of the raw step (a general
election of a million tables: 24 million rows, 14.8 s of an 88 s run), where polars writes them
as Parquet in a fraction of that and DuckDB reads them back as fast. So each delivered feed
file's rows are `<data dir>/raw/<source_id>/<sha256>.parquet`, where the data directory is the
warehouse file's folder, and every reader of raw.tallies_<source> reads them through the view.

A file is written under a temporary name, synced and renamed in before its delivery is recorded
(in the transaction that also recreates the view): a run killed between the two leaves a file no
delivery names, which the next run, loading that landing file again, writes again. The view
names its files relative to the data directory, so that the folder can move: every connection to
the warehouse resolves them there (warehouse.db.connect sets DuckDB's file_search_path).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import polars as pl

from warehouse.db import ident, qualified, rows, scalar, transaction

FOLDER = "raw"  # under the data directory
FEED_PREFIX = "tallies_"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILE_BITS = 40  # row_order: rows a file may hold (a trillion) before its index's bits


def raw_table(source_id: str) -> str:
    return f"{FEED_PREFIX}{source_id}"


def relative_path(source_id: str, sha: str) -> str:
    """Where a delivered feed file's rows are, relative to the data directory. Both parts are
    checked (an identifier, a sha256 in hex): the path goes into the view's SQL."""
    ident(source_id)
    if not _SHA256.match(sha):
        raise ValueError(f"{sha!r} is not a sha256 in hex")
    return f"{FOLDER}/{source_id}/{sha}.parquet"


def data_dir(con: duckdb.DuckDBPyConnection) -> Path:
    """The folder of the connection's database file: where its raw files are."""
    path = scalar(
        con,
        "select path from duckdb_databases() where database_name = current_database()",
    )
    if not path:
        raise ValueError("the raw layer's files need a warehouse file, not an in-memory database")
    return Path(path).resolve().parent


def write_rows(folder: Path, source_id: str, sha: str, frame: pl.DataFrame) -> None:
    """Write a delivered feed file's raw rows whole, or nothing: under a temporary name in the
    same folder, synced, then renamed over whatever a killed run left there."""
    target = folder / relative_path(source_id, sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    making = target.with_name(f".{target.name}.{os.getpid()}.new")
    try:
        frame.write_parquet(making, compression="lz4")
        with open(making, "rb") as written:
            os.fsync(written.fileno())
        os.replace(making, target)
    finally:
        making.unlink(missing_ok=True)
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable before the delivery that names the file is."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def remove_unfinished(folder: Path) -> None:
    """The temporary files of writes a killed run left (the caller holds the writer lock)."""
    for source in (folder / FOLDER).glob("*"):
        for unfinished in source.glob(".*.parquet.*.new"):
            unfinished.unlink(missing_ok=True)


def _delivered_shas(con: duckdb.DuckDBPyConnection, source_id: str) -> list[str]:
    """The sha256 of a source's delivered feed files, in delivery order."""
    found = rows(
        con,
        "select file_sha256 from raw.deliveries where kind = 'feed' and source_id = ? "
        "order by delivery_seq",
        [source_id],
    )
    return [sha for (sha,) in found]


def delivered_files(con: duckdb.DuckDBPyConnection, source_id: str) -> list[str]:
    """A source's delivered feed files, relative to the data directory, in delivery order."""
    return [relative_path(source_id, sha) for sha in _delivered_shas(con, source_id)]


def _read_parquet(files: list[str]) -> str:
    """The table function reading `files` (checked paths, see relative_path): a column some
    files lack is null in their rows, as a column added to a table later was."""
    listed = ", ".join(f"'{f}'" for f in files)
    return f"read_parquet([{listed}], union_by_name = true)"


def refresh_view(con: duckdb.DuckDBPyConnection, source_id: str) -> None:
    """raw.tallies_<source_id> over every delivered file of the source, in delivery order
    (within the caller's transaction, which records the deliveries)."""
    scan = _read_parquet(delivered_files(con, source_id))
    view = qualified("raw", raw_table(source_id))
    con.execute(f"create or replace view {view} as select * from {scan}")  # noqa: S608


def scan(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """raw.<table> (a feed's view) read straight from its files, as the view reads them, where
    DuckDB's virtual columns that row_order reads can be read (a view hides them)."""
    return _read_parquet(delivered_files(con, table.removeprefix(FEED_PREFIX)))


def row_order(alias: str) -> str:
    """A raw row's place in delivery order, one bigint, from a scan aliased `alias`: what a
    table's rowid was (its file's place in the list, then its row in the file)."""
    a = ident(alias)
    return f"(({a}.file_index::bigint << {_FILE_BITS}) + {a}.file_row_number)"


def files_from_tables(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """A warehouse made before the raw files holds raw.tallies_<source> as tables: each
    delivered file's rows written as its raw file, in their order, then the table replaced by
    the view, once (a run killed meanwhile does it again)."""
    tables = rows(
        con,
        "select table_name from information_schema.tables where table_schema = 'raw' "
        "and table_type = 'BASE TABLE' and starts_with(table_name, ?)",
        [FEED_PREFIX],
    )
    for (table,) in tables:
        source_id = table.removeprefix(FEED_PREFIX)
        shas = _delivered_shas(con, source_id)
        for sha in shas:
            frame = con.sql(
                f"select * from {qualified('raw', table)} where file_sha256 = ? order by rowid",  # noqa: S608
                params=[sha],
            ).pl()
            write_rows(folder, source_id, sha, frame)
        with transaction(con):
            con.execute(f"drop table {qualified('raw', table)}")
            if shas:
                refresh_view(con, source_id)
