"""Export the published marts, one file per table, with a manifest that ties them to a run.

All tables are read through one read-only connection, so the files are one consistent
publication even if a run swaps a new file in meanwhile. DuckDB writes the files itself
(streamed, never the whole mart in memory): Parquet keeps every column's type; CSV has a header
row and DuckDB's text forms (true/false, ISO timestamps, empty for null).
"""

from __future__ import annotations

import json
from pathlib import Path

from landing.files import sha256_file
from warehouse.db import ident
from warehouse.read_marts import open_published

FORMATS = ("parquet", "csv")
MANIFEST = "manifest.json"


def export_marts(published: Path, out: Path, fmt: str, tables: list[str] | None = None) -> dict:
    """Write the chosen marts (default: all) to `out` as `<table>.<fmt>`, and manifest.json;
    return the manifest. Raises ValueError on an unknown format or table."""
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
        chosen = tables or present
        unknown = [t for t in chosen if t not in present]
        if unknown:
            raise ValueError(
                f"no such mart: {', '.join(unknown)}; the published file has: {', '.join(present)}"
            )
        run_id, published_at = _publication(con, present)
        out.mkdir(parents=True, exist_ok=True)
        entries = []
        for table in chosen:
            path = out / f"{table}.{fmt}"
            relation = con.sql(f"select * from {ident(table)}")
            if fmt == "parquet":
                relation.write_parquet(str(path))
            else:
                relation.write_csv(str(path), header=True)
            rows = con.execute(f"select count(*) from {ident(table)}").fetchall()[0][0]
            entries.append(
                {"table": table, "rows": rows, "file": path.name, "sha256": sha256_file(path)}
            )
    manifest = {
        "run_id": run_id,
        "published_at": published_at,
        "format": fmt,
        "source": str(published),
        "tables": entries,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _publication(con, present: list[str]) -> tuple[str | None, str | None]:
    if "publication" not in present:
        return None, None
    found = con.execute("select run_id, published_at from publication").fetchall()
    if not found:
        return None, None
    run_id, published_at = found[0]
    return run_id, published_at.isoformat() if published_at is not None else None
