"""The rule catalogue, the GX suites and the verdicts, without Dagster."""

from datetime import datetime

import polars as pl
import pytest

from expectations.evidence import build_evidence
from expectations.quarantine import judge
from expectations.rules import ERROR, RULES, RULES_BY_ID, WARN
from expectations.suites import EngineError, build_suite, quiet_context, validate
from transforms.staging import stage
from transforms.synthetic.election import generate
from transforms.synthetic.faults import FAULT_RULES, inject_faults, parse_rates


def staged_evidence(sample):
    raw = pl.concat(
        d.cast(pl.String).with_columns(
            pl.lit(f"sha{i}").alias("file_sha256"),
            pl.int_range(1, d.height + 1, dtype=pl.Int64).alias("source_row"),
        )
        for i, d in enumerate(sample.drops)
    )
    deliveries = pl.DataFrame(
        {
            "file_sha256": [f"sha{i}" for i in range(len(sample.drops))],
            "source_id": "sample",
            "delivery_seq": list(range(1, len(sample.drops) + 1)),
            "release": 0,
            "snapshot": False,
            "loaded_at": None,
        }
    )
    staged = stage(raw, deliveries, sample.election)
    registry = sample.registry.cast({"registered": pl.String})
    return build_evidence(staged.tallies, sample.election, registry)


def test_catalogue_ids_are_stable_and_described():
    assert [r.id for r in RULES] == [*(f"E{i}" for i in range(1, 9)), "W1", "W2", "W3"]
    assert {r.severity for r in RULES if r.id.startswith("E")} == {ERROR}
    assert {r.severity for r in RULES if r.id.startswith("W")} == {WARN}
    assert all(r.description.endswith(".") and r.expectations for r in RULES)


def test_suite_is_built_in_code_with_each_rule_named():
    suite = build_suite(quiet_context(), "all", RULES)
    named = {e.meta["rule_id"] for e in suite.expectations}
    assert named == set(RULES_BY_ID)


def test_faults_at_one_percent_are_found_exactly():
    sample = inject_faults(generate(3_000, seed=11, drops=3), parse_rates("0.01"))
    evidence = staged_evidence(sample)
    verdicts = judge(evidence, validate(evidence, RULES, "all"), "run", datetime(2026, 1, 1))
    found = set(verdicts.issues.select("tally_code", "rule_id").iter_rows())
    injected = {(f["tally_code"], f["rule"]) for f in sample.truth["faults"]}
    assert {r for _, r in injected} == set(FAULT_RULES)
    errors = {x for x in injected if x[1].startswith("E")}
    assert {x for x in found if x[1].startswith("E")} == errors
    assert {x for x in injected if x[1].startswith("W")} <= found
    quarantined = set(verdicts.quarantine["tally_code"])
    assert quarantined == {t for t, _ in errors}
    assert verdicts.accepted.height + verdicts.quarantine.height == evidence.height


def test_clean_election_breaks_no_error_rule():
    evidence = staged_evidence(generate(3_000, seed=12))
    failures = validate(evidence, RULES, "all")
    assert all(failures.count(r.id) == 0 for r in RULES if r.severity == ERROR)


def test_a_gx_exception_is_an_engine_error_not_bad_data(monkeypatch):
    evidence = staged_evidence(generate(200, seed=13))
    broken = RULES_BY_ID["E3"].__class__(
        "E3",
        ERROR,
        "broken on purpose",
        (
            (
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "unit_path", "column_B": "registered"},
            ),
        ),
    )
    with pytest.raises(EngineError, match="raised inside Great Expectations"):
        validate(evidence, (broken,), "broken")


def test_missing_evidence_column_is_an_engine_error():
    evidence = staged_evidence(generate(200, seed=13)).drop("candidate_sum")
    with pytest.raises(EngineError, match="candidate_sum"):
        validate(evidence, RULES, "all")


def test_parse_rates():
    assert parse_rates("0.02") == {r: 0.02 for r in FAULT_RULES}
    assert parse_rates("e2=0.01, W1=0.5") == {"E2": 0.01, "W1": 0.5}
    with pytest.raises(ValueError, match="E9"):
        parse_rates("E9=0.1")
