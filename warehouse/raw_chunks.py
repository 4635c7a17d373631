"""A long feed's raw rows read a few files at a time, and the columns that plan its ballots read
once, distinct: a general election's full staging never holds every raw row in memory.

A long feed has a row per unit, contest and line (some eight rows a tally, each of some thirty
text columns: 0.75 kB a row in polars), so reading a million tables of three contests whole would
take some eighteen gigabytes. A tally's rows all come from one file (transforms.long_rows
gathers by file), so the files can be staged a few at a time, in the order a whole read has them
(the order they were delivered in), once every contest's lines are known from the distinct
values of the few columns that give them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from warehouse.db import ident, qualified, rows, table_exists
from warehouse.raw_load import raw_table

CHUNK_ROWS = 1_000_000  # raw rows read at once (a file is never split)


@dataclass(frozen=True)
class RawFile:
    """A delivered file's rows in a raw table: how many, and the first and last rowid."""

    sha256: str
    rows: int
    first: int
    last: int


def _files_in_order(con: duckdb.DuckDBPyConnection, table: str) -> list[RawFile]:
    """Each file of raw.<table>, in the order of its first row."""
    return [
        RawFile(*found)
        for found in rows(
            con,
            "select file_sha256, count(*), min(rowid), max(rowid) "  # noqa: S608 (identifiers)
            f"from {qualified('raw', table)} group by file_sha256 order by 3",
        )
    ]


def file_batches(files: Sequence[RawFile], chunk_rows: int) -> list[list[RawFile]]:
    """Consecutive files grouped so that a group holds about `chunk_rows` rows (a file larger
    than that is a group of its own)."""
    batches: list[list[RawFile]] = []
    held = chunk_rows
    for file in files:
        if held + file.rows > chunk_rows:
            batches.append([])
            held = 0
        batches[-1].append(file)
        held += file.rows
    return batches


def _read_batch(con: duckdb.DuckDBPyConnection, table: str, batch: list[RawFile]) -> pl.DataFrame:
    """The rows of a batch of files, in the order they were delivered. Files are loaded whole,
    one after the other, so their rows are usually one range of rowids (a range scan, in order:
    a third of the CPU of a filter on the files and a sort). A column no row of the batch fills
    is made null in polars instead of read (a long feed leaves some half of its columns empty:
    their read was half the read's CPU)."""
    first, last = batch[0].first, batch[-1].last
    if sum(f.rows for f in batch) == last - first + 1:  # nothing else in the range
        where, order = "rowid between $first and $last", ""
        params: dict = {"first": first, "last": last}
    else:
        where, order = "file_sha256 in (select unnest($files::varchar[]))", " order by rowid"
        params = {"files": [f.sha256 for f in batch]}
    source = qualified("raw", table)
    schema = con.sql(f"select * from {source} limit 0").pl().schema  # noqa: S608 (identifiers)
    counted = ", ".join(f"count({ident(c)})" for c in schema)
    found = rows(con, f"select {counted} from {source} where {where}", params)  # noqa: S608
    filled = [c for c, n in zip(schema, found[0], strict=True) if n]
    by_range = not order and all(f.last - f.first + 1 == f.rows for f in batch)
    selected = ["rowid as _rowid" if c == SHA and by_range else ident(c) for c in filled]
    query = f"select {', '.join(selected)} from {source} where {where}{order}"
    read = con.sql(query, params=params).pl()
    if by_range:
        read = read.with_columns(_files_of(read["_rowid"], batch).alias(SHA))
    return read.select(
        pl.col(c) if c in filled else pl.lit(None, dtype).alias(c) for c, dtype in schema.items()
    )


SHA = "file_sha256"


def _files_of(rowids: pl.Series, batch: list[RawFile]) -> pl.Series:
    """Each row's file, from its rowid, where every file of the batch is one range of rowids:
    the 64 characters of a file's sha256 are then read once a file, not once a row (a sixth of
    a long feed's read), and the rows' values share the file's string."""
    starts = pl.Series([f.first for f in batch], dtype=rowids.dtype)
    shas = pl.Series([f.sha256 for f in batch], dtype=pl.String)
    return shas.gather(starts.search_sorted(rowids, side="right") - 1)


def read_raw_chunks(
    con: duckdb.DuckDBPyConnection, sources: Sequence[str], chunk_rows: int = CHUNK_ROWS
) -> Iterator[pl.DataFrame]:
    """Every raw row of these sources, a few whole files at a time, in the order a read of each
    source's table after the other has them (within a source: the order of delivery)."""
    for source in sources:
        table = raw_table(source)
        if not table_exists(con, "raw", table):
            continue
        for batch in file_batches(_files_in_order(con, table), chunk_rows):
            yield _read_batch(con, table, batch)


def read_distinct_rows(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[str],
    columns: Sequence[str],
    when_level: dict[str, str],
) -> pl.DataFrame:
    """The distinct values of `columns` over every raw row of these sources, in the order of
    their first rows (source after source). `when_level`: code column → level; such a column
    is read only on the rows whose contest_district_level is that level (null elsewhere), so
    that a column with a value per unit is distinct only where a contest needs it."""
    selected = [ident(c) for c in columns] + [
        f"case when contest_district_level = ? then {ident(c)} end as {ident(c)}"
        for c in when_level
    ]
    names = ", ".join(ident(c) for c in [*columns, *when_level])
    frames = []
    for source in sources:
        table = raw_table(source)
        if not table_exists(con, "raw", table):
            continue
        query = (
            f"select {names} from (select {', '.join(selected)}, rowid as _at "  # noqa: S608
            f"from {qualified('raw', table)}) group by all order by min(_at)"
        )
        frames.append(con.sql(query, params=list(when_level.values())).pl())
    if not frames:
        return pl.DataFrame(schema={c: pl.String for c in [*columns, *when_level]})
    return pl.concat(frames).unique(maintain_order=True)
