"""Sending alerts: record the row, log it, then try each configured notifier.

A notifier that fails is logged (without its URL) and neither fails the run nor loses the row.
"""

import urllib.request
from collections.abc import Callable

import duckdb

from expectations.alerts import Alert, slack_payload, webhook_payload
from warehouse.alerts import record_alert

TIMEOUT_SECONDS = 5


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read()


class Alerter:
    """Holds the notifier URLs (from settings); never prints them."""

    def __init__(self, webhook_url: str | None = None, slack_url: str | None = None):
        self._targets: list[tuple[str, str, Callable[[Alert], bytes]]] = []
        if webhook_url:
            self._targets.append(("webhook", webhook_url, webhook_payload))
        if slack_url:
            self._targets.append(("slack", slack_url, slack_payload))

    def __repr__(self) -> str:
        return f"Alerter(notifiers={[name for name, _, _ in self._targets]})"

    def send(self, con: duckdb.DuckDBPyConnection, alert: Alert, log) -> list[str]:
        """Record, log, notify. Returns the notifiers that failed."""
        record_alert(con, alert)
        (log.error if alert.severity != "warn" else log.warning)(f"ALERT {alert.message}")
        failed = []
        for name, url, payload in self._targets:
            try:
                _post(url, payload(alert))
            except Exception as error:  # a notifier must never fail the run
                code = getattr(error, "code", None)
                detail = f"HTTP {code}" if code else type(error).__name__
                log.warning(f"alert notifier {name!r} failed ({detail}); the alert is recorded")
                failed.append(name)
        return failed
