"""Writing a full staging: the staged tables replaced all at once (warehouse.tables: each
written apart, then swapped in by one transaction), the long votes unpivoted by DuckDB as it
writes them.

Ten candidates make ten long vote rows a tally; built in polars and handed over they cost a
copy in memory and a slower write than the same rows DuckDB makes from the wide frame (one
column per candidate) itself. The table is the same, rows in the same order: candidate by
candidate, each in the wide frame's row order.
"""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.staging import StagedTallies
from warehouse.db import ident, registered
from warehouse.tables import incoming, swap_in, write_incoming

VOTES = "tally_votes"


def replace_staged(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    staged: StagedTallies,
    others: dict[str, pl.DataFrame],
) -> None:
    """Replace the staged tallies, votes and versions and the `others` tables: readers see
    all the new ones or none."""
    frames = {"tallies": staged.tallies, **others, "tally_versions": staged.versions}
    if staged.candidates:
        _write_long_votes(con, schema, staged.wide_votes, staged.candidates)
    else:  # given long (or no candidate to unpivot)
        write_incoming(con, schema, VOTES, staged.votes)
    for table, frame in frames.items():
        write_incoming(con, schema, table, frame)
    swap_in(con, schema, [*frames, VOTES])


def _write_long_votes(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    wide: pl.DataFrame,
    candidates: tuple[str, ...],
) -> None:
    """The long votes table from the wide votes: one select per candidate, in candidate order
    (a union all keeps its parts' order). Candidate columns go in under positional names and
    their ids as parameters: no identifier or literal comes from the election's data."""
    index = [c for c in wide.columns if c not in candidates]
    positional = wide.rename({c: f"_candidate_{i}" for i, c in enumerate(candidates)})
    keys = ", ".join(ident(c) for c in index)
    parts = [
        f"select {keys}, ?::varchar as candidate_id, "
        f"{ident(f'_candidate_{i}')} as votes from incoming_wide_votes"
        for i in range(len(candidates))
    ]
    with registered(con, {"incoming_wide_votes": positional}):
        con.execute(
            f"create or replace table {incoming(schema, VOTES)} as {' union all '.join(parts)}",
            list(candidates),
        )
