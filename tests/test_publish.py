"""Writing the marts into the pending copy, and swapping it in."""

import pytest

from tests.test_rollup import ELECTION, REGISTRY, VOTES, VOTES_LONG, tallies
from transforms.rollup import RESULT_COLUMNS, build_marts, results_long, units_from_registry
from warehouse.db import connect
from warehouse.publish import pending_path, publish_pending, write_pending


def test_the_sql_unpivot_writes_exactly_the_reference_results(tmp_path):
    built = build_marts(tallies(), VOTES, units_from_registry(REGISTRY, ELECTION), ELECTION)
    target = tmp_path / "marts.duckdb"
    write_pending(target, built.results_wide, {"turnout": built.turnout}, ELECTION)
    with connect(pending_path(target), read_only=True) as con:
        written = con.sql("select * from results").pl()
    keys = ["source_id", "level", "unit_code", "candidate_id"]
    expected = results_long(built.results_wide, ELECTION).select(RESULT_COLUMNS).sort(keys)
    assert written.columns == list(RESULT_COLUMNS)
    assert written.sort(keys).equals(expected.cast(written.schema))


def test_publishing_swaps_the_file_and_stamps_the_run(tmp_path):
    built = build_marts(tallies(), VOTES, units_from_registry(REGISTRY, ELECTION), ELECTION)
    target = tmp_path / "marts.duckdb"
    write_pending(target, built.results_wide, {"turnout": built.turnout}, ELECTION)
    assert not target.exists()
    tables = publish_pending(target, "run-1")
    assert tables == ["publication", "results", "turnout"]
    assert not pending_path(target).exists()
    with connect(target, read_only=True) as con:
        assert con.sql("select run_id from publication").fetchall() == [("run-1",)]
        national = con.sql("select sum(votes) from results where level = 'national'").pl()
    assert national.item() == VOTES_LONG["votes"].sum()
    with pytest.raises(FileNotFoundError, match="no marts are waiting"):
        publish_pending(target, "run-2")
