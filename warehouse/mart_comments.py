"""COMMENT ON every published table and column, from the mart registry.

A table or column the registry does not declare is published anyway and logged as a warning:
refusing to publish results over a missing sentence would hurt the people waiting for them more
than the gap does. The tests (tests/test_mart_docs.py, tests/test_published_marts.py) are the
gate that keeps the registry complete.
"""

from __future__ import annotations

import logging

import duckdb

from warehouse.db import ident
from warehouse.mart_registry import MARTS_BY_NAME, describe, undocumented

log = logging.getLogger(__name__)


def literal(text: str) -> str:
    """A SQL string literal. Comment text comes from the registry, never from data, but is
    quoted all the same (DuckDB's plain strings have no backslash escapes)."""
    if "\x00" in text:
        raise ValueError("comment text holds a NUL character")
    return "'" + text.replace("'", "''") + "'"


def _main_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where not internal and schema_name = 'main' and database_name = current_database() "
        "order by table_name, column_index"
    ).fetchall()


def apply_comments(con: duckdb.DuckDBPyConnection) -> list[str]:
    """COMMENT ON every table and column of the connection's main schema that the registry
    declares; log a warning for, and return, the ones it does not (they are published
    without a comment)."""
    columns = _main_columns(con)
    for table in dict.fromkeys(t for t, _ in columns):
        if table in MARTS_BY_NAME:
            text = MARTS_BY_NAME[table].comment
            con.execute(f"comment on table {ident(table)} is {literal(text)}")
    for table, column in columns:
        text = describe(table, column)
        if text is not None:
            con.execute(f"comment on column {ident(table)}.{ident(column)} is {literal(text)}")
    missing = undocumented(columns)
    if missing:
        log.warning(
            "published without a description (declare them in warehouse/mart_registry.py): %s",
            ", ".join(missing),
        )
    return missing
