"""quality.alerts: every alert is recorded before any notifier is tried, so none is lost."""

import json
import uuid

import duckdb

from expectations.alerts import Alert
from warehouse.db import rows

ALERTS_DDL = """
create table if not exists quality.alerts (
    raised_at timestamp not null,
    severity varchar not null,
    rule varchar not null,
    title varchar not null,
    counts json,
    run_id varchar,
    sample_keys json,
    subject varchar,
    alert_id varchar,           -- a uuid: which row a later delivery attempt updates
    undelivered varchar[]       -- notifiers not reached yet (empty: every one reached)
)
"""

# Columns added since a warehouse may have been created: added where missing.
ALERTS_ADDED = (
    "alter table quality.alerts add column if not exists alert_id varchar",
    "alter table quality.alerts add column if not exists undelivered varchar[]",
)


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ALERTS_DDL)
    for ddl in ALERTS_ADDED:
        con.execute(ddl)


def record_alert(
    con: duckdb.DuckDBPyConnection, alert: Alert, notifiers: list[str] | None = None
) -> str:
    """Keep the alert, with the notifiers it is still to reach; its alert_id."""
    _ensure(con)
    alert_id = str(uuid.uuid4())
    con.execute(
        "insert into quality.alerts (raised_at, severity, rule, title, counts, run_id, "
        "sample_keys, subject, alert_id, undelivered) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            alert.raised_at,
            alert.severity,
            alert.rule,
            alert.title,
            json.dumps(alert.counts),
            alert.run_id,
            json.dumps(list(alert.sample_keys)),
            alert.subject,
            alert_id,
            list(notifiers or []),
        ],
    )
    return alert_id


def mark_delivered(con: duckdb.DuckDBPyConnection, alert_id: str, failed: list[str]) -> None:
    """The notifiers an alert still has to reach after an attempt (none: delivered)."""
    con.execute(
        "update quality.alerts set undelivered = ? where alert_id = ?", [list(failed), alert_id]
    )


def undelivered_alerts(con: duckdb.DuckDBPyConnection, limit: int) -> list[tuple]:
    """Alerts some notifier has not received yet, oldest first: (alert_id, Alert, names)."""
    _ensure(con)
    found = rows(
        con,
        "select alert_id, raised_at, severity, rule, title, counts, run_id, sample_keys, "
        "subject, undelivered from quality.alerts where len(undelivered) > 0 "
        "order by raised_at limit ?",
        [limit],
    )
    return [
        (
            r[0],
            Alert(
                r[1],
                r[2],
                r[3],
                r[4],
                json.loads(r[5] or "{}"),
                r[6],
                tuple(json.loads(r[7] or "[]")),
                r[8],
            ),
            list(r[9]),
        )
        for r in found
    ]


def alerted_subjects(con: duckdb.DuckDBPyConnection, rule_prefix: str) -> set[str]:
    """Subjects already alerted for rules starting with `rule_prefix` (e.g. 'quarantine')."""
    _ensure(con)
    found = rows(
        con,
        "select distinct subject from quality.alerts where subject is not null "
        "and starts_with(rule, ?)",
        [rule_prefix],
    )
    return {r[0] for r in found}
