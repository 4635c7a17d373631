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

from transforms.contests import GeneralStaged
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
    if staged.candidates:
        _write_long_votes(con, schema, staged.wide_votes, staged.candidates)
    else:  # given long (or no candidate to unpivot)
        write_incoming(con, schema, VOTES, staged.votes)
    _replace_with_votes(con, schema, staged.tallies, staged.versions, others)


def replace_general_staged(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    general: GeneralStaged,
    others: dict[str, pl.DataFrame],
) -> None:
    """replace_staged for a general election: its votes by ballot position are mapped to each
    contest's candidates by DuckDB as it writes them (GeneralStaged.staged's rows, in its
    order)."""
    _write_votes_by_position(con, schema, general)
    _replace_with_votes(con, schema, general.tallies, general.versions, others)


def _replace_with_votes(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    tallies: pl.DataFrame,
    versions: pl.DataFrame,
    others: dict[str, pl.DataFrame],
) -> None:
    """Write the tallies, versions and `others`, then swap them in with the votes written."""
    frames = {"tallies": tallies, **others, "tally_versions": versions}
    for table, frame in frames.items():
        write_incoming(con, schema, table, frame)
    swap_in(con, schema, [*frames, VOTES])


def _write_votes_by_position(
    con: duckdb.DuckDBPyConnection, schema: str, general: GeneralStaged
) -> None:
    """The long votes table from the votes by ballot position: one select per position, in
    position order (a union all keeps its parts' order: DuckDB documents single-table scans,
    SELECT, WHERE and UNION ALL as order preserving, and a CREATE TABLE AS keeps that order
    while preserve_insertion_order is on, its default), each row's candidate at that position
    taken from its ballot's (GeneralStaged.ballot_numbers; a position past the ballot has none:
    it goes), so rows come in the order of the polars mapping (position by position, each in
    the rows' order) with no join to sort back. Position columns go in under positional names,
    the candidates as parameters."""
    slots = general.slots
    if not slots:  # no contest has a line: nothing to map
        write_incoming(con, schema, VOTES, general.staged.votes)
        return
    ballot, candidates = general.ballot_numbers()
    positional = general.slot_votes.select(
        "tally_id",
        "source_id",
        "contest_id",
        *[pl.col(c).alias(f"_slot_{i}") for i, c in enumerate(slots)],
        ballot,
    )
    parts = [
        "select * from (select tally_id, source_id, contest_id, "
        f"{ident(f'_slot_{i}')} as votes, (?::varchar[])[_ballot] as candidate_id "
        "from incoming_slot_votes) where candidate_id is not null"
        for i in range(len(slots))
    ]
    with registered(con, {"incoming_slot_votes": positional}):
        con.execute(
            f"create or replace table {incoming(schema, VOTES)} as "  # noqa: S608 (identifiers)
            f"{' union all '.join(parts)}",
            candidates,
        )


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
