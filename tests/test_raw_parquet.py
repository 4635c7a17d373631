"""A delivered feed file's raw rows are one Parquet file of the data directory and
raw.tallies_<source> a view over them (warehouse/raw_files.py): found from any working
directory and wherever the data directory moves, written whole before the delivery names it
(a run killed or failing in between loads the file again, over whatever it left under the
name), the same bytes landed again adding nothing, a backup of the warehouse with its raw/
whole, and a warehouse made when they were tables turned into files once, rows and order
kept."""

import os
import shutil
from dataclasses import replace

import duckdb
import polars as pl
import pytest

from landing.files import matching_files
from landing.synthetic_general import write_synthetic_general
from orchestration.cli_commands.common import election_config
from orchestration.settings import Settings
from transforms.synthetic.general import generate_general
from warehouse import raw_files, raw_load
from warehouse.db import connect
from warehouse.raw_files import relative_path, row_order, scan
from warehouse.raw_load import LOADED, SKIPPED, RawNotWritten, bind_election, load_feed_files
from warehouse.schema import ensure_schema

RAW = "select * from raw.tallies_general"


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    write_synthetic_general(generate_general(60, contests=3, seed=9, drops=3), landing)
    settings = replace(Settings(landing.parent / "data"), election="general")
    config = election_config(settings)
    return config, matching_files(landing, config.contracts)


def _warehouse(folder, config):
    folder.mkdir(exist_ok=True)
    con = connect(folder / "warehouse.duckdb")
    ensure_schema(con)
    bind_election(con, config.election.id)
    return con


def _load(con, config, files, run_id="run"):
    return [o for _, _, o in load_feed_files(con, files, config.election, run_id)]


def test_each_delivery_is_a_file_the_view_reads_from_anywhere(tmp_path, landed, monkeypatch):
    config, files = landed
    con = _warehouse(tmp_path / "data", config)
    outcomes = _load(con, config, files)
    assert [o.status for o in outcomes] == [LOADED] * len(files)
    for o in outcomes:
        assert (tmp_path / "data" / relative_path("general", o.file_sha256)).is_file()
    rows = con.sql(RAW).fetchall()
    ordered = con.sql(
        f"select r.* from {scan(con, 'tallies_general')} r order by {row_order('r')}"
    ).fetchall()
    con.close()
    assert rows == ordered and len(rows) == sum(o.rows for o in outcomes)
    assert [r[0] for r in rows] == [o.file_sha256 for o in outcomes for _ in range(o.rows)]
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "data", moved)
    monkeypatch.chdir(tmp_path)  # nothing is found relative to the working directory
    with connect(moved / "warehouse.duckdb", read_only=True) as again:
        assert again.sql(RAW).fetchall() == rows


def test_a_file_written_but_not_recorded_is_loaded_again(tmp_path, landed, monkeypatch):
    config, files = landed
    con = _warehouse(tmp_path / "data", config)

    def killed(*_args):
        raise KeyboardInterrupt  # the run dies after writing, before recording

    with monkeypatch.context() as patched:
        patched.setattr(raw_load, "_store", killed)
        with pytest.raises(KeyboardInterrupt):
            _load(con, config, files[:1], "killed")
    assert not con.sql("select * from raw.deliveries").fetchall()
    written = tmp_path / "data" / "raw" / "general"
    assert len(list(written.glob("*.parquet"))) == 1, "a file no delivery names"
    (written / f".{'0' * 64}.parquet.1.new").write_bytes(b"half")  # a write killed midway
    [again] = _load(con, config, files[:1], "again")
    assert again.status == LOADED and again.rows == len(con.sql(RAW).fetchall())
    assert [p.name for p in written.iterdir()] == [f"{again.file_sha256}.parquet"]
    con.close()


def test_what_a_killed_run_left_under_the_name_is_replaced_not_read(tmp_path, landed):
    """A killed run's file no delivery names may hold other rows (its landing file's contract
    changed since): the next load writes the file over it, and the view reads only that."""
    config, files = landed
    con = _warehouse(tmp_path / "data", config)
    sha = raw_load.stat_and_hash(files[0][0])[1]
    stale = tmp_path / "data" / relative_path("general", sha)
    stale.parent.mkdir(parents=True)
    pl.DataFrame({"file_sha256": [sha], "source_row": [10**9]}).write_parquet(stale)
    [outcome] = _load(con, config, files[:1])
    rows = con.sql("select source_row from raw.tallies_general").fetchall()
    con.close()
    assert outcome.status == LOADED and len(rows) == outcome.rows > 1
    assert (10**9,) not in rows


def test_the_same_bytes_landed_again_add_no_file_and_no_row(tmp_path, landed):
    config, files = landed
    con = _warehouse(tmp_path / "data", config)
    _load(con, config, files)
    before = con.sql(RAW).fetchall()
    written = sorted((tmp_path / "data" / "raw").rglob("*"))
    path, contract = files[1]
    again = tmp_path / f"again_{path.name}"
    shutil.copy(path, again)
    outcomes = _load(con, config, [(again, contract)], "later")
    after = con.sql(RAW).fetchall()
    con.close()
    assert [o.status for o in outcomes] == [SKIPPED]
    assert after == before and sorted((tmp_path / "data" / "raw").rglob("*")) == written


def test_a_backup_is_the_warehouse_with_its_raw_files(tmp_path, landed):
    """docs/deploy.md: warehouse.duckdb and raw/ copied together give the same rows anywhere;
    the warehouse copied alone fails loudly on its raw rows, rather than reading none."""
    config, files = landed
    con = _warehouse(tmp_path / "data", config)
    _load(con, config, files)
    rows = con.sql(RAW).fetchall()
    con.close()
    whole, alone = tmp_path / "backup", tmp_path / "alone"
    for folder in (whole, alone):
        folder.mkdir()
        shutil.copy2(tmp_path / "data" / "warehouse.duckdb", folder)
    shutil.copytree(tmp_path / "data" / "raw", whole / "raw")
    with connect(whole / "warehouse.duckdb", read_only=True) as restored:
        assert restored.sql(RAW).fetchall() == rows
    with connect(alone / "warehouse.duckdb", read_only=True) as lacking:
        with pytest.raises(duckdb.IOException, match="raw/general/"):
            lacking.sql(RAW).fetchall()


def test_a_data_directory_whose_path_holds_a_comma_is_refused(tmp_path):
    """DuckDB's file_search_path is a comma-separated list: such a folder could not be in it."""
    folder = tmp_path / "north,south"
    folder.mkdir()
    with pytest.raises(ValueError, match="comma"):
        connect(folder / "warehouse.duckdb")
    with pytest.raises(ValueError, match="comma"):
        Settings(folder)
    assert not list(folder.iterdir())


def test_a_raw_file_not_written_fails_the_run_and_rejects_nothing(tmp_path, landed, monkeypatch):
    config, files = landed
    con = _warehouse(tmp_path / "data", config)

    def full_disk(*_args):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(raw_load, "write_rows", full_disk)
        with pytest.raises(RawNotWritten, match="No space left"):
            _load(con, config, files)
    assert not con.sql("select * from raw.rejected_files").fetchall()
    assert not con.sql("select * from raw.deliveries").fetchall()
    assert [o.status for o in _load(con, config, files)] == [LOADED] * len(files)
    con.close()


def _older_warehouse(tmp_path, config, files):
    """A warehouse as the raw step left it before the raw files: its raw rows a table, in
    delivery order, and no raw/ folder. (connection, the rows)"""
    con = _warehouse(tmp_path / "data", config)
    _load(con, config, files[:2])
    expected = con.sql(RAW).fetchall()
    con.execute(f"create table raw.tables_era as {RAW}")
    con.execute("drop view raw.tallies_general")
    con.execute("alter table raw.tables_era rename to tallies_general")
    shutil.rmtree(tmp_path / "data" / "raw")
    return con, expected


def test_raw_tables_of_an_older_warehouse_become_files(tmp_path, landed):
    config, files = landed
    con, expected = _older_warehouse(tmp_path, config, files)
    outcomes = _load(con, config, files)
    kinds = con.sql(
        "select table_type from information_schema.tables where table_name = 'tallies_general'"
    ).fetchall()
    rows = con.sql(RAW).fetchall()
    con.close()
    assert kinds == [("VIEW",)]
    assert rows[: len(expected)] == expected
    assert len(rows) == len(expected) + sum(o.rows for o in outcomes if o.status == LOADED)


def test_a_run_killed_turning_tables_into_files_leaves_the_table(tmp_path, landed, monkeypatch):
    """The table is dropped in the transaction that makes the view: a run killed after writing
    the files leaves the table as it was, and the next run turns it into files again."""
    config, files = landed
    con, expected = _older_warehouse(tmp_path, config, files)

    def killed(*_args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(raw_files, "refresh_view", killed)
        with pytest.raises(KeyboardInterrupt):
            _load(con, config, files, "killed")
    kept = con.sql(
        "select table_type from information_schema.tables where table_name = 'tallies_general'"
    ).fetchall()
    assert kept == [("BASE TABLE",)] and con.sql(RAW).fetchall() == expected
    outcomes = _load(con, config, files, "again")
    rows = con.sql(RAW).fetchall()
    con.close()
    assert rows[: len(expected)] == expected
    assert len(rows) == len(expected) + sum(o.rows for o in outcomes if o.status == LOADED)


@pytest.mark.parametrize(
    ("source", "sha"),
    [("general", "ab" * 31), ("general", "AB" * 32), ("a/../b", "ab" * 32), ("x'y", "ab" * 32)],
)
def test_no_path_is_made_of_unchecked_text(source, sha):
    with pytest.raises(ValueError):
        relative_path(source, sha)


def test_paths_are_relative_to_the_data_directory():
    assert not os.path.isabs(relative_path("general", "ab" * 32))
