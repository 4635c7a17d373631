"""Publishing: the marts are written into a pending DuckDB file, then swapped in atomically.

Analysts open the published file, never the working warehouse, so a run never waits on a reader
and a reader never sees a half-built mart: the pending file is complete before it is renamed over
the old one, and a reader that still has the old file open keeps reading the old one. The marts
are written once, straight into the pending file: copying 15 million result rows from the
warehouse would double the cost of a national run.

Every table is created from its declaration in the mart registry (warehouse/mart_registry.py),
so a mart's columns and types are those declared whatever the data, an empty mart included.

Tables sit in the file's default schema: opened as marts.duckdb its catalog is `marts`, so
analysts write `marts.results` (or just `results`) without ambiguity.
"""

from __future__ import annotations

import logging
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.contest_results import DISTRICT
from transforms.history import results_snapshot
from transforms.model import Election
from transforms.rollup import RESULT_KEYS, RESULT_MEASURES, result_names, wide_column
from warehouse.db import connect, ident, registered, table_exists, transaction
from warehouse.history_store import append_snapshot, read_for_snapshot
from warehouse.mart_comments import apply_comments
from warehouse.mart_registry import Mart, mart
from warehouse.published_state import PublishedInputs, record_published_inputs

log = logging.getLogger(__name__)

# declared DuckDB types: plain names (BIGINT, VARCHAR, …) or lists of them (VARCHAR[])
_TYPE = re.compile(r"^[A-Z]+(\[\])?$")


@dataclass(frozen=True)
class Publication:
    """Who publishes and what: stamped into the file and onto the run's history snapshot."""

    run_id: str
    published_at: datetime  # UTC, no time zone
    staged_generation: str | None  # staging lineage:generation the marts reflect
    deliveries: int  # feed deliveries loaded by then
    last_file: str | None  # the latest of them


def pending_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.pending")


def create_declared(con: duckdb.DuckDBPyConnection, declared: Mart, election: Election) -> None:
    """(Re)create the mart's table, empty, with its declared columns and types."""
    columns = []
    for name, type_ in declared.schema(election).items():
        if not _TYPE.match(type_):
            raise ValueError(f"{declared.name}.{name}: {type_!r} is not a plain DuckDB type")
        columns.append(f"{ident(name)} {type_}")
    con.execute(f"create or replace table {ident(declared.name)} ({', '.join(columns)})")


def write_mart(
    con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, election: Election
) -> None:
    """Write `frame` as the mart `name`, created from its declaration.

    Its columns must be the declared ones (an empty frame may lack some: they stay empty); a
    column of another type than declared is cast to it and logged (tests keep them equal)."""
    create_declared(con, mart(name), election)
    append_mart(con, name, frame, election)


def append_mart(
    con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, election: Election
) -> None:
    """Add `frame`'s rows to the mart `name`, already created (create_declared): a mart
    written in parts, as a general election's results are, contest by contest."""
    schema = mart(name).schema(election)
    _check_columns(name, frame, schema)
    with registered(con, {"incoming_mart": frame}):
        if frame.height:
            _warn_on_cast(con, name, schema)
        con.execute(f"insert into {ident(name)} by name select * from incoming_mart")


def _check_columns(name: str, frame: pl.DataFrame, schema: dict[str, str]) -> None:
    extra = [c for c in frame.columns if c not in schema]
    missing = [c for c in schema if c not in frame.columns] if frame.height else []
    if extra or missing:
        raise ValueError(
            f"mart {name} does not match its declaration: "
            f"undeclared columns {extra}, missing columns {missing}"
        )


def _warn_on_cast(con: duckdb.DuckDBPyConnection, name: str, schema: dict[str, str]) -> None:
    found = con.execute("describe select * from incoming_mart").fetchall()
    cast = [
        f"{column} {type_} → {schema[column]}"
        for column, type_, *_ in found
        if type_ not in (schema[column], '"NULL"', "NULL")
    ]
    if cast:
        log.warning("mart %s cast to its declared types: %s", name, ", ".join(cast))


def _results_sql(lines: list[str], join_on: list[str]) -> str:
    """Insert into results the UNPIVOT of `incoming_results` (one row per unit, each line's
    votes, share and rank in columns of their own) into one row per unit and line, named by
    `result_lines` joined on `join_on` and the line. INCLUDE NULLS: a unit without valid votes
    has no share (null), which UNPIVOT would otherwise take for a missing line and drop; a line
    not on the unit's ballot has no votes and is left out."""
    groups = ", ".join(
        "("
        + ", ".join(ident(wide_column(line, m)) for m in RESULT_MEASURES)
        + f") as {ident(line)}"
        for line in lines
    )
    keys = ", ".join(f"u.{ident(k)}" for k in RESULT_KEYS)
    joined = " and ".join(f"n.{ident(c)} = u.{ident(c)}" for c in [*join_on, "line"])
    return (
        f"insert into results by name select {keys}, n.candidate_id, n.candidate_name, "
        "u.votes, u.share, u.rank from incoming_results "
        f"unpivot include nulls ((votes, share, rank) for line in ({groups})) u "
        f"join result_lines n on {joined} where u.votes is not null"
    )


def _result_lines(election: Election) -> pl.DataFrame:
    """Each results line's column is its own line: line, candidate_id, candidate_name (the
    other votes' too, whose rank is null: INCLUDE NULLS keeps it)."""
    ids, names = zip(*result_names(election), strict=True)
    return pl.DataFrame({"line": ids, "candidate_id": ids, "candidate_name": names})


def write_results(
    con: duckdb.DuckDBPyConnection, results_wide: pl.DataFrame, election: Election
) -> None:
    """An election of one contest's results mart, from its wide form (one row per unit,
    measures per candidate). A general election's is written contest by contest
    (orchestration.mart_builds, append_wide_results)."""
    create_declared(con, mart("results"), election)
    lines = _result_lines(election)
    frames = {"incoming_results": results_wide, "result_lines": lines}
    with registered(con, frames):
        con.execute(_results_sql(lines["line"].to_list(), []))


def append_wide_results(
    con: duckdb.DuckDBPyConnection,
    rows: pl.DataFrame,
    lines: pl.DataFrame,
    line_ids: list[str],
) -> None:
    """Add a general election contest's results to the results mart, already created, from its
    wide rows (transforms.contest_results.WideResults: each line's votes, share and rank in
    columns of their own, the line's candidate per district in `lines`), with the same UNPIVOT
    as write_results: several times cheaper than appending the long rows. Its lines' columns
    are named by their numbers, never by the data."""
    sql = _results_sql(line_ids, [DISTRICT])
    with registered(con, {"incoming_results": rows, "result_lines": lines}):
        con.execute(sql)


def write_pending(
    target: Path,
    results_wide: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    election: Election,
) -> Path:
    """Write every mart of an election of one contest's marts step into a fresh pending file
    next to `target`: its results from their wide form, then `tables`."""
    with pending_marts(target) as con:
        write_results(con, results_wide, election)
        for name, frame in tables.items():
            write_mart(con, name, frame, election)
    return pending_path(target)


class MartWriter:
    """The pending file's writes, run in the order they are handed over on a thread of their
    own, while the caller builds the next mart: a general election's (_build_general). DuckDB
    storing the rows is about half of its marts step and the polars rollups most of the rest;
    each leaves a core idle part of the time (DuckDB and polars both release the GIL), so the
    two overlap.

    Only the writer's thread uses the connection. At most AHEAD writes wait, their frames held
    until written: a general election's results are handed over contest by contest, so its
    whole results mart is still never held at once."""

    AHEAD = 3

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mart-writer")
        self._waiting: deque[Future] = deque()

    def submit(self, write: Callable[..., None], *args) -> None:
        """Run write(connection, *args) after the writes handed over before it; wait while
        AHEAD are waiting (and raise the failure of any that failed)."""
        self._waiting.append(self._pool.submit(write, self._con, *args))
        while len(self._waiting) > self.AHEAD:
            self._waiting.popleft().result()

    def finish(self) -> None:
        """Wait for every write; raise the first that failed."""
        try:
            while self._waiting:
                self._waiting.popleft().result()
        finally:
            self.abandon()

    def abandon(self) -> None:
        """Drop the writes not yet begun and wait for the one under way (the caller failed)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def pending_writer(target: Path) -> Iterator[MartWriter]:
    """A fresh pending file (pending_marts) written by a MartWriter: every write has ended
    when the block does, however it ends (the connection is closed after the writer's thread
    is done with it), and a write that failed raises here."""
    with pending_marts(target) as con:
        writer = MartWriter(con)
        try:
            yield writer
        except BaseException:
            writer.abandon()
            raise
        writer.finish()


@contextmanager
def pending_marts(target: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh pending file next to `target`, each mart committed as soon as it is written.

    Not one transaction: DuckDB holds a transaction's uncommitted rows in memory until it
    commits (0.5 GB for every 2.7 million result rows), and the pending file needs none. No
    one reads it until publish() renames it over the published file, which happens only once
    the marts step has succeeded; a step that fails leaves a pending file that the next
    marts step deletes before it writes."""
    pending = pending_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    pending.unlink(missing_ok=True)
    with connect(pending) as con:
        yield con


def publish(
    warehouse: duckdb.DuckDBPyConnection,
    target: Path,
    publication: Publication,
    added: dict[str, pl.DataFrame],
    election: Election,
    inputs: PublishedInputs | None = None,
) -> list[str]:
    """Publish the pending marts as `target`; return the published tables.

    The pending file (opened once: a national results file costs a tenth of a second to open)
    gets the marts built after the marts step, the run's snapshot of the national and
    first-level figures (appended to the warehouse's history, which is copied whole), the
    publication stamp and the comments; it is checkpointed and renamed over `target`. All in
    one warehouse transaction: if publishing fails the snapshot is not kept, so the history
    holds exactly one snapshot per published run; and `target` is the old or the new file.
    `inputs`, what the new file reflects (warehouse/published_state.py), is recorded in the same
    transaction.
    """
    pending = _waiting(target)
    before = _published_status(target)
    with transaction(warehouse):
        keep_previous_status(warehouse, before)
        if inputs is not None:
            record_published_inputs(warehouse, inputs)
        with connect(pending) as marts:
            with transaction(marts):
                for name, frame in added.items():
                    write_mart(marts, name, frame, election)
                now = read_for_snapshot(marts, election.levels[0])
                history = append_snapshot(warehouse, _snapshot(now, publication, election))
                write_mart(marts, "results_history", history, election)
                write_mart(marts, "publication", _stamp(publication), election)
                apply_comments(marts)  # a missing description is logged, not fatal
            tables = _table_names(marts)
            marts.execute("checkpoint")
        os.replace(pending, target)
    return tables


def _published_status(target: Path) -> pl.DataFrame | None:
    """The contest_status of the publication about to be replaced (None: none yet)."""
    if not target.exists():
        return None
    with connect(target, read_only=True) as con:
        if not table_exists(con, "main", "contest_status"):
            return None
        return con.sql("select * from contest_status").pl()


def keep_previous_status(warehouse: duckdb.DuckDBPyConnection, before: pl.DataFrame | None):
    """history.previous_contest_status: the status published before this run, for the run
    summary's "newly decided" (kept in the run's publishing transaction)."""
    warehouse.execute("create schema if not exists history")
    warehouse.execute("drop table if exists history.previous_contest_status")
    if before is not None:
        with registered(warehouse, {"incoming_status": before}):
            warehouse.execute(
                "create table history.previous_contest_status as select * from incoming_status"
            )


def discard_pending(target: Path) -> None:
    """A run that publishes nothing leaves no pending file behind."""
    pending_path(target).unlink(missing_ok=True)


def _waiting(target: Path) -> Path:
    pending = pending_path(target)
    if not pending.exists():
        raise FileNotFoundError(f"{pending}: no marts are waiting to be published")
    return pending


def _snapshot(
    marts: dict[str, pl.DataFrame], publication: Publication, election: Election
) -> pl.DataFrame:
    return results_snapshot(
        marts["results"],
        marts["turnout"],
        marts["coverage"],
        election,
        publication.run_id,
        publication.published_at,
        publication.deliveries,
        publication.last_file,
    )


def _stamp(publication: Publication) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "run_id": [publication.run_id],
            "published_at": [publication.published_at],
            "staged_generation": [publication.staged_generation],
        },
        schema={
            "run_id": pl.String,
            "published_at": pl.Datetime("us"),
            "staged_generation": pl.String,
        },
    )


def _table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    found = con.execute("select table_name from information_schema.tables order by 1").fetchall()
    return [row[0] for row in found]
