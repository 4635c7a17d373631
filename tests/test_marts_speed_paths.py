"""The marts step's faster paths give what the plain ones gave: the pending file written on a
thread of its own (warehouse.publish.MartWriter), a general election's staged tallies read
without pivoting its votes (RunFrames.staged with no candidate), and the wide climb's check of
one row per unit on the unit code alone (transforms.contest_results); and an incremental
update names a unit the registry lacks as the full build does (incremental = full)."""

import threading

import duckdb
import polars as pl
import pytest

from tests.test_general_marts_speed import ELECTION, LEVELS, _lines, _names, _tallies
from tests.test_run_frames import warehouse
from transforms.contest_results import contest_results, wide_contest_results
from transforms.delta import Deltas, updated_coverage
from transforms.rollup import COVERAGE_COLUMNS
from warehouse.db import connect
from warehouse.publish import MartWriter, pending_path, pending_writer
from warehouse.run_frames import RunFrames


def _append(con, table: str, value: int, log: list[str]) -> None:
    con.execute(f"create table if not exists {table} (v bigint)")
    con.execute(f"insert into {table} values ({value})")
    log.append(f"{table}{value}:{threading.current_thread().name}")


def test_the_writes_run_in_order_on_their_own_thread_and_all_end_with_the_block(tmp_path):
    target, log, writes = tmp_path / "marts.duckdb", [], range(2 * MartWriter.AHEAD)
    with pending_writer(target) as writer:
        for i in writes:
            writer.submit(_append, "t", i, log)
    assert [entry.split(":")[0] for entry in log] == [f"t{i}" for i in writes]
    assert all("mart-writer" in entry for entry in log)
    with connect(pending_path(target), read_only=True) as con:
        assert con.execute("select list(v order by v) from t").fetchall()[0][0] == list(writes)


def test_a_failed_write_is_raised_by_the_block():
    def failing(con):
        raise ValueError("no room")

    with duckdb.connect() as con:
        writer = MartWriter(con)
        writer.submit(failing)
        with pytest.raises(ValueError, match="no room"):
            writer.finish()


def test_a_failing_caller_drops_the_writes_not_begun(tmp_path):
    started, release, log = threading.Event(), threading.Event(), []

    def slow(con):
        started.set()
        release.wait(5)
        log.append("slow")

    with pytest.raises(RuntimeError, match="caller"):
        with pending_writer(tmp_path / "marts.duckdb") as writer:
            writer.submit(slow)
            writer.submit(_append, "t", 1, log)
            started.wait(5)
            release.set()
            raise RuntimeError("caller")
    assert log[0] == "slow"  # the write under way ended before the connection closed


@pytest.mark.parametrize("district", [None, "state"])
def test_one_source_and_contest_climb_wide_as_before(district):
    tallies, votes = _tallies(5, district)
    tallies = tallies.with_columns(pl.lit("a").alias("source_id"))
    names, lines = _names(tallies), _lines(votes)
    wide = wide_contest_results(tallies, votes, names, lines, ELECTION)
    expected = contest_results(tallies, votes, names, lines, ELECTION)
    got = wide.at_levels(LEVELS)
    assert got.sort(got.columns).equals(expected.sort(expected.columns))


def test_one_source_with_a_unit_code_under_two_parents_is_left_to_the_long_climb():
    tallies, votes = _tallies(6, None, n=60)
    tallies = tallies.with_columns(
        pl.lit("a").alias("source_id"),
        pl.when(pl.col("tally_id") == 0)
        .then(pl.lit("0909"))
        .otherwise("municipality_code")
        .alias("municipality_code"),
    )
    # the same parish code now sits under two municipalities
    tallies = tallies.with_columns(
        pl.when(pl.col("tally_id") == 0)
        .then(pl.col("parish_code").filter(pl.col("tally_id") == 1).first())
        .otherwise("parish_code")
        .alias("parish_code")
    )
    assert wide_contest_results(tallies, votes, _names(tallies), _lines(votes), ELECTION) is None


def test_no_candidate_asked_reads_the_tallies_and_quarantine_but_no_votes():
    con, frames = warehouse(), RunFrames()
    tallies, votes, quarantine = frames.staged(con, [])
    assert tallies["tally_id"].to_list() == [1]
    assert votes.columns == ["tally_id"] and votes.is_empty()
    assert quarantine.columns == ["tally_id"]
    assert frames.staged(con, []) is frames.staged(con, [])
    assert frames.staged(con, ["c1"])[1]["c1"].to_list() == [7]  # kept apart


def test_an_update_names_a_unit_the_registry_lacks_by_its_code_as_a_full_build_does():
    keys = {"source_id": ["s"], "contest_id": ["c"], "level": ["table"], "unit_code": ["09.9"]}
    old = pl.DataFrame(
        schema={
            **dict.fromkeys(COVERAGE_COLUMNS[:5], pl.String),
            "parent_code": pl.String,
            "expected": pl.Int64,
            "received": pl.Int64,
            "counted": pl.Int64,
            "percent_reporting": pl.Float64,
        }
    ).drop("parent_code")
    coverage = pl.DataFrame({**keys, "received": [1], "counted": [0]})
    empty = pl.DataFrame()
    units = pl.DataFrame(
        {"level": ["table"], "unit_code": ["01.1"], "unit_name": ["One"], "expected": [1]}
    )
    new = updated_coverage(old, Deltas(empty, empty, coverage, empty), units)
    assert new.select("unit_code", "unit_name", "received").rows() == [("09.9", "09.9", 1)]
