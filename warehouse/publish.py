"""Publishing: the marts are written into a pending DuckDB file, then swapped in atomically.

Analysts open the published file, never the working warehouse, so a run never waits on a reader
and a reader never sees a half-built mart: the pending file is complete before it is renamed over
the old one, and a reader that still has the old file open keeps reading the old one. The marts
are written once, straight into the pending file: copying 15 million result rows from the
warehouse would double the cost of a national run.

Tables sit in the file's default schema: opened as marts.duckdb its catalog is `marts`, so
analysts write `marts.results` (or just `results`) without ambiguity.
"""

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.model import Election
from transforms.rollup import RESULT_KEYS, RESULT_MEASURES, wide_column
from warehouse.db import connect, ident, transaction
from warehouse.mart_docs import apply_comments


def pending_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.pending")


def _results_sql(election: Election) -> str:
    """UNPIVOT the wide results (one row per unit) into one row per unit and candidate."""
    groups = ", ".join(
        "(" + ", ".join(ident(wide_column(c, m)) for m in RESULT_MEASURES) + f") as {ident(c)}"
        for c in election.candidate_ids
    )
    keys = ", ".join(ident(k) for k in RESULT_KEYS)
    return (
        f"create table results as select {keys}, u.candidate_id, n.candidate_name, "
        f"votes, share, rank from (unpivot incoming_results on {groups} "
        "into name candidate_id value votes, share, rank) u "
        "join candidate_names n using (candidate_id)"
    )


def write_pending(
    target: Path, results_wide: pl.DataFrame, tables: dict[str, pl.DataFrame], election: Election
) -> Path:
    """Write every mart into a fresh pending file next to `target`; return its path."""
    pending = pending_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    pending.unlink(missing_ok=True)
    names = pl.DataFrame(
        {
            "candidate_id": election.candidate_ids,
            "candidate_name": [c.name for c in election.candidates],
        }
    )
    with connect(pending) as con, transaction(con):
        con.register("incoming_results", results_wide)
        con.register("candidate_names", names)
        con.execute(_results_sql(election))
        for table, frame in tables.items():
            con.register(f"incoming_{table}", frame)
            con.execute(
                f"create table {ident(table)} as select * from {ident('incoming_' + table)}"
            )
    return pending


def publish_pending(
    target: Path,
    run_id: str,
    generation: str | None = None,
    more: dict[str, pl.DataFrame] | None = None,
    add: Callable[[duckdb.DuckDBPyConnection], dict[str, pl.DataFrame]] | None = None,
) -> list[str]:
    """Add `more` marts (built after the marts step), and those `add` makes from the open
    pending file, stamp it with its run (and the staging generation its marts reflect) and
    rename it over `target`.

    The pending file is opened once: opening a national results file costs a tenth of a second.
    """
    pending = pending_path(target)
    if not pending.exists():
        raise FileNotFoundError(f"{pending}: no marts are waiting to be published")
    with connect(pending) as con:
        tables = {**(more or {}), **(add(con) if add else {})}
        with transaction(con):
            for table, frame in tables.items():
                con.register(f"incoming_{table}", frame)
                con.execute(
                    f"create or replace table {ident(table)} as "
                    f"select * from {ident('incoming_' + table)}"
                )
                con.unregister(f"incoming_{table}")
        con.execute(
            "create or replace table publication as select ? as run_id, ? as published_at, "
            "? as staged_generation",
            [run_id, datetime.now(UTC).replace(tzinfo=None), generation],
        )
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables order by 1"
            ).fetchall()
        ]
        apply_comments(con)  # a missing description is logged, not fatal
        con.execute("checkpoint")
    os.replace(pending, target)
    return tables
