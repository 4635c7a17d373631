"""What the published file reflects, kept in the warehouse so a run that brings nothing new can
leave it alone (no new file, no history snapshot) without losing the refresh protocol's thread.

history.published_inputs (one row) says which publication the file is (`file_stamp`, the staging
lineage:generation stamped into it), which generation its marts equal (`stands_for`: the same,
or a later one that changed nothing), the last raw delivery it takes in and the digest of the
election's configuration files when it was published. Written in the transaction that publishes
the file (warehouse/publish.py), and moved on by a run that changed nothing.

A run changed nothing when, by the stamps this run's steps wrote (warehouse/refresh_state.py):
staging and the quality gate were incremental in this generation (no --full, no withdrawal, no
unit names or policy change, no re-judging), the published file stands for the generation just
before it, no delivery was added to the raw layer since, and the configuration files are those
it was published with. Its marts would then be the published ones, row for row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from transforms.refresh import INCREMENTAL, Stamp
from warehouse.db import rows, scalar, table_exists
from warehouse.refresh_state import staged_and_gate

TABLE = "history.published_inputs"
COLUMNS = "file_stamp varchar, stands_for varchar, through_delivery bigint, config_digest varchar"


@dataclass(frozen=True)
class PublishedInputs:
    file_stamp: str  # the staging stamp the published file carries (publication table)
    stands_for: str  # the generation its marts equal: file_stamp, or a later unchanged one
    through_delivery: int  # the last raw.deliveries delivery_seq it reflects (0: none)
    config_digest: str  # election_digest of the configuration it was published with


def election_digest(folder: Path) -> str:
    """The sha256 of an election's configuration files (election.toml, announced.toml, the
    contracts): names and bytes, in order."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*.toml")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def last_delivery(con: duckdb.DuckDBPyConnection) -> int:
    if not table_exists(con, "raw", "deliveries"):
        return 0
    return int(scalar(con, "select coalesce(max(delivery_seq), 0) from raw.deliveries") or 0)


def read_published_inputs(con: duckdb.DuckDBPyConnection) -> PublishedInputs | None:
    if not table_exists(con, "history", "published_inputs"):
        return None
    found = rows(
        con, f"select file_stamp, stands_for, through_delivery, config_digest from {TABLE}"
    )
    return PublishedInputs(*found[0]) if found else None


def record_published_inputs(con: duckdb.DuckDBPyConnection, inputs: PublishedInputs) -> None:
    """Inside the caller's transaction (the publishing one, or the unchanged run's)."""
    con.execute("create schema if not exists history")
    con.execute(f"create or replace table {TABLE} ({COLUMNS})")
    con.execute(
        f"insert into {TABLE} values (?, ?, ?, ?)",
        [inputs.file_stamp, inputs.stands_for, inputs.through_delivery, inputs.config_digest],
    )


def published_generation(con: duckdb.DuckDBPyConnection, file_stamp: str | None) -> Stamp | None:
    """The generation the published file's marts equal: its own stamp, or the later generation
    an unchanged run recorded for it (so the next drop is still applied incrementally)."""
    recorded = read_published_inputs(con)
    if file_stamp is not None and recorded is not None and recorded.file_stamp == file_stamp:
        return Stamp.parse(recorded.stands_for)
    return Stamp.parse(file_stamp)


def unchanged_since_published(
    con: duckdb.DuckDBPyConnection, config_digest: str, file_stamp: Callable[[], str | None]
) -> bool:
    """Whether this run's generation changed nothing the published file shows (module doc).
    file_stamp reads the published file's stamp: only asked for when all else holds (opening a
    national results file costs a tenth of a second)."""
    recorded = read_published_inputs(con)
    staged, gate = staged_and_gate(con)
    if recorded is None or staged is None or gate is None:
        return False
    return (
        staged.mode == INCREMENTAL
        and gate.mode == INCREMENTAL
        and gate.stamp == staged.stamp
        and recorded.stands_for == staged.previous
        and recorded.through_delivery == last_delivery(con)
        and recorded.config_digest == config_digest
        and recorded.file_stamp == file_stamp()
    )


def keep_unchanged(con: duckdb.DuckDBPyConnection) -> None:
    """An unchanged run (unchanged_since_published): the published file now stands for this
    run's generation too."""
    recorded = read_published_inputs(con)
    staged, _ = staged_and_gate(con)
    if recorded is None or staged is None:
        raise ValueError("nothing was published yet: an unchanged run needs a publication")
    record_published_inputs(con, replace(recorded, stands_for=staged.stamp))


def published_behind(con: duckdb.DuckDBPyConnection, file_stamp: str | None) -> bool | None:
    """Whether the warehouse moved past the published file (a later run staged a generation
    but did not publish it: the gate held it, or it failed); None: not known (the file is not
    the one recorded)."""
    recorded = read_published_inputs(con)
    staged, _ = staged_and_gate(con)
    if recorded is None or staged is None or recorded.file_stamp != file_stamp:
        return None
    return recorded.stands_for != staged.stamp
