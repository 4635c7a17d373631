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

import duckdb
import polars as pl

from warehouse.db import ident, qualified, rows, table_exists
from warehouse.raw_load import raw_table

CHUNK_ROWS = 1_000_000  # raw rows read at once (a file is never split)


def _first_row_order(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, int]]:
    """Each file of raw.<table> and its rows, in the order of the files' first rows."""
    return [
        (sha, count)
        for sha, count in rows(
            con,
            f"select file_sha256, count(*) from {qualified('raw', table)} "  # noqa: S608 (identifiers)
            "group by file_sha256 order by min(rowid)",
        )
    ]


def file_batches(files: Sequence[tuple[str, int]], chunk_rows: int) -> list[list[str]]:
    """Consecutive files grouped so that a group holds about `chunk_rows` rows (a file larger
    than that is a group of its own)."""
    batches: list[list[str]] = []
    held = chunk_rows
    for sha, count in files:
        if held + count > chunk_rows:
            batches.append([])
            held = 0
        batches[-1].append(sha)
        held += count
    return batches


def read_raw_chunks(
    con: duckdb.DuckDBPyConnection, sources: Sequence[str], chunk_rows: int = CHUNK_ROWS
) -> Iterator[pl.DataFrame]:
    """Every raw row of these sources, a few whole files at a time, in the order a read of each
    source's table after the other has them (within a source: the order of delivery)."""
    for source in sources:
        table = raw_table(source)
        if not table_exists(con, "raw", table):
            continue
        for batch in file_batches(_first_row_order(con, table), chunk_rows):
            yield con.sql(
                f"select * from {qualified('raw', table)} "  # noqa: S608 (identifiers)
                "where file_sha256 in (select unnest($files::varchar[])) order by rowid",
                params={"files": batch},
            ).pl()


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
