"""Alerts never hold the run: a total deadline per notification, a budget per run, and what
was not delivered kept for the next run to send."""

import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from expectations.alerts import Alert
from orchestration.alerting import Alerter


class _Log:
    def __init__(self):
        self.lines: list[str] = []

    def error(self, text):
        self.lines.append(text)

    warning = info = error


def _server(behaviour):
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            behaviour(self)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/hook", received


def _trickle(handler):
    """A header line every 0.2 s, for ever: each read is quick, the answer never ends."""
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):
            handler.wfile.write(b"X-Slow: 1\r\n")
            handler.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def _ok(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute("create schema quality")
        yield con


def _alert(n: int, run_id: str) -> Alert:
    return Alert(datetime(2026, 12, 2, 5, n), "error", "E2", f"alert {n}", {"n": n}, run_id)


def test_a_trickling_endpoint_costs_one_deadline_per_alert_and_the_run_a_budget(con):
    server, url, received = _server(_trickle)
    try:
        alerter, log = Alerter(webhook_url=url, deadline=0.5, budget=1.2), _Log()
        started = time.monotonic()
        failed = [alerter.send(con, _alert(n, "run-1"), log) for n in range(5)]
        spent = time.monotonic() - started
    finally:
        server.shutdown()
    assert spent < 2.5, f"5 alerts held the run {spent:.1f} s"
    assert failed == [["webhook"]] * 5
    assert len(received) <= 3, "once the budget is spent, the rest wait for the next run"
    assert any("skipped: this run spent its 1.2 s" in line for line in log.lines)
    assert all(url not in line for line in log.lines), "never the URL"
    undelivered = con.sql("select title, undelivered from quality.alerts order by 1").fetchall()
    assert undelivered == [(f"alert {n}", ["webhook"]) for n in range(5)]


def test_the_next_run_delivers_what_the_last_one_could_not(con):
    server, url, received = _server(_ok)
    try:
        Alerter(webhook_url="http://127.0.0.1:9/unreachable", deadline=0.5).send(
            con, _alert(1, "run-1"), _Log()
        )
        assert con.sql("select undelivered from quality.alerts").fetchall() == [(["webhook"],)]
        alerter = Alerter(webhook_url=url, deadline=2)
        assert alerter.send(con, _alert(2, "run-2"), _Log()) == []
        assert alerter.send(con, _alert(3, "run-2"), _Log()) == []
    finally:
        server.shutdown()
    titles = [r["alert"]["title"] for r in received]
    assert titles == ["alert 1", "alert 2", "alert 3"], "the earlier alert first, once"
    left = con.sql("select count(*) from quality.alerts where len(undelivered) > 0").fetchall()
    assert left == [(0,)]
