"""A general election's raw rows spread over its ballots for a full staging: the ballots planned
in polars from the distinct values of the columns that give them (read_distinct_rows: a few
hundred rows where the raw rows are millions), each tally's long rows gathered by DuckDB where
they are (warehouse/long_gather.py), the odd groups by polars.

The long rows whole would not fit in memory (some eighteen gigabytes for a million tables of
three contests), and reading them out of DuckDB and gathering them in polars was two thirds of
the staging; only a row a tally leaves DuckDB now.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from transforms.contests import (
    Ballots,
    ballot_plan,
    ballots_of,
    gather_columns,
    plan_columns,
    row_lookup,
    spread_gathered,
)
from transforms.feed import OTHER, VALID
from transforms.model import Election
from warehouse.db import ident, table_exists
from warehouse.long_gather import GatherSpec, gather_raw, raw_columns, raw_rows
from warehouse.raw_files import row_order, scan
from warehouse.raw_load import feed_sources, raw_table


def spread_raw(con: duckdb.DuckDBPyConnection, election: Election) -> tuple[Ballots, int] | None:
    """Every raw row of the election's feeds spread over its ballots (transforms.contests
    `ballots`, the same frame but for its counts, integers: transforms/count_cells), and how
    many raw rows there were; None when there is none."""
    sources = feed_sources(con)
    columns, when_level = plan_columns(election)
    distinct = read_distinct_rows(con, sources, columns, when_level)
    plan = ballot_plan(distinct, election)
    lookup = row_lookup(distinct, election, plan)
    wides, cells, rows = [], [], 0
    for source in sources:
        table = raw_table(source)
        if not table_exists(con, "raw", table) or not (found := raw_rows(con, table)):
            continue
        keys, carried, fixed, slots = gather_columns(raw_columns(con, table), election, plan)
        spec = GatherSpec(keys, carried, fixed, slots, columns, when_level, OTHER, VALID)
        gathered = gather_raw(con, table, lookup, spec)
        wide, texts = spread_gathered(gathered.plain, gathered.odd_rows, election, plan)
        wides.append(wide)
        cells.append(texts)
        rows += found
    return (ballots_of(wides, plan, cells), rows) if rows else None


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
        at = row_order("r")  # a row's place in delivery order
        query = (
            f"select {names} from (select {', '.join(selected)}, {at} as _at "  # noqa: S608
            f"from {scan(con, table)} r) group by all order by min(_at)"
        )
        frames.append(con.sql(query, params=list(when_level.values())).pl())
    if not frames:
        return pl.DataFrame(schema={c: pl.String for c in [*columns, *when_level]})
    return pl.concat(frames).unique(maintain_order=True)
