"""Incremental refresh bookkeeping: what each layer has already taken in, and the last change.

Every staging run bumps a generation. A step may work incrementally only when the layer below it
changed incrementally in that same generation and its own state is the previous generation;
anything else (a snapshot release, a new registry, a failed run in between, a forced rebuild)
takes the full path. The last change is kept as delta tables:

- staged.delta_removed / staged.delta_removed_votes: the current tallies (and their votes) that
  the last staging run replaced;
- staged.delta_added: the tally_ids it (re)staged;
- quality.delta: (tally_id, sign): -1 for a replaced tally that had been accepted, +1 for a newly
  staged tally that is accepted. The marts apply exactly these.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace

import duckdb
import polars as pl

from warehouse.db import ident, qualified, rows, table_exists, transaction
from warehouse.raw_load import raw_table
from warehouse.tables import read_votes_wide

FULL, INCREMENTAL = "full", "incremental"


@dataclass(frozen=True)
class LayerState:
    generation: int
    mode: str
    reason: str
    lineage: str  # new at every full staging: generations of another lineage never match

    @property
    def stamp(self) -> str:
        """What the published marts record: which lineage and generation they reflect."""
        return f"{self.lineage}:{self.generation}"


def read_state(
    con: duckdb.DuckDBPyConnection, schema: str, table: str = "state"
) -> LayerState | None:
    if not table_exists(con, schema, table):
        return None
    found = rows(con, f"select generation, mode, reason, lineage from {qualified(schema, table)}")
    return LayerState(*found[0]) if found else None


def write_state(
    con: duckdb.DuckDBPyConnection, schema: str, state: LayerState, table: str = "state"
) -> None:
    """Inside the caller's transaction: the state changes with the tables it describes."""
    con.execute(
        f"create or replace table {qualified(schema, table)} "
        "(generation bigint, mode varchar, reason varchar, lineage varchar)"
    )
    con.execute(
        f"insert into {qualified(schema, table)} values (?, ?, ?, ?)",
        [state.generation, state.mode, state.reason, state.lineage],
    )


def plan_follower(con: duckdb.DuckDBPyConnection, name: str) -> LayerState:
    """For a step after the quality gate that keeps its own state (table marts.<name>):
    incremental when the gate applied the current generation's change incrementally and the
    step's state is the previous generation; full otherwise. Record the returned state with
    write_followers once the step's tables are written."""
    staged, gate = read_state(con, "staged"), read_state(con, "quality")
    own = read_state(con, "marts", f"state_{name}")
    if staged is None or gate is None or gate.stamp != staged.stamp:
        base = staged or LayerState(0, FULL, "", "")
        return replace(base, mode=FULL, reason="the gate has not judged the staged tallies")
    if gate.mode != INCREMENTAL:
        return replace(staged, mode=FULL, reason=f"the gate was full ({gate.reason})")
    if own is None or own.stamp != f"{staged.lineage}:{staged.generation - 1}":
        return replace(staged, mode=FULL, reason=f"{name} missed a generation")
    return replace(staged, mode=INCREMENTAL, reason="applying the last change")


def read_follower(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    """A follower step's state: the table marts.<name>."""
    return con.sql(f"select * from {qualified('marts', name)}").pl()


def write_followers(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame], state: LayerState
) -> None:
    """Replace several marts.<name> tables and record the generation each reflects, in one
    transaction."""
    con.execute("create schema if not exists marts")
    with transaction(con), _registered(con, frames):
        for name in frames:
            con.execute(
                f"create or replace table {qualified('marts', name)} as "
                f"select * from {ident('incoming_' + name)}"
            )
            write_state(con, "marts", state, f"state_{name}")


@dataclass(frozen=True)
class Change:
    """The last change as the marts see it: the replaced tallies (before) and the restaged
    ones (after), each with their wide votes, the ids of those accepted, and their issues."""

    before_tallies: pl.DataFrame
    before_votes: pl.DataFrame
    before_accepted: pl.DataFrame  # tally_id
    before_issues: pl.DataFrame
    after_tallies: pl.DataFrame
    after_votes: pl.DataFrame
    after_accepted: pl.DataFrame  # tally_id
    after_issues: pl.DataFrame


def read_change(con: duckdb.DuckDBPyConnection, candidate_ids: list[str]) -> Change:
    """The delta tables the last staging run and quality gate left."""
    delta = con.sql("select * from quality.delta").pl()
    after = con.sql(
        "select t.* from staged.tallies t semi join staged.delta_added using (tally_id)"
    ).pl()
    return Change(
        before_tallies=con.sql("select * from staged.delta_removed").pl(),
        before_votes=read_votes_wide(con, candidate_ids, table="delta_removed_votes"),
        before_accepted=delta.filter(sign=-1).select("tally_id"),
        before_issues=con.sql("select * from quality.delta_removed_issues").pl(),
        after_tallies=after,
        after_votes=read_votes_wide(con, candidate_ids, ids=after),
        after_accepted=delta.filter(sign=1).select("tally_id"),
        after_issues=con.sql(
            "select i.* from quality.issues i semi join staged.delta_added using (tally_id)"
        ).pl(),
    )


@dataclass(frozen=True)
class StagingPlan:
    mode: str
    generation: int
    reason: str
    new_deliveries: pl.DataFrame  # the raw.deliveries rows not staged yet
    lineage: str

    @property
    def state(self) -> LayerState:
        return LayerState(self.generation, self.mode, self.reason, self.lineage)


def plan_staging(con: duckdb.DuckDBPyConnection, force_full: bool) -> StagingPlan:
    """Full or incremental, and why: incremental only when every new delivery is a feed file
    of a source that never sends snapshot releases."""
    previous = read_state(con, "staged")
    generation = (previous.generation if previous else 0) + 1
    deliveries = con.sql("select * from raw.deliveries").pl()
    staged = (
        con.sql("select delivery_seq from staged.staged_deliveries").pl()
        if table_exists(con, "staged", "staged_deliveries")
        else None
    )
    new = (
        deliveries.join(staged, on="delivery_seq", how="anti") if staged is not None else deliveries
    )

    def plan(mode: str, reason: str) -> StagingPlan:
        lineage = previous.lineage if mode == INCREMENTAL else uuid.uuid4().hex
        return StagingPlan(mode, generation, reason, new, lineage)

    if force_full:
        return plan(FULL, "a full rebuild was asked for")
    if previous is None or staged is None:
        return plan(FULL, "nothing staged yet")
    if staged.join(deliveries, on="delivery_seq", how="anti").height:
        return plan(FULL, "staged deliveries no longer in the raw layer")
    if (new["kind"] != "feed").any():
        return plan(FULL, "a new registry")
    snapshot_sources = deliveries.filter("snapshot")["source_id"].unique()
    if new["source_id"].is_in(snapshot_sources.implode()).any():
        return plan(FULL, "a snapshot release replaces its source whole")
    return plan(INCREMENTAL, f"{new.height} new deliveries")


def read_new_rows(con: duckdb.DuckDBPyConnection, new: pl.DataFrame) -> pl.DataFrame | None:
    """The raw rows of the new deliveries, every source together."""
    frames = []
    for source in sorted(new["source_id"].unique().to_list()):
        shas = new.filter(source_id=source)["file_sha256"].to_list()
        frames.append(
            con.sql(
                f"select * from {qualified('raw', raw_table(source))} "
                "where file_sha256 in (select unnest(?::varchar[]))",
                params=[shas],
            ).pl()
        )
    filled = [f for f in frames if f.height]
    return pl.concat(filled, how="vertical") if filled else None


def rows_with_codes(
    con: duckdb.DuckDBPyConnection,
    table: str,
    code_column: str,
    codes: list[str],
    columns: str = "r.*",
) -> pl.DataFrame:
    """The rows of raw.<table> whose code (trimmed, as staging trims it) is one of `codes`, in
    the order they were delivered (as a whole-table read has them: where a registry repeats a
    code, the first row is the one used either way).

    `columns`: the select list over the table aliased r (code, never data values)."""
    match = f"semi join wanted_codes w on trim(r.{ident(code_column)}) = w.code"
    return _rows_matching(con, table, match, codes, columns)


def registry_rows_with_codes(
    con: duckdb.DuckDBPyConnection, code_column: str, codes: list[str], columns: str = "r.*"
) -> pl.DataFrame:
    """rows_with_codes of the registry, found through the index of its trimmed codes that a
    full staging makes (staged.registry_lookup), without trimming a million codes."""
    if not table_exists(con, "staged", "registry_lookup"):
        return rows_with_codes(con, "registry", code_column, codes, columns)
    match = (
        "semi join (select l.source_row from staged.registry_lookup l "
        "semi join wanted_codes w on l._code = w.code) x using (source_row)"
    )
    return _rows_matching(con, "registry", match, codes, columns)


def _rows_matching(con, table: str, match: str, codes: list[str], columns: str) -> pl.DataFrame:
    con.register("wanted_codes", pl.DataFrame({"code": codes}, schema={"code": pl.String}))
    try:
        return con.sql(
            f"select {columns} from {qualified('raw', table)} r {match} "
            "order by r.file_sha256, r.source_row"
        ).pl()
    finally:
        con.unregister("wanted_codes")


def read_unit_rows(
    con: duckdb.DuckDBPyConnection, source_id: str, code_column: str, codes: list[str]
) -> pl.DataFrame:
    """Every raw row, from every delivery of a source, of the tally units with these codes."""
    return rows_with_codes(con, raw_table(source_id), code_column, codes)


def read_registry_rows(
    con: duckdb.DuckDBPyConnection, code_column: str, codes: list[str]
) -> pl.DataFrame | None:
    """The registry's rows for these tally codes (all of it is not needed to place a drop)."""
    if not table_exists(con, "raw", "registry"):
        return None
    return registry_rows_with_codes(con, code_column, codes).drop("file_sha256", "source_row")


def current_tallies_of(
    con: duckdb.DuckDBPyConnection, units: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The staged tallies (and long votes) of these (source_id, tally_code) units."""
    con.register("affected_units", units)
    try:
        tallies = con.sql(
            "select t.* from staged.tallies t semi join affected_units a "
            "on t.source_id = a.source_id and t.tally_code = a.tally_code"
        ).pl()
        con.register("removed_ids", tallies.select("tally_id"))
        votes = con.sql(
            "select v.* from staged.tally_votes v semi join removed_ids r using (tally_id)"
        ).pl()
        con.unregister("removed_ids")
    finally:
        con.unregister("affected_units")
    return tallies, votes


def merge_staged(
    con: duckdb.DuckDBPyConnection,
    plan: StagingPlan,
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
    with transaction(con), _registered(con, frames):
        con.execute(
            "delete from staged.tally_votes where tally_id in (select tally_id from "
            "incoming_removed)"
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
        if unit_table is not None:
            con.execute("create or replace table staged.units as select * from incoming_unit_table")
        _write_delta(con, removed, removed_votes, tallies.select("tally_id"))
        if registry is not None:
            con.execute("create or replace table staged.delta_registry as from incoming_registry")
        _add_staged_deliveries(con, plan.new_deliveries)
        write_state(con, "staged", plan.state)


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]):
    """Frames visible to SQL as incoming_<name> for the duration of the block."""
    for name, frame in frames.items():
        con.register(f"incoming_{name}", frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(f"incoming_{name}")


def record_full_staging(
    con: duckdb.DuckDBPyConnection, plan: StagingPlan, tally_code_column: str
) -> None:
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
        write_state(con, "staged", plan.state)


def _write_delta(con, removed, removed_votes, added_ids) -> None:
    frames = {"removed": removed, "removed_votes": removed_votes, "added": added_ids}
    with _registered(con, frames):
        for name in frames:
            con.execute(
                f"create or replace table {qualified('staged', 'delta_' + name)} as "
                f"select * from {ident('incoming_' + name)}"
            )


def _add_staged_deliveries(con, new: pl.DataFrame) -> None:
    with _registered(con, {"deliveries": new.select("delivery_seq")}):
        con.execute(
            "insert into staged.staged_deliveries select delivery_seq from incoming_deliveries"
        )


def read_delta_staged(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tallies the last staging run (re)staged, and the ids of those it replaced."""
    added = con.sql(
        "select t.* from staged.tallies t semi join staged.delta_added d using (tally_id)"
    ).pl()
    removed = con.sql("select tally_id from staged.delta_removed").pl()
    return added, removed


def merge_quality(
    con: duckdb.DuckDBPyConnection,
    state: LayerState,
    removed: pl.DataFrame,
    added: pl.DataFrame,
    quarantine: pl.DataFrame,
    issues: pl.DataFrame,
) -> None:
    """Replace the verdicts on the replaced and restaged tallies, and record which accepted
    tallies left (-1) and joined (+1) the marts."""
    gone = pl.concat([removed.select("tally_id"), added.select("tally_id")]).unique()
    frames = {"gone": gone, "removed": removed.select("tally_id"), "added": added}
    frames |= {"quarantine": quarantine, "issues": issues}
    with transaction(con), _registered(con, frames):
        con.execute(
            "create or replace table quality.delta as "
            "select tally_id, -1 as sign from incoming_removed "
            "where tally_id not in (select tally_id from quality.quarantine) "
            "union all select tally_id, 1 as sign from incoming_added "
            "where tally_id not in (select tally_id from incoming_quarantine)"
        )
        con.execute(
            "create or replace table quality.delta_removed_issues as select * from quality.issues "
            "where tally_id in (select tally_id from incoming_removed)"
        )
        for table in ("quarantine", "issues"):
            con.execute(
                f"delete from {qualified('quality', table)} "
                "where tally_id in (select tally_id from incoming_gone)"
            )
            con.execute(
                f"insert into {qualified('quality', table)} by name "
                f"select * from {ident('incoming_' + table)}"
            )
        write_state(con, "quality", state)


def record_full_quality(con: duckdb.DuckDBPyConnection, state: LayerState) -> None:
    with transaction(con):
        con.execute("create or replace table quality.delta (tally_id bigint, sign integer)")
        con.execute(
            "create or replace table quality.delta_removed_issues as "
            "select * from quality.issues limit 0"
        )
        write_state(con, "quality", state)


def versions_of(con: duckdb.DuckDBPyConnection, units: pl.DataFrame) -> pl.DataFrame:
    """Every version of these (source_id, tally_code) units."""
    with _registered(con, {"units": units}):
        return con.sql(
            "select v.* from staged.tally_versions v semi join incoming_units u "
            "on v.source_id = u.source_id and v.tally_code = u.tally_code"
        ).pl()


def units_of(con: duckdb.DuckDBPyConnection, touched: pl.DataFrame) -> pl.DataFrame:
    """The staged.units rows (names, expected tallies) of these touched units."""
    with _registered(con, {"touched": touched.select("level", "unit_code").unique()}):
        return con.sql(
            "select u.* from staged.units u semi join incoming_touched t "
            "on u.level = t.level and u.unit_code = t.unit_code"
        ).pl()
