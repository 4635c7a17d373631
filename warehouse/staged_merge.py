"""Writing the staged layer's change: an incremental staging merges the restaged units into
staged.* and records the change as delta tables; a full staging records an empty one.

- staged.delta_removed / staged.delta_removed_votes: the current tallies (and their votes) that
  the last staging run replaced;
- staged.delta_added: the tally_ids it (re)staged;
- staged.delta_registry: the registry rows of the restaged units (what the gate reads next).

The staged stamp (warehouse/refresh_state.py) is written in the same transaction.
"""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.refresh import Plan
from warehouse.db import ident, qualified, registered, table_exists, transaction
from warehouse.refresh_state import write_stamp


def current_tallies_of(
    con: duckdb.DuckDBPyConnection, units: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The staged tallies (and long votes) of these (source_id, tally_code) units."""
    with registered(con, {"affected_units": units}):
        tallies = con.sql(
            "select t.* from staged.tallies t semi join affected_units a "
            "on t.source_id = a.source_id and t.tally_code = a.tally_code"
        ).pl()
    with registered(con, {"removed_ids": tallies.select("tally_id")}):
        votes = con.sql(
            "select v.* from staged.tally_votes v semi join removed_ids r using (tally_id)"
        ).pl()
    return tallies, votes


def merge_staged(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    units: pl.DataFrame,
    removed: pl.DataFrame,
    removed_votes: pl.DataFrame,
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    versions: pl.DataFrame,
    unit_table: pl.DataFrame | None,
    registry: pl.DataFrame | None = None,
) -> None:
    """Swap the affected units' tallies, votes and versions for the restaged ones, in one
    transaction, and record the change as the delta tables (with the registry rows of the
    affected units, which the gate reads next)."""
    frames = {
        "removed": removed.select("tally_id"),
        "units": units,
        "new_tallies": tallies,
        "new_votes": votes,
        "new_versions": versions,
    }
    if unit_table is not None:
        frames["unit_table"] = unit_table
    if registry is not None:
        frames["registry"] = registry
    with transaction(con), registered(con, _incoming(frames)):
        _replace_units(con)
        if unit_table is not None:
            con.execute("create or replace table staged.units as select * from incoming_unit_table")
        _write_delta(con, removed, removed_votes, tallies.select("tally_id"))
        if registry is not None:
            con.execute("create or replace table staged.delta_registry as from incoming_registry")
        _add_staged_deliveries(con, plan.new_deliveries)
        write_stamp(con, "staged", plan.stamp)


def _replace_units(con: duckdb.DuckDBPyConnection) -> None:
    """The affected units' tallies, votes and versions out, the restaged ones in (from the
    frames merge_staged registered)."""
    con.execute(
        "delete from staged.tally_votes where tally_id in (select tally_id from incoming_removed)"
    )
    con.execute(
        "delete from staged.tallies where tally_id in (select tally_id from incoming_removed)"
    )
    con.execute(
        "delete from staged.tally_versions v where exists (select 1 from incoming_units u "
        "where u.source_id = v.source_id and u.tally_code = v.tally_code)"
    )
    con.execute("insert into staged.tallies by name select * from incoming_new_tallies")
    con.execute("insert into staged.tally_votes by name select * from incoming_new_votes")
    con.execute("insert into staged.tally_versions by name select * from incoming_new_versions")


def record_full_staging(con: duckdb.DuckDBPyConnection, plan: Plan, tally_code_column: str) -> None:
    """After a full restage: every delivery is staged and there is no delta to apply. The
    registry gets an index of its trimmed tally codes (code → row), for drops to look their
    units up in (a registry changes only with a full staging). The registry is one file: its
    rows are numbered by source_row alone."""
    with transaction(con):
        con.execute(
            "create or replace table staged.staged_deliveries as "
            "select delivery_seq from raw.deliveries"
        )
        con.execute("drop table if exists staged.registry_lookup")
        if table_exists(con, "raw", "registry"):
            con.execute(
                "create table staged.registry_lookup as select "
                f"trim(r.{ident(tally_code_column)}) as _code, r.source_row from raw.registry r"
            )
        empty = con.sql("select * from staged.tallies limit 0").pl()
        empty_votes = con.sql("select * from staged.tally_votes limit 0").pl()
        _write_delta(con, empty, empty_votes, empty.select("tally_id"))
        write_stamp(con, "staged", plan.stamp)


def read_delta_staged(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tallies the last staging run (re)staged, and the ids of those it replaced."""
    added = con.sql(
        "select t.* from staged.tallies t semi join staged.delta_added d using (tally_id)"
    ).pl()
    removed = con.sql("select tally_id from staged.delta_removed").pl()
    return added, removed


def _incoming(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Frames as SQL sees them in a merge: incoming_<name>."""
    return {f"incoming_{name}": frame for name, frame in frames.items()}


def _write_delta(con, removed, removed_votes, added_ids) -> None:
    """staged.delta_<name> from frames registered as incoming_delta_<name> (not to shadow the
    frames merge_staged registered)."""
    frames = {
        "delta_removed": removed,
        "delta_removed_votes": removed_votes,
        "delta_added": added_ids,
    }
    with registered(con, _incoming(frames)):
        for name in frames:
            con.execute(
                f"create or replace table {qualified('staged', name)} as "
                f"select * from {ident('incoming_' + name)}"
            )


def _add_staged_deliveries(con, new: pl.DataFrame) -> None:
    with registered(con, {"incoming_deliveries": new.select("delivery_seq")}):
        con.execute(
            "insert into staged.staged_deliveries select delivery_seq from incoming_deliveries"
        )
