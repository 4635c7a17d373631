"""Writing the quality layer's verdicts: an incremental gate replaces the verdicts on the
replaced and restaged tallies and records which accepted tallies left and joined the marts;
a full gate records an empty change.

- quality.delta: (tally_id, sign): -1 for a replaced tally that had been accepted, +1 for a newly
  staged tally that is accepted. The marts apply exactly these.
- quality.delta_removed_issues: the issues of the replaced tallies.

The quality stamp (warehouse/refresh_state.py) is written in the same transaction.
"""

from __future__ import annotations

import json

import duckdb
import polars as pl

from transforms.accepted import accepted
from transforms.refresh import Stamp
from warehouse.db import ident, qualified, registered, rows, table_exists, transaction
from warehouse.refresh_state import write_stamp


def merge_quality(
    con: duckdb.DuckDBPyConnection,
    stamp: Stamp,
    removed: pl.DataFrame,
    added: pl.DataFrame,
    quarantine: pl.DataFrame,
    issues: pl.DataFrame,
) -> None:
    """Replace the verdicts on the replaced and restaged tallies, and record which accepted
    tallies left (-1) and joined (+1) the marts."""
    gone = pl.concat([removed.select("tally_id"), added.select("tally_id")]).unique()
    joined = accepted(added.select("tally_id"), quarantine)
    frames = {
        "incoming_gone": gone,
        "incoming_removed": removed.select("tally_id"),
        "incoming_joined": joined,
        "incoming_quarantine": quarantine,
        "incoming_issues": issues,
    }
    with transaction(con), registered(con, frames):
        # the replaced tallies that were accepted: read before their verdicts are replaced
        con.execute(
            "create or replace table quality.delta as "
            "select r.tally_id, -1 as sign from incoming_removed r "
            "anti join quality.quarantine q using (tally_id) "
            "union all select tally_id, 1 as sign from incoming_joined"
        )
        con.execute(
            "create or replace table quality.delta_removed_issues as select * from quality.issues "
            "where tally_id in (select tally_id from incoming_removed)"
        )
        for table in ("quarantine", "issues"):
            con.execute(
                f"delete from {qualified('quality', table)} "
                "where tally_id in (select tally_id from incoming_gone)"
            )
            con.execute(
                f"insert into {qualified('quality', table)} by name "
                f"select * from {ident('incoming_' + table)}"
            )
        write_stamp(con, "quality", stamp)


def record_full_quality(con: duckdb.DuckDBPyConnection, stamp: Stamp) -> None:
    with transaction(con):
        con.execute("create or replace table quality.delta (tally_id bigint, sign integer)")
        con.execute(
            "create or replace table quality.delta_removed_issues as "
            "select * from quality.issues limit 0"
        )
        write_stamp(con, "quality", stamp)


POLICY_COLUMNS = (
    "run_id varchar, recorded_at timestamp, gate_mode varchar, policy varchar, "
    "verdict_fingerprint varchar, quarantine_threshold double, threshold_from varchar"
)


def record_policy(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    at,
    gate_mode: str,
    policy: dict,
    fingerprint: str,
    threshold: float,
    threshold_from: str,
) -> None:
    """quality.policy: one row per gate run, the quality policy it judged by (election.toml's
    [quality] as JSON), the fingerprint of what changes verdicts, and the threshold in force and
    where it came from."""
    con.execute(f"create table if not exists quality.policy ({POLICY_COLUMNS})")
    con.execute(
        "insert into quality.policy values (?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            at,
            gate_mode,
            json.dumps(policy, sort_keys=True),
            fingerprint,
            threshold,
            threshold_from,
        ],
    )


def last_verdict_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the policy the last gate judged by; None if none was recorded."""
    if not table_exists(con, "quality", "policy"):
        return None
    found = rows(
        con, "select verdict_fingerprint from quality.policy order by recorded_at desc limit 1"
    )
    return found[0][0] if found else None
