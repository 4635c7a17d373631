"""A general election's raw rows spread over its ballots for a full staging: the ballots planned
in polars from the distinct values of the columns that give them, each tally's long rows
gathered by DuckDB where they are (warehouse/long_gather.py), the odd groups by polars.

The long rows whole would not fit in memory (some eighteen gigabytes for a million tables of
three contests), and reading them out of DuckDB and gathering them in polars was two thirds of
the staging; only a row a tally leaves DuckDB now.
"""

from __future__ import annotations

import duckdb

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
from warehouse.db import table_exists
from warehouse.long_gather import GatherSpec, gather_raw, raw_columns, raw_rows
from warehouse.raw_chunks import read_distinct_rows
from warehouse.raw_load import feed_sources, raw_table


def spread_raw(con: duckdb.DuckDBPyConnection, election: Election) -> tuple[Ballots, int] | None:
    """Every raw row of the election's feeds spread over its ballots (transforms.contests
    `ballots`, the same frame), and how many raw rows there were; None when there is none."""
    sources = feed_sources(con)
    columns, when_level = plan_columns(election)
    distinct = read_distinct_rows(con, sources, columns, when_level)
    plan = ballot_plan(distinct, election)
    lookup = row_lookup(distinct, election, plan)
    wides, rows = [], 0
    for source in sources:
        table = raw_table(source)
        if not table_exists(con, "raw", table) or not (found := raw_rows(con, table)):
            continue
        keys, carried, fixed, slots = gather_columns(raw_columns(con, table), election, plan)
        spec = GatherSpec(keys, carried, fixed, slots, columns, when_level, OTHER, VALID)
        gathered = gather_raw(con, table, lookup, spec)
        wides.append(spread_gathered(gathered.plain, gathered.odd_rows, election, plan))
        rows += found
    return (ballots_of(wides, plan), rows) if rows else None
