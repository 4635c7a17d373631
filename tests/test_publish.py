"""Writing the marts into the pending copy, and swapping it in."""

import logging
from datetime import datetime

import duckdb
import polars as pl
import pytest

from tests.test_rollup import ELECTION, REGISTRY, VOTES, VOTES_LONG, tallies
from transforms.rollup import RESULT_COLUMNS, build_marts, results_long, units_from_registry
from transforms.staging import votes_wide
from warehouse.db import connect
from warehouse.publish import Publication, pending_path, publish, write_mart, write_pending


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


def test_a_unit_without_valid_votes_keeps_its_result_rows(tmp_path):
    """A table where no one cast a valid vote has 0 votes and no share (null) per candidate:
    its rows are written all the same (UNPIVOT drops rows holding a null unless told not to)."""
    counts = tallies().with_columns(
        pl.when(pl.col("tally_id") == 3)
        .then(0)
        .otherwise(pl.col("valid_votes"))
        .alias("valid_votes")
    )
    zero = VOTES_LONG.with_columns(
        pl.when(pl.col("tally_id") == 3).then(0).otherwise(pl.col("votes")).alias("votes")
    )
    built = build_marts(
        counts, votes_wide(zero, ELECTION), units_from_registry(REGISTRY, ELECTION), ELECTION
    )
    target = tmp_path / "marts.duckdb"
    write_pending(target, built.results_wide, {}, ELECTION)
    with connect(pending_path(target), read_only=True) as con:
        written = con.sql("select * from results").pl()
    expected = results_long(built.results_wide, ELECTION)
    assert written.height == expected.height
    s1 = written.filter(unit_code="S1.1").sort("candidate_id")
    assert s1["candidate_id"].to_list() == ["a", "b", "c"]
    assert s1["votes"].to_list() == [0, 0, 0] and s1["share"].null_count() == 3


def publication(run_id: str) -> Publication:
    return Publication(run_id, datetime(2026, 7, 28, 21, 0), "lineage:1", 2, "tallies_002.csv")


def pending_marts(target):
    built = build_marts(tallies(), VOTES, units_from_registry(REGISTRY, ELECTION), ELECTION)
    tables = {"turnout": built.turnout, "coverage": built.coverage}
    write_pending(target, built.results_wide, tables, ELECTION)


def history_runs(warehouse) -> list[str]:
    return [r[0] for r in warehouse.execute(HISTORY_RUNS).fetchall()]


HISTORY_RUNS = "select distinct run_id from history.results_history order by 1"


def test_publishing_swaps_the_file_stamps_the_run_and_keeps_one_snapshot(tmp_path):
    target, warehouse = tmp_path / "marts.duckdb", duckdb.connect()
    pending_marts(target)
    assert not target.exists()
    tables = publish(warehouse, target, publication("run-1"), {}, ELECTION)
    assert tables == ["coverage", "publication", "results", "results_history", "turnout"]
    assert not pending_path(target).exists()
    with connect(target, read_only=True) as con:
        assert con.sql("select run_id, staged_generation from publication").fetchall() == [
            ("run-1", "lineage:1")
        ]
        national = con.sql("select sum(votes) from results where level = 'national'").pl()
        published_runs = con.sql("select distinct run_id from results_history").fetchall()
    assert national.item() == VOTES_LONG["votes"].sum()
    assert published_runs == [("run-1",)] and history_runs(warehouse) == ["run-1"]
    with pytest.raises(FileNotFoundError, match="no marts are waiting"):
        publish(warehouse, target, publication("run-2"), {}, ELECTION)
    assert history_runs(warehouse) == ["run-1"]


def test_a_failed_rename_keeps_neither_the_snapshot_nor_a_half_file(tmp_path, monkeypatch):
    target, warehouse = tmp_path / "marts.duckdb", duckdb.connect()
    pending_marts(target)
    publish(warehouse, target, publication("run-1"), {}, ELECTION)
    pending_marts(target)

    def refuse(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("warehouse.publish.os.replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        publish(warehouse, target, publication("run-2"), {}, ELECTION)
    assert history_runs(warehouse) == ["run-1"]
    with connect(target, read_only=True) as con:
        assert con.sql("select run_id from publication").fetchall() == [("run-1",)]


def test_a_mart_that_does_not_match_its_declaration_is_refused(tmp_path):
    target = tmp_path / "marts.duckdb"
    built = build_marts(tallies(), VOTES, units_from_registry(REGISTRY, ELECTION), ELECTION)
    with pytest.raises(ValueError, match=r"undeclared columns \['surprise'\]"):
        write_pending(
            target,
            built.results_wide,
            {"turnout": built.turnout.with_columns(surprise=1)},
            ELECTION,
        )
    with pytest.raises(ValueError, match=r"missing columns \['turnout'\]"):
        write_pending(
            target, built.results_wide, {"turnout": built.turnout.drop("turnout")}, ELECTION
        )


def test_a_column_of_another_type_is_cast_to_its_declared_one_and_logged(caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("warehouse.publish"), "disabled", False)
    built = build_marts(tallies(), VOTES, units_from_registry(REGISTRY, ELECTION), ELECTION)
    narrow = built.turnout.with_columns(pl.col("registered").cast(pl.Int32))
    with duckdb.connect() as con, caplog.at_level(logging.WARNING, logger="warehouse.publish"):
        write_mart(con, "turnout", narrow, ELECTION)
        types = dict(con.execute("select column_name, data_type from duckdb_columns()").fetchall())
    assert types["registered"] == "BIGINT"
    assert "mart turnout cast to its declared types: registered INTEGER → BIGINT" in caplog.text
