"""Sending alerts: record the row, log it, then try each configured notifier.

Alerts never hold the run: each notification has a total deadline (connect, send and read:
ALERT_DEADLINE seconds, however slowly an endpoint trickles its answer) and a run spends at most
RUN_BUDGET seconds notifying. A notifier that fails, times out or is skipped for the budget is
logged by name (never its URL); the alert row stays in `quality.alerts` with the notifiers it
did not reach in `undelivered`, and the next run that sends an alert tries those again first.
"""

import threading
import time
import urllib.request
from collections.abc import Callable

import duckdb

from expectations.alerts import Alert, slack_payload, webhook_payload
from warehouse.alerts import mark_delivered, record_alert, undelivered_alerts

ALERT_DEADLINE = 5.0  # seconds for one notification: connect + send + read
RUN_BUDGET = 15.0  # seconds a run may spend notifying, all alerts together
RETRIED_PER_RUN = 20  # undelivered alerts of earlier runs tried again, at most


def _post(url: str, body: bytes, timeout: float) -> None:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        response.read()


def post_within(url: str, body: bytes, deadline: float) -> None:
    """POST, or raise: TimeoutError when the whole exchange outlasts `deadline` (a socket
    timeout alone is per read, so a server trickling bytes could hold it for ever)."""
    outcome: dict = {}

    def send() -> None:
        try:
            _post(url, body, deadline)
        except Exception as error:  # handed back to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=send, name="tallyhouse-alert", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {deadline:g} s")
    if "error" in outcome:
        raise outcome["error"]


class Alerter:
    """Holds the notifier URLs (from settings); never prints them."""

    def __init__(
        self,
        webhook_url: str | None = None,
        slack_url: str | None = None,
        deadline: float = ALERT_DEADLINE,
        budget: float = RUN_BUDGET,
    ):
        self._targets: list[tuple[str, str, Callable[[Alert], bytes]]] = []
        if webhook_url:
            self._targets.append(("webhook", webhook_url, webhook_payload))
        if slack_url:
            self._targets.append(("slack", slack_url, slack_payload))
        self._deadline, self._budget = deadline, budget
        self._spent: dict[str | None, float] = {}  # seconds notifying, per run
        self._retried: set[str | None] = set()  # runs that already retried earlier alerts

    def __repr__(self) -> str:
        return f"Alerter(notifiers={[name for name, _, _ in self._targets]})"

    def send(self, con: duckdb.DuckDBPyConnection, alert: Alert, log) -> list[str]:
        """Record, log, notify. Returns the notifiers that were not reached."""
        alert_id = record_alert(con, alert, [name for name, _, _ in self._targets])
        (log.error if alert.severity != "warn" else log.warning)(f"ALERT {alert.message}")
        if alert.run_id not in self._retried:
            self._retried.add(alert.run_id)
            for earlier_id, earlier, names in undelivered_alerts(con, RETRIED_PER_RUN + 1):
                if earlier_id != alert_id:
                    self._notify(con, earlier_id, earlier, names, alert.run_id, log)
        return self._notify(con, alert_id, alert, None, alert.run_id, log)

    def _notify(self, con, alert_id, alert: Alert, names, run_id, log) -> list[str]:
        failed = []
        for name, url, payload in self._targets:
            if names is not None and name not in names:
                continue
            spent = self._spent.get(run_id, 0.0)
            if spent >= self._budget:
                log.warning(
                    f"alert notifier {name!r} skipped: this run spent its {self._budget:g} s "
                    "of notifying; the alert is recorded and the next run tries again"
                )
                failed.append(name)
                continue
            started = time.monotonic()
            try:
                post_within(url, payload(alert), min(self._deadline, self._budget - spent))
            except Exception as error:  # a notifier must never fail or hold the run
                code = getattr(error, "code", None)
                detail = f"HTTP {code}" if code else type(error).__name__
                log.warning(
                    f"alert notifier {name!r} failed ({detail}); the alert is recorded and "
                    "the next run tries again"
                )
                failed.append(name)
            finally:
                self._spent[run_id] = spent + time.monotonic() - started
        mark_delivered(con, alert_id, failed)
        return failed
