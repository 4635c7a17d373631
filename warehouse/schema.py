"""The working warehouse's schemas and bookkeeping tables.

Layers, in the one direction data flows: raw (as delivered) → staged (canonical) → quality →
marts. Each layer is a DuckDB schema; Dagster asset keys mirror schema.table.
"""

from __future__ import annotations

import duckdb

SCHEMAS = ("raw", "staged", "quality", "marts")

BOOKKEEPING = (
    """
    create table if not exists raw.deliveries (
        delivery_seq bigint primary key,
        file_sha256 varchar not null unique,
        file_name varchar not null,
        source_id varchar not null,
        kind varchar not null,          -- 'feed' or 'registry'
        row_count bigint not null,      -- rows loaded: tallies built (feeds), units (registry)
        loaded_at timestamp not null,
        run_id varchar,
        contract_id varchar,            -- the feed contract that read it
        release integer not null default 0,
        snapshot boolean not null default false,  -- a full release: replaces earlier releases
        rows_excluded bigint not null default 0,  -- left out by [[exclude]] / [[include]]
        rows_read bigint not null default 0,      -- data rows in the file: used + excluded
        rows_used bigint not null default 0,      -- rows the contract kept (a long feed's rows
                                                  -- become fewer tallies: row_count)
        rows_blank bigint not null default 0      -- blank lines skipped: read = used +
                                                  -- excluded + blank
    )
    """,
    """
    create table if not exists raw.landed_files (
        file_name varchar not null,     -- a landing file as last hashed: its name, size and
        size bigint not null,           -- modification time, and the sha256 of its bytes then
        mtime_ns bigint not null,
        file_sha256 varchar not null
    )
    """,
    """
    create table if not exists raw.rejected_files (
        file_sha256 varchar not null,
        file_name varchar not null,
        source_id varchar,
        error varchar not null,
        rejected_at timestamp not null,
        run_id varchar
    )
    """,
)


# Columns added since a working warehouse may have been created: added where missing.
ADDED = (
    "alter table raw.deliveries add column if not exists rows_read bigint default 0",
    "alter table raw.deliveries add column if not exists rows_used bigint default 0",
    "alter table raw.deliveries add column if not exists rows_blank bigint default 0",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for ddl in (*BOOKKEEPING, *ADDED):
        con.execute(ddl)
