"""sha256 is the truth: every delivered landing file hashed again and set against the bytes it
was delivered with (`tallyhouse verify`). A run skips hashing a file only when its name, size
and modification time are those of a delivered file (raw_load.delivered_unchanged); this finds
any file whose bytes changed since without those changing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from landing.files import inside, sha256_file
from warehouse.db import rows, table_exists

SAME, CHANGED, GONE = "same", "changed", "gone"


@dataclass(frozen=True)
class FileVerdict:
    file_name: str
    delivered_sha256: str  # the bytes of its latest delivery
    current_sha256: str | None  # the bytes in the landing folder now (None: gone)
    status: str  # same, changed or gone


def verify_delivered(con: duckdb.DuckDBPyConnection, landing: Path) -> list[FileVerdict]:
    """Every file name ever delivered, its latest delivery's sha256 against its bytes now."""
    if not table_exists(con, "raw", "deliveries"):
        return []
    latest = rows(
        con,
        "select file_name, arg_max(file_sha256, delivery_seq) from raw.deliveries "
        "group by file_name order by file_name",
    )
    verdicts = []
    for name, delivered in latest:
        path = landing / name
        current = sha256_file(path) if inside(landing, path) else None
        status = GONE if current is None else SAME if current == delivered else CHANGED
        verdicts.append(FileVerdict(name, delivered, current, status))
    return verdicts


def delivered_among(con: duckdb.DuckDBPyConnection, shas: list[str]) -> set[str]:
    """Which of these sha256 the raw layer already holds as a delivery (the landing sensor
    asks for no run for them)."""
    if not shas or not table_exists(con, "raw", "deliveries"):
        return set()
    found = rows(
        con,
        "select distinct file_sha256 from raw.deliveries where file_sha256 in (select unnest(?))",
        [list(shas)],
    )
    return {row[0] for row in found}


def feeds_delivered(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the raw layer holds any feed delivery (not only a registry)."""
    if not table_exists(con, "raw", "deliveries"):
        return False
    return bool(rows(con, "select count(*) from raw.deliveries where kind = 'feed'")[0][0])
