"""Withdrawn deliveries: an operator takes a delivery back (`tallyhouse withdraw`), with who,
when and why. Its rows stay in the raw layer (nothing is deleted) but staging no longer lets
them be current: each unit falls back to its previous version, or leaves the marts; the next
run restages in full and the gate judges what remains. amendments shows them as withdrawn."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from warehouse.db import rows, table_exists, transaction

WITHDRAWALS_DDL = """
create table if not exists raw.withdrawals (
    file_sha256 varchar not null,
    file_name varchar not null,
    delivery_seq bigint not null,
    reason varchar not null,
    withdrawn_by varchar not null,
    withdrawn_at timestamp not null
)
"""
SHA_PREFIX = re.compile(r"^[0-9a-f]{8,64}$")


class NoSuchDelivery(ValueError):
    """The file name or sha256 prefix names no delivery, or more than one."""


@dataclass(frozen=True)
class Withdrawal:
    file_name: str
    file_sha256: str
    delivery_seq: int
    tallies: int  # rows the delivery loaded
    already: bool  # it was withdrawn before: nothing changed


def withdraw(
    con: duckdb.DuckDBPyConnection, key: str, reason: str, by: str, now: datetime | None = None
) -> Withdrawal:
    """Withdraw the delivery `key` names: a landing file's name (its latest delivery) or a
    sha256 prefix of at least 8 hex digits."""
    if not table_exists(con, "raw", "deliveries"):
        raise NoSuchDelivery("nothing has been delivered yet")
    found = rows(
        con,
        "select file_sha256, file_name, delivery_seq, row_count from raw.deliveries "
        "where kind = 'feed' and (file_name = ? or (? and starts_with(file_sha256, ?))) "
        "order by delivery_seq desc",
        [key, bool(SHA_PREFIX.match(key)), key],
    )
    by_name = [r for r in found if r[1] == key][:1]
    chosen = by_name or found
    if not chosen:
        raise NoSuchDelivery(f"no delivered feed file is named {key!r} or has that sha256 prefix")
    if len({r[0] for r in chosen}) > 1:
        raise NoSuchDelivery(f"{key!r} is the start of several deliveries' sha256: give more")
    sha, name, seq, count = chosen[0]
    with transaction(con):
        con.execute(WITHDRAWALS_DDL)
        already = bool(rows(con, "select 1 from raw.withdrawals where file_sha256 = ?", [sha]))
        if not already:
            con.execute(
                "insert into raw.withdrawals values (?, ?, ?, ?, ?, ?)",
                [sha, name, seq, reason, by, now or datetime.now(UTC).replace(tzinfo=None)],
            )
    return Withdrawal(name, sha, seq, count, already)


def read_deliveries(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """raw.deliveries with `withdrawal`: who withdrew it, when and why (null: not withdrawn)."""
    deliveries = con.sql("select * from raw.deliveries").pl()
    if not table_exists(con, "raw", "withdrawals"):
        return deliveries.with_columns(pl.lit(None, pl.String).alias("withdrawal"))
    notes = con.sql(
        "select file_sha256, 'withdrawn by ' || withdrawn_by || ' at ' || "
        "strftime(withdrawn_at, '%Y-%m-%d %H:%M:%S') || ': ' || reason as withdrawal "
        "from raw.withdrawals"
    ).pl()
    return deliveries.join(notes, on="file_sha256", how="left")


def withdrawals_digest(con: duckdb.DuckDBPyConnection) -> str:
    """What has been withdrawn (part of staging's inputs: a change restages in full)."""
    if not table_exists(con, "raw", "withdrawals"):
        return ""
    shas = [r[0] for r in rows(con, "select file_sha256 from raw.withdrawals order by 1")]
    return ";withdrawn=" + ",".join(shas) if shas else ""
