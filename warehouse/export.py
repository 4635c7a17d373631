"""Export the published marts, one file per table, with a manifest that ties them to a run.

All tables are read through one read-only connection, so the files are one consistent
publication even if a run swaps a new file in meanwhile. DuckDB writes the files itself
(streamed, never the whole mart in memory): Parquet keeps every column's type; CSV has a header
row and DuckDB's text forms (true/false, ISO timestamps, empty for null).

CSV cells are inert in spreadsheets: a text cell that starts with `=`, `+`, `-`, `@`, a tab or
a carriage return (what Excel, LibreOffice and Sheets read as a formula) is written with a
leading `'`, so a name such as `=HYPERLINK(...)` from a feed shows as text. `raw=True` writes
the values as they are.

With a contest, every mart that has a `contest_id` column is written with that contest's rows
only (the value is a bound parameter, never SQL text), and marts without one are left out.
"""

from __future__ import annotations

import json
from pathlib import Path

from landing.files import sha256_file
from warehouse.db import ident
from warehouse.read_marts import check_contest, open_published

FORMATS = ("parquet", "csv")
MANIFEST = "manifest.json"


def export_marts(
    published: Path,
    out: Path,
    fmt: str,
    tables: list[str] | None = None,
    contest: str | None = None,
    raw: bool = False,
) -> dict:
    """Write the chosen marts (default: all; with `contest`, all that have a contest_id) to
    `out` as `<table>.<fmt>`, and manifest.json; return the manifest. Raises ValueError on an
    unknown format, table or contest, or a chosen mart without contest_id given a contest."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose {' or '.join(FORMATS)}")
    with open_published(published, locked=False) as con:
        present = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' "
                "and database_name = current_database() order by 1"
            ).fetchall()
        ]
        unknown = [t for t in tables or () if t not in present]
        if unknown:
            raise ValueError(
                f"no such mart: {', '.join(unknown)}; the published file has: {', '.join(present)}"
            )
        chosen = tables or present
        if contest is not None:
            check_contest(con, contest)
            chosen = _with_contest(con, chosen, explicit=bool(tables))
        run_id, published_at = _publication(con, present)
        out.mkdir(parents=True, exist_ok=True)
        entries = []
        for table in chosen:
            path = out / f"{table}.{fmt}"
            where, params = ("where contest_id = ?", [contest]) if contest else ("", [])
            columns = "*" if fmt == "parquet" or raw else _inert_columns(con, table)
            relation = con.sql(f"select {columns} from {ident(table)} {where}", params=params)
            if fmt == "parquet":
                relation.write_parquet(str(path))
            else:
                relation.write_csv(str(path), header=True)
            rows = con.execute(f"select count(*) from {ident(table)} {where}", params).fetchall()
            entries.append(
                {"table": table, "rows": rows[0][0], "file": path.name, "sha256": sha256_file(path)}
            )
    manifest = {
        "run_id": run_id,
        "published_at": published_at,
        "format": fmt,
        "source": str(published),
        "contest": contest,
        "formulas_neutralised": fmt == "csv" and not raw,
        "tables": entries,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


FORMULA_START = r"^[=+\-@\t\r]"  # what a spreadsheet reads as the start of a formula


def _inert_columns(con, table: str) -> str:
    """The select list of `table` with every text column's formula-like cells prefixed `'`."""
    described = con.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = 'main' "
        "and database_name = current_database() and table_name = ? order by column_index",
        [table],
    ).fetchall()
    parts = []
    for name, data_type in described:
        column = ident(name)
        if data_type == "VARCHAR":
            parts.append(
                f"case when regexp_matches({column}, '{FORMULA_START}') then chr(39) || {column} "
                f"else {column} end as {column}"
            )
        else:
            parts.append(column)
    return ", ".join(parts)


def _with_contest(con, tables: list[str], explicit: bool) -> list[str]:
    """The marts of `tables` that have a contest_id column; a mart asked for by name without
    one is an error (its rows cannot be narrowed to a contest)."""
    keyed = {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_columns() where schema_name = 'main' "
            "and database_name = current_database() and column_name = 'contest_id'"
        ).fetchall()
    }
    without = [t for t in tables if t not in keyed]
    if explicit and without:
        raise ValueError(
            f"mart {', '.join(without)} has no contest_id: it cannot be exported per contest "
            "(leave out --contest, or choose marts keyed by contest)"
        )
    return [t for t in tables if t in keyed]


def _publication(con, present: list[str]) -> tuple[str | None, str | None]:
    if "publication" not in present:
        return None, None
    found = con.execute("select run_id, published_at from publication").fetchall()
    if not found:
        return None, None
    run_id, published_at = found[0]
    return run_id, published_at.isoformat() if published_at is not None else None
