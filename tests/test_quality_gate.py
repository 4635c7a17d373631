"""The quality gate through Dagster: quarantine, blocking checks, alerts, quality marts."""

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer

import polars as pl
import pytest

from landing.files import sha256_file, write_synthetic
from orchestration.assets.keys import WARN_CHECKS
from orchestration.runner import failure_messages
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import published, run
from transforms.synthetic.election import generate
from transforms.synthetic.faults import FAULT_RULES, inject_faults
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI

LENIENT = 1.0  # the threshold check never blocks: each test looks at the verdicts themselves


def land(settings, tables=400, seed=21, drops=2, rates=None):
    sample = generate(tables, seed=seed, drops=drops)
    if rates:
        sample = inject_faults(sample, rates, seed=seed)
    write_synthetic(sample, settings.landing)
    return sample


def warehouse(settings, sql, params=None):
    with connect(settings.warehouse, read_only=True) as con:
        return con.sql(sql, params=params).pl()


@pytest.fixture(scope="module")
def every_fault(tmp_path_factory):
    """One election with 1 % of its tallies breaking each rule (at most one rule a tally), run
    once for the module: the tests of one rule each read their rule's part of it, and the test
    of all of them its whole."""
    settings = Settings(tmp_path_factory.mktemp("every_fault") / "data")
    prepare_data_dir(settings)
    sample = land(settings, tables=4_000, seed=5, drops=4, rates=dict.fromkeys(FAULT_RULES, 0.01))
    result = run(replace(settings, quarantine_threshold=0.2))
    assert result.success, failure_messages(result)
    return settings, sample


@pytest.mark.parametrize("rule", FAULT_RULES)
def test_a_feed_breaking_one_rule(every_fault, rule):
    settings, sample = every_fault
    faults = {f["tally_code"] for f in sample.truth["faults"] if f["rule"] == rule}
    assert len(faults) == 40
    issues = published(settings, "select * from quality_issues")
    hit = issues.filter(rule_id=rule)
    assert set(hit["tally_code"]) == faults
    at_faults = issues.filter(pl.col("tally_code").is_in(faults))
    assert set(at_faults["rule_id"]) == {rule}, "breaks only that rule"
    at_table = set(
        published(settings, "select unit_code from results where level = 'table'")["unit_code"]
    )
    alerts = warehouse(settings, "select severity, rule from quality.alerts")
    if rule.startswith("E"):
        assert set(hit["status"]) == {"quarantined"}
        assert not faults & at_table, "absent from the marts"
        assert any(rule in r for r in alerts.filter(severity="error")["rule"])
    else:
        assert set(hit["status"]) == {"flagged"}
        assert faults <= at_table, "flagged tallies are kept"
        assert not at_faults.filter(severity="error").height
        assert WARN_CHECKS[rule] in alerts.filter(severity="warn")["rule"].to_list()
    national = published(
        settings, "select candidate_id, votes from results where level = 'national'"
    )
    assert dict(national.iter_rows()) == sample.truth["national"]["candidates"]


def test_one_percent_of_every_fault_quarantines_exactly_the_truth(every_fault):
    settings, sample = every_fault
    issues = published(settings, "select tally_code, rule_id from quality_issues")
    faults = {(f["tally_code"], f["rule"]) for f in sample.truth["faults"]}
    assert set(issues.iter_rows()) == faults, "each fault breaks its own rule, and only there"
    quarantined = warehouse(settings, "select tally_code, rule_ids from quality.quarantine")
    expected = {
        (f["tally_code"], f["rule"]) for f in sample.truth["faults"] if f["rule"].startswith("E")
    }
    got = {(t, r) for t, ids in quarantined.iter_rows() for r in ids.split(",")}
    assert got == expected
    counts = warehouse(
        settings,
        "select (select count(*) from staged.tallies) staged, "
        "(select count(*) from quality.quarantine) held",
    ).row(0)
    accepted = published(
        settings, "select accepted from quality_summary where level = 'national'"
    ).item()
    assert counts[0] == accepted + counts[1], "staged = accepted + quarantined"
    truth = sample.truth["national"]
    turnout = published(settings, "select * from turnout where level = 'national'").row(
        0, named=True
    )
    assert turnout["valid_votes"] == truth["valid_votes"]
    states = published(
        settings, "select unit_code, candidate_id, votes from results where level = 'state'"
    )
    for state, candidate, votes in states.iter_rows():
        assert votes == sample.truth["states"][state]["candidates"][candidate]


def test_a_clean_feed_quarantines_nothing(ran_sample):
    settings = ran_sample.settings
    assert warehouse(settings, "select count(*) from quality.quarantine").item() == 0
    summary = published(settings, "select * from quality_summary where level = 'national'")
    row = summary.row(0, named=True)
    assert (row["received"], row["accepted"], row["quarantined"]) == (2_000, 2_000, 0)
    delivery_alerts = warehouse(
        settings, "select count(*) from quality.alerts where rule like 'quarantine%'"
    )
    assert delivery_alerts.item() == 0


def test_threshold_blocks_the_marts_and_keeps_the_published_copy(ran_sample_copy):
    settings = ran_sample_copy.settings  # a clean election, run and published once
    before = sha256_file(settings.published)
    bad = inject_faults(generate(300, seed=9, drops=1), {"E3": 0.1}, seed=9)
    bad.drops[0].write_csv(settings.landing / "tallies_900.csv")
    result = run(settings)
    assert not result.success
    messages = "\n".join(failure_messages(result))
    assert "quarantine_share_per_delivery" in messages
    assert sha256_file(settings.published) == before
    checks = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "quarantine_share_per_delivery"
    ]
    assert checks and not checks[0].passed
    assert checks[0].metadata["deliveries_over"].value == 1
    alert = warehouse(
        settings, "select * from quality.alerts where rule = 'quarantine_share_per_delivery'"
    )
    assert alert.height == 1 and json.loads(alert["sample_keys"][0]) == ["tallies_900.csv"]


def test_an_engine_error_fails_the_run_as_an_engine_error(settings, sample, monkeypatch):
    import expectations.suites as suites

    def crash(*_args, **_kwargs):
        raise RuntimeError("metric backend exploded")

    monkeypatch.setattr(suites, "build_suite", crash)
    result = run(settings)
    assert not result.success
    messages = "\n".join(failure_messages(result))
    assert "ENGINE ERROR, not a verdict on the data" in messages
    assert "metric backend exploded" in messages
    assert not settings.published.exists()
    alerts = warehouse(settings, "select severity from quality.alerts")
    assert alerts["severity"].to_list() == ["engine"]
    with connect(settings.warehouse, read_only=True) as con:
        tables = {
            r[0]
            for r in con.sql(
                "select table_name from information_schema.tables where table_schema = 'quality'"
            ).fetchall()
        }
    assert "quarantine" not in tables, "an engine error is never recorded as bad data"
    assert not (settings.data_dir / "gx").exists(), "nor kept as a GX validation result"


class Recorder(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    Recorder.received = []
    Recorder.status = 200
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", Recorder
    server.shutdown()


def test_alerts_reach_the_webhook_and_slack(settings, hook_server, capsys):
    url, recorder = hook_server
    land(settings, rates={"E2": 0.01})
    secret_settings = replace(
        settings,
        quarantine_threshold=LENIENT,
        alert_webhook_url=f"{url}/hook?token=s3cret",
        alert_slack_url=f"{url}/slack/T000/s3cret",
    )
    assert run(secret_settings).success
    hooks = [body for path, body in recorder.received if path.startswith("/hook")]
    slack = [body for path, body in recorder.received if path.startswith("/slack")]
    delivery = [h["alert"] for h in hooks if h["alert"]["rule"].startswith("quarantine")]
    assert {d["rule"] for d in delivery} == {"quarantine:E2"}
    assert sum(d["counts"]["quarantined"] for d in delivery) == 4
    assert sum(len(d["sample_keys"]) for d in delivery) == 4
    assert all(d["severity"] == "error" and d["run_id"] for d in delivery)
    assert {d["subject"] for d in delivery} <= {
        sha256_file(p) for p in settings.landing.glob("tallies_*.csv")
    }
    assert any("quarantined tallies" in s["text"] for s in slack)
    assert (
        len(hooks)
        == len(slack)
        == warehouse(settings, "select count(*) from quality.alerts").item()
    )
    out = capsys.readouterr()
    assert "s3cret" not in out.out + out.err


def test_a_failing_notifier_neither_fails_the_run_nor_loses_the_alert(settings, hook_server):
    url, recorder = hook_server
    recorder.status = 500
    land(settings, rates={"E4": 0.01})
    broken = replace(
        settings,
        quarantine_threshold=LENIENT,
        alert_webhook_url=f"{url}/hook",
        alert_slack_url="http://127.0.0.1:9/closed",
    )
    assert run(broken).success
    assert recorder.received, "the webhook was tried"
    rows = warehouse(settings, "select rule from quality.alerts where rule like 'quarantine%'")
    assert set(rows["rule"]) == {"quarantine:E4"} and rows.height >= 1
