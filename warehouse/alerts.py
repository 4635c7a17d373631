"""quality.alerts: every alert is recorded before any notifier is tried, so none is lost."""

import json

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
    subject varchar
)
"""


def record_alert(con: duckdb.DuckDBPyConnection, alert: Alert) -> None:
    con.execute(ALERTS_DDL)
    con.execute(
        "insert into quality.alerts values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            alert.raised_at,
            alert.severity,
            alert.rule,
            alert.title,
            json.dumps(alert.counts),
            alert.run_id,
            json.dumps(list(alert.sample_keys)),
            alert.subject,
        ],
    )


def alerted_subjects(con: duckdb.DuckDBPyConnection, rule_prefix: str) -> set[str]:
    """Subjects already alerted for rules starting with `rule_prefix` (e.g. 'quarantine')."""
    con.execute(ALERTS_DDL)
    found = rows(
        con,
        "select distinct subject from quality.alerts where subject is not null "
        "and starts_with(rule, ?)",
        [rule_prefix],
    )
    return {r[0] for r in found}
