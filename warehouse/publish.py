"""Publishing: copy the marts into a separate DuckDB file and swap it in atomically.

Analysts open the published file, never the working warehouse, so a run never waits on a reader
and a reader never sees a half-built mart: the new file is complete before it is renamed over the
old one, and a reader that still has the old file open keeps reading the old one.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.db import ident, qualified, rows


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def publish_marts(
    con: duckdb.DuckDBPyConnection, target: Path, run_id: str, schema: str = "marts"
) -> list[str]:
    """Copy every table of `schema` into a new file, then rename it over `target`.

    The tables land in the new file's default schema: opened as marts.duckdb, its catalog is
    `marts`, so analysts write `marts.results` (or just `results`) without ambiguity.
    """
    tables = [
        r[0]
        for r in rows(
            con,
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_catalog = current_database() order by 1",
            [schema],
        )
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    con.execute(f"attach {_sql_string(str(tmp))} as publishing")
    try:
        for table in tables:
            con.execute(
                f"create table publishing.main.{ident(table)} as "
                f"select * from {qualified(schema, table)}"
            )
        con.execute(
            "create table publishing.main.publication as select ? as run_id, ? as published_at",
            [run_id, datetime.now(UTC).replace(tzinfo=None)],
        )
        con.execute("detach publishing")
        os.replace(tmp, target)
    except BaseException:
        try:
            con.execute("detach publishing")
        except duckdb.Error:
            pass
        tmp.unlink(missing_ok=True)
        raise
    return tables
