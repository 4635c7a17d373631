"""One GX pass per gate, no GX without tallies, and the validation results kept in a file-backed
GX context (bounded) with Data Docs rendered from them, without Dagster."""

import html
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from expectations.quarantine import judge
from expectations.results_store import (
    GateRun,
    NoResults,
    gx_dir,
    keep,
    render_docs,
    stored_runs,
)
from expectations.rules import ERROR, RULES
from expectations.suites import KEY, validate
from tests.test_expectations import staged_evidence
from transforms.synthetic.election import generate
from transforms.synthetic.faults import inject_faults, parse_rates

AT = datetime(2026, 11, 3, 20, 0)
ERRORS = tuple(r.id for r in RULES if r.severity == ERROR)


@pytest.fixture(scope="module")
def faulty():
    """Evidence of 3,000 tables with 1 % breaking each rule, and its one validation."""
    sample = inject_faults(generate(3_000, seed=11, drops=3), parse_rates("0.01"))
    evidence = staged_evidence(sample)
    return evidence, validate(evidence, RULES, "all")


def test_the_accepted_tallies_read_off_the_one_pass_equal_a_second_pass(faulty):
    evidence, failures = faulty
    verdicts = judge(evidence, failures, "run", AT)
    error_rules = tuple(r for r in RULES if r.severity == ERROR)
    assert verdicts.quarantine.height > 0
    for subset in (verdicts.accepted, evidence, evidence.head(500)):
        read_off = failures.among(subset[KEY], ERRORS)
        again = validate(subset, error_rules, "again")
        assert read_off.checked == again.checked
        for rule_id in ERRORS:
            assert read_off.ids(rule_id).to_list() == again.ids(rule_id).to_list(), rule_id
    assert any(failures.among(evidence[KEY], ERRORS).count(r) for r in ERRORS)
    assert not any(failures.among(verdicts.accepted[KEY], ERRORS).count(r) for r in ERRORS)


def test_nothing_to_judge_imports_no_great_expectations():
    code = (
        "import sys\n"
        "from expectations.rules import RULES\n"
        "from expectations.suites import validate\n"
        "from tests.test_expectations import staged_evidence\n"
        "from transforms.synthetic.election import generate\n"
        "empty = staged_evidence(generate(50, seed=1)).clear()\n"
        "failures = validate(empty, RULES, 'all')\n"
        "assert failures.checked and not failures.failing and failures.validation is None\n"
        "print('great_expectations' in sys.modules, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def words(page) -> str:
    """A Data Docs page's visible words, one space between."""
    text = re.sub(r"<(script|style).*?</\1>", " ", page.read_text(), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def stored(data_dir):
    return sorted((gx_dir(data_dir) / "uncommitted" / "validations").rglob("*.json"))


def test_a_result_is_kept_with_its_row_lists_capped_and_the_counts_whole(faulty, tmp_path):
    _, failures = faulty
    path = keep(tmp_path, failures.validation, GateRun("run-1", "full", 3_030), AT, keep_rows=3)
    assert stored(tmp_path) == [path]
    saved = json.loads(path.read_text())
    assert saved["suite_name"] == "tallyhouse_all"
    assert saved["meta"]["tallyhouse"] == {
        "run_id": "run-1",
        "gate_mode": "full",
        "tallies_judged": 3_030,
        "failing_ids_kept_per_expectation": 3,
    }
    e3 = next(r for r in saved["results"] if r["expectation_config"]["meta"]["rule_id"] == "E3")
    assert not e3["success"]
    assert e3["result"]["unexpected_count"] == failures.count("E3") > 3
    assert e3["result"]["unexpected_index_list"] == failures.ids("E3").head(3).to_list()
    assert "unexpected_index_query" not in e3["result"]
    original = next(
        r for r in failures.validation.results if r.expectation_config.meta["rule_id"] == "E3"
    )
    assert len(original.result["unexpected_index_list"]) == failures.count("E3"), "not changed"


def test_only_the_last_runs_are_kept(faulty, tmp_path):
    _, failures = faulty
    for i in range(5):
        keep(tmp_path, failures.validation, GateRun(f"run-{i}", "full", 1), AT + timedelta(i), 3)
    kept = stored(tmp_path)
    assert len(kept) == stored_runs(tmp_path) == 3
    assert {p.parts[-3] for p in kept} == {"run-2", "run-3", "run-4"}
    runs = gx_dir(tmp_path) / "uncommitted" / "validations" / "tallyhouse_all"
    assert sorted(p.name for p in runs.iterdir()) == ["run-2", "run-3", "run-4"], "no empty dirs"


def test_data_docs_name_the_suite_and_the_failed_expectation(faulty, tmp_path):
    _, failures = faulty
    with pytest.raises(NoResults):
        render_docs(tmp_path)
    keep(tmp_path, failures.validation, GateRun("run-1", "full", 3_030), AT)
    index = render_docs(tmp_path)
    assert index.is_file() and index.name == "index.html"
    assert "tallyhouse_all" in index.read_text()
    (page,) = (index.parent / "validations").rglob("*.html")
    assert page.parts[-3:-1] == ("run-1", "20261103T200000.000000Z")
    text = words(page)
    assert "Status: Failed" in text and "Expectation Suite: tallyhouse_all" in text
    assert "Values in candidate_sum and valid_votes must always be equal" in text
    assert f"{failures.count('E3')} unexpected values found" in text
    assert "Rule E3 (error)" in (index.parent / "expectations" / "tallyhouse_all.html").read_text()


def test_a_bounded_share_that_is_not_a_number_still_breaks_its_rule():
    """Bounded columns go to GX as numpy floats (vectorised), where a NaN would read as a null
    and pass: a column holding one keeps its Arrow type, and the NaN fails as before."""
    import polars as pl

    evidence = staged_evidence(generate(300, seed=14))
    odd = evidence[KEY][7]
    evidence = evidence.with_columns(
        pl.when(pl.col(KEY) == odd)
        .then(float("nan"))
        .otherwise(pl.col("turnout_if_100_registered"))
        .alias("turnout_if_100_registered")
    )
    w1 = tuple(r for r in RULES if r.id == "W1")
    assert odd in validate(evidence, w1, "nan").ids("W1").to_list()
