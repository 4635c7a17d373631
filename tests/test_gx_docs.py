"""Through the job and the command line: every gate run keeps its GX validation result under the
data directory (the last few), `tallyhouse quality --docs` renders Data Docs from them, a drop
pays for its own tallies only, and a run with nothing to judge never imports GX."""

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import expectations.results_store as results_store
from expectations.results_store import gx_dir, stored_runs
from expectations.rules import RULES, RULES_BY_ID
from orchestration.runner import failure_messages
from tests.conftest import run, tallyhouse_process
from tests.test_gx_results import words
from transforms.synthetic.election import generate
from transforms.synthetic.faults import inject_faults
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI

LENIENT = 1.0


def kept(settings) -> dict[str, dict]:
    """The kept results by Dagster run id."""
    root = gx_dir(settings.data_dir) / "uncommitted" / "validations"
    return {p.parts[-3]: json.loads(p.read_text()) for p in root.rglob("*.json")}


def materialized(result, path: list[str]) -> dict:
    return next(
        e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.path == path
    )


def test_gate_runs_keep_their_results_and_quality_docs_renders_them(
    ran_two_drops_copy, tallyhouse, monkeypatch
):
    settings, held = ran_two_drops_copy.settings, ran_two_drops_copy.held
    assert stored_runs(settings.data_dir) == 1, "the first run kept its result"
    bad = inject_faults(generate(300, seed=9, drops=1), {"E3": 0.05}, seed=9)
    bad.drops[0].write_csv(settings.landing / "tallies_900.csv")
    faulty = run(replace(settings, quarantine_threshold=LENIENT))
    assert faulty.success
    assert stored_runs(settings.data_dir) == 2
    result = kept(settings)[faulty.run_id]
    e3 = next(r for r in result["results"] if r["expectation_config"]["meta"]["rule_id"] == "E3")
    held_e3 = {f["tally_code"] for f in bad.truth["faults"] if f["rule"] == "E3"}
    assert not e3["success"] and e3["result"]["unexpected_count"] == len(held_e3) > 0

    done = tallyhouse("quality", "--data-dir", str(settings.data_dir), "--docs")
    assert done.returncode == 0, done.stderr
    index = Path(done.stdout.strip())
    assert index.name == "index.html" and index.is_file()
    assert "tallyhouse_all" in index.read_text()
    (page,) = (index.parent / "validations" / "tallyhouse_all" / faulty.run_id).rglob("*.html")
    text = words(page)
    assert "Status: Failed" in text
    assert "Values in candidate_sum and valid_votes must always be equal" in text

    monkeypatch.setattr(results_store, "KEEP_RUNS", 2)
    drop = settings.landing / "tallies_003.csv"
    shutil.move(held / drop.name, drop)  # clean
    clean = run(replace(settings, quarantine_threshold=LENIENT))
    assert clean.success
    assert set(kept(settings)) == {faulty.run_id, clean.run_id}, "the oldest result went"
    with connect(settings.warehouse, read_only=True) as con:
        rows = con.sql(
            "select row_count from raw.deliveries where file_name = ?", params=[drop.name]
        ).fetchall()[0][0]
    judged = kept(settings)[clean.run_id]["meta"]["tallyhouse"]
    assert judged["gate_mode"] == "incremental"
    assert judged["tallies_judged"] == rows, "the drop's tallies only"
    assert materialized(clean, ["quality", "quarantine"])["validated"].value == rows
    done = tallyhouse("quality", "--data-dir", str(settings.data_dir), "--docs")
    assert done.returncode == 0
    pages = list((index.parent / "validations").rglob("*.html"))
    assert {p.parts[-3] for p in pages} == {faulty.run_id, clean.run_id}


def test_quality_docs_before_any_gate_says_so_in_one_line(tallyhouse, tmp_path):
    done = tallyhouse("quality", "--data-dir", str(tmp_path), "--docs")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "tallyhouse run" in done.stderr
    assert not (tmp_path / "gx").exists()


def gate_runs(settings) -> int:
    with connect(settings.warehouse, read_only=True) as con:
        return con.sql("select count(*) from quality.policy").fetchall()[0][0]


def test_a_drop_staging_no_tally_never_imports_great_expectations(ran_sample_copy):
    settings = ran_sample_copy.settings
    before = gate_runs(settings)
    header = (settings.landing / "tallies_001.csv").read_text().splitlines()[0]
    (settings.landing / "tallies_900.csv").write_text(header + "\n")
    done = tallyhouse_process(
        "run", "--data-dir", str(settings.data_dir), env={"PYTHONPROFILEIMPORTTIME": "1"}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert gate_runs(settings) == before + 1, "the gate ran"
    assert re.search(r"\|\s+duckdb$", done.stderr, re.M), "the import log is there"
    assert not re.search(r"\|\s+great_expectations\b", done.stderr)
    assert stored_runs(settings.data_dir) == 1, "nothing judged, nothing stored"


def test_an_expectation_raising_inside_gx_fails_the_gate_loudly_and_keeps_nothing(
    settings, sample, monkeypatch
):
    import orchestration.assets.quality as gate

    broken = replace(
        RULES_BY_ID["E3"],
        expectations=(
            (
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "unit_path", "column_B": "registered"},  # text against numbers
            ),
        ),
    )
    monkeypatch.setattr(gate, "RULES", tuple(broken if r.id == "E3" else r for r in RULES))
    result = run(settings)
    assert not result.success
    messages = "\n".join(failure_messages(result))
    assert "ENGINE ERROR, not a verdict on the data" in messages
    assert "rule E3" in messages and "raised inside Great Expectations" in messages
    assert not gx_dir(settings.data_dir).exists(), "an engine error is not kept as a result"
