"""The mart registry: complete for every schema, generated into the data dictionary, and its
comments written into DuckDB safely. The published file's own comments are tested in
test_published_marts.py."""

import logging

import duckdb
import polars as pl
import pytest

from expectations.rules import RULES
from tests.test_verification_data import AnnouncedCase
from transforms.reconciliation import (
    compare,
    reconcile,
    reconciliation_lines,
    reconciliation_summary,
)
from transforms.rollup import units_from_tallies
from transforms.verification import announced_vs_tallied
from warehouse.data_dictionary import PAGE, render
from warehouse.mart_comments import apply_comments, literal
from warehouse.mart_registry import MARTS_BY_NAME, describe, undocumented

# The schemas agreed for the marts other engineers are building (issue 6), keyed by contest
# (issue 12).
PROJECTION = {
    "source_id": "VARCHAR",
    "contest_id": "VARCHAR",
    "level": "VARCHAR",
    "unit_code": "VARCHAR",
    "candidate_id": "VARCHAR",
    "candidate_name": "VARCHAR",
    "counted_votes": "BIGINT",
    "projected_votes": "DOUBLE",
    "lower_95": "DOUBLE",
    "upper_95": "DOUBLE",
    "projected_share": "DOUBLE",
    "share_lower_95": "DOUBLE",
    "share_upper_95": "DOUBLE",
    "worst_case_min": "BIGINT",
    "worst_case_max": "BIGINT",
    "tallies_counted": "BIGINT",
    "tallies_expected": "BIGINT",
    "weighting": "VARCHAR",
    "method": "VARCHAR",
}
FORENSICS = {
    "source_id": "VARCHAR",
    "contest_id": "VARCHAR",
    "check_id": "VARCHAR",
    "check_name": "VARCHAR",
    "level": "VARCHAR",
    "unit_code": "VARCHAR",
    "unit_name": "VARCHAR",
    "candidate_id": "VARCHAR",
    "n": "BIGINT",
    "statistic": "DOUBLE",
    "p_value": "DOUBLE",
    "flagged": "BOOLEAN",
    "detail": "VARCHAR",
}


def test_the_committed_data_dictionary_is_the_generated_one():
    assert PAGE.read_text(encoding="utf-8") == render(), "run `tallyhouse docs` and commit"


@pytest.mark.parametrize(("mart", "schema"), [("projection", PROJECTION), ("forensics", FORENSICS)])
def test_the_agreed_new_marts_are_documented_column_for_column(mart, schema):
    assert MARTS_BY_NAME[mart].schema(AnnouncedCase.election) == schema
    assert undocumented([(mart, c) for c in schema]) == []


def test_rule_columns_are_described_from_the_rule_catalogue():
    for rule in RULES:
        text = describe("quality_summary", rule.id.lower())
        assert rule.description in text and rule.id in text
    assert undocumented([("quality_summary", "e99")]) == ["quality_summary.e99"]


def test_election_shaped_columns_of_reconciliation_and_announced_are_documented():
    election = AnnouncedCase.election  # level `table`, candidates A and B
    tallies = pl.DataFrame(
        {
            "tally_id": [1, 2, 3],
            "source_id": ["s1", "s1", "s2"],
            "tally_code": ["t1", "t2", "t1"],
            "table_code": ["t1", "t2", "t1"],
        }
    )
    votes = pl.DataFrame({"tally_id": [1, 2, 3], "A": [5, 6, 7], "B": [1, 2, 1]})
    reconciled = reconcile(compare(tallies, votes, election), election)
    assert {"table_code", "delta_A", "delta_B"} <= set(reconciled.columns)
    announced = announced_vs_tallied(*AnnouncedCase.args())
    columns = [("reconciliation", c) for c in reconciled.columns]
    columns += [("announced_vs_tallied", c) for c in announced.columns]
    assert undocumented(columns) == []
    assert "candidate A" in describe("reconciliation", "delta_A")
    assert "table" in describe("reconciliation", "table_code")


def test_comments_are_quoted_and_a_gap_is_published_with_a_warning(caplog, monkeypatch):
    # import-linter's CLI (tests/test_layering.py) disables the loggers that exist when it runs
    monkeypatch.setattr(logging.getLogger("warehouse.mart_comments"), "disabled", False)
    con = duckdb.connect()
    con.execute("create table results (votes bigint, mystery varchar)")
    con.execute("create table scratch (x int)")
    with caplog.at_level(logging.WARNING, logger="warehouse.mart_comments"):
        missing = apply_comments(con)
    assert missing == ["results.mystery", "scratch"]
    assert "results.mystery, scratch" in caplog.text
    comments = dict(
        con.execute(
            "select column_name, comment from duckdb_columns() where table_name = 'results'"
        ).fetchall()
    )
    assert comments == {"votes": describe("results", "votes"), "mystery": None}
    tricky = "it's -- a test'); drop table results; --"
    con.execute(f"comment on table results is {literal(tricky)}")
    assert con.execute(
        "select comment from duckdb_tables() where table_name = 'results'"
    ).fetchall() == [(tricky,)]


def duckdb_types(frame: pl.DataFrame) -> dict[str, str]:
    with duckdb.connect() as con:
        con.register("frame", frame)
        return {name: type_ for name, type_, *_ in con.execute("describe frame").fetchall()}


@pytest.mark.parametrize("sources", [("s1", "s1", "s1"), ("s1", "s1", "s2")], ids=["one", "two"])
def test_reconciliation_has_its_declared_schema_whatever_the_sources(sources):
    election = AnnouncedCase.election
    tallies = pl.DataFrame(
        {
            "tally_id": [1, 2, 3],
            "source_id": list(sources),
            "tally_code": ["t1", "t2", "t1"],
            "table_code": ["t1", "t2", "t1"],
        }
    )
    votes = pl.DataFrame({"tally_id": [1, 2, 3], "A": [5, 6, 7], "B": [1, 2, 1]})
    compared = compare(tallies, votes, election)
    lines, reconciled = reconciliation_lines(compared, election), reconcile(compared, election)
    summary = reconciliation_summary(reconciled, units_from_tallies(tallies, election), election)
    assert reconciled.height == (2 if sources[-1] == "s2" else 0)
    assert lines.height == 2 * reconciled.height  # two candidates per compared tally
    assert duckdb_types(reconciled) == MARTS_BY_NAME["reconciliation"].schema(election)
    assert duckdb_types(lines) == MARTS_BY_NAME["reconciliation_lines"].schema(election)
    declared = MARTS_BY_NAME["reconciliation_summary"].schema(election)
    assert duckdb_types(summary) == declared


def test_nothing_announced_still_has_the_declared_columns():
    nothing = announced_vs_tallied({}, *AnnouncedCase.args()[1:])
    assert nothing.is_empty()
    declared = MARTS_BY_NAME["announced_vs_tallied"].schema(AnnouncedCase.election)
    assert duckdb_types(nothing) == declared
