"""The refresh protocol's state in the warehouse: each layer's stamp, and the planners that read
the stamps and hand them to the one decision (transforms.refresh.plan).

Stamps: staged.state, quality.state, and marts.state_<name> for each table a follower of the
quality gate keeps between runs (the projection's sums, the forensic state); the published file
records its own (warehouse.mart_updates.published_stamp). A stamp is written in the transaction
that writes the tables it describes.
"""

from __future__ import annotations

import uuid

import duckdb
import polars as pl

from transforms.refresh import Plan, Stamp, plan
from warehouse.db import qualified, rows, table_exists, transaction
from warehouse.tables import replace_in_transaction

STAMP_COLUMNS = "generation bigint, mode varchar, reason varchar, lineage varchar"


def read_stamp(con: duckdb.DuckDBPyConnection, schema: str, table: str = "state") -> Stamp | None:
    """The stamp of a layer (<schema>.state) or of a follower's table (marts.state_<name>)."""
    if not table_exists(con, schema, table):
        return None
    found = rows(con, f"select lineage, generation, mode, reason from {qualified(schema, table)}")
    return Stamp(*found[0]) if found else None


def write_stamp(
    con: duckdb.DuckDBPyConnection, schema: str, stamp: Stamp, table: str = "state"
) -> None:
    """Inside the caller's transaction: the stamp changes with the tables it describes."""
    con.execute(f"create or replace table {qualified(schema, table)} ({STAMP_COLUMNS})")
    con.execute(
        f"insert into {qualified(schema, table)} values (?, ?, ?, ?)",
        [stamp.generation, stamp.mode, stamp.reason, stamp.lineage],
    )


def staged_and_gate(con: duckdb.DuckDBPyConnection) -> tuple[Stamp | None, Stamp | None]:
    """The stamps of the staged layer (this run's generation) and of the quality gate."""
    return read_stamp(con, "staged"), read_stamp(con, "quality")


def plan_staging(con: duckdb.DuckDBPyConnection, force_full: bool, names_digest: str = "") -> Plan:
    """Staging's plan: incremental only when every new delivery is a feed file of a source that
    never sends snapshot releases, and the unit names files (names_digest, recorded by
    record_names_digest) are as the last staging read them; carries the new deliveries
    (raw.deliveries rows)."""
    own = read_stamp(con, "staged")
    deliveries = con.sql("select * from raw.deliveries").pl()
    staged = (
        con.sql("select delivery_seq from staged.staged_deliveries").pl()
        if table_exists(con, "staged", "staged_deliveries")
        else None
    )
    new = (
        deliveries.join(staged, on="delivery_seq", how="anti") if staged is not None else deliveries
    )
    return plan(
        "staged",
        own,
        None,
        full_because=_staging_full_because(
            force_full, deliveries, staged, new, names_digest != _names_digest(con)
        ),
        incremental_because=f"{new.height} new deliveries",
        new_lineage=uuid.uuid4().hex,
        new_deliveries=new,
    )


def _names_digest(con: duckdb.DuckDBPyConnection) -> str:
    if not table_exists(con, "staged", "names_digest"):
        return ""
    found = rows(con, "select digest from staged.names_digest")
    return found[0][0] if found else ""


def record_names_digest(con: duckdb.DuckDBPyConnection, digest: str) -> None:
    """What the unit names files were when staging last read them (landing.files.names_digest)."""
    with transaction(con):
        con.execute("create or replace table staged.names_digest (digest varchar)")
        con.execute("insert into staged.names_digest values (?)", [digest])


def _staging_full_because(
    force_full: bool,
    deliveries: pl.DataFrame,
    staged: pl.DataFrame | None,
    new: pl.DataFrame,
    names_changed: bool = False,
):
    """Staging's own reasons to rebuild, in order (lazily: the first that holds is used)."""
    yield "a full rebuild was asked for" if force_full else None
    yield "the unit names files or the withdrawn deliveries changed" if names_changed else None
    if staged is None:
        yield "nothing staged yet"
        return
    missing = staged.join(deliveries, on="delivery_seq", how="anti").height
    yield "staged deliveries no longer in the raw layer" if missing else None
    yield "a new registry" if (new["kind"] != "feed").any() else None
    snapshot_sources = deliveries.filter("snapshot")["source_id"].unique()
    snapshot = new["source_id"].is_in(snapshot_sources.implode()).any()
    yield "a snapshot release replaces its source whole" if snapshot else None


def plan_gate(
    con: duckdb.DuckDBPyConnection,
    policy_fingerprint: str | None = None,
    recorded_fingerprint: str | None = None,
    parents_contradict: bool = False,
) -> Plan | None:
    """The quality gate's plan: validate only what the last staging run restaged, when the gate
    saw the generation before it. None: nothing is staged yet.

    Its own reasons to judge everything again: the quality policy (election.toml [quality])
    judges differently from the one the last gate recorded (quality.policy); a unit code under
    two parents, without a registry, now or at the last gate (E6 then concerns tallies the
    change did not touch)."""
    staged, gate = staged_and_gate(con)
    if staged is None:
        return None
    policy_changed = policy_fingerprint is not None and policy_fingerprint != recorded_fingerprint
    return plan(
        "quality",
        gate,
        staged,
        full_because=[
            policy_changed and "the quality policy changed",
            parents_contradict and "a unit code is under two parents (E6)",
        ],
        incremental_because="staging was incremental",
    )


def plan_follower(con: duckdb.DuckDBPyConnection, name: str) -> Plan:
    """For a step after the quality gate that keeps its own table (marts.<name>): incremental
    when the gate applied this generation's change incrementally and the table's stamp is the
    previous generation. Record the plan's stamp with write_followers."""
    staged, gate = staged_and_gate(con)
    own = read_stamp(con, "marts", f"state_{name}")
    return plan(name, own, gate if staged else None, current=staged)


def read_follower(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    """A follower step's kept table: marts.<name>."""
    return con.sql(f"select * from {qualified('marts', name)}").pl()


def write_followers(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], stamp: Stamp
) -> None:
    """Replace several marts.<name> tables and record the generation each reflects, in one
    transaction."""
    con.execute("create schema if not exists marts")
    with transaction(con):
        replace_in_transaction(con, "marts", frames)
        for name in frames:
            write_stamp(con, "marts", stamp, f"state_{name}")
