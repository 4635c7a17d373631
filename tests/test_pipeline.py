"""End to end through Dagster on a small generated election (the session's shared sample run,
or a copy of it where a test runs again)."""

import shutil

import polars as pl
import pytest

from tests.conftest import assert_same_marts, mart_snapshot, published, run, truth
from warehouse.db import connect
from warehouse.raw_load import delivered_unchanged

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI


def test_golden_totals_equal_the_generators_truth(ran_sample):
    settings = ran_sample.settings
    expected = truth(settings)
    national = published(
        settings, "select candidate_id, votes from results where level = 'national'"
    )
    assert dict(national.iter_rows()) == expected["national"]["candidates"]
    turnout = published(settings, "select * from turnout where level = 'national'").row(
        0, named=True
    )
    for field in ("registered", "valid_votes", "null_votes", "blank_votes", "total_votes"):
        assert turnout[field] == expected["national"][field], field
    states = published(
        settings, "select unit_code, candidate_id, votes from results where level = 'state'"
    )
    got = {}
    for state, candidate, votes in states.iter_rows():
        got.setdefault(state, {})[candidate] = votes
    assert got == {s: t["candidates"] for s, t in expected["states"].items()}
    state_turnout = published(
        settings, "select unit_code, valid_votes, registered from turnout where level = 'state'"
    )
    for state, valid, registered in state_turnout.iter_rows():
        assert valid == expected["states"][state]["valid_votes"]
        assert registered == expected["states"][state]["registered"]


def test_every_level_is_published_with_names_and_coverage(ran_sample):
    settings, sample = ran_sample.settings, ran_sample.sample
    levels = published(
        settings, "select level, count(distinct unit_code) n from results group by 1"
    )
    counts = dict(levels.iter_rows())
    registry = sample.registry
    assert counts == {
        "national": 1,
        "state": registry["state_code"].n_unique(),
        "municipality": registry["municipality_code"].n_unique(),
        "parish": registry["parish_code"].n_unique(),
        "centre": registry["centre_code"].n_unique(),
        "table": registry.height,
    }
    unnamed = published(settings, "select count(*) from results where unit_name is null").item()
    assert unnamed == 0
    coverage = published(settings, "select * from coverage where level = 'national'").row(
        0, named=True
    )
    assert coverage["expected"] == coverage["counted"] == registry.height
    assert coverage["percent_reporting"] == 100.0


def test_running_twice_gives_identical_marts(ran_sample_copy):
    settings = ran_sample_copy.settings  # run once already
    first = mart_snapshot(settings)
    assert run(settings).success
    second = mart_snapshot(settings)
    assert_same_marts(first, second)


def test_redelivered_file_changes_nothing(ran_sample_copy):
    settings, sample = ran_sample_copy.settings, ran_sample_copy.sample  # run once already
    before = mart_snapshot(settings)
    shutil.copy(settings.landing / "tallies_002.csv", settings.landing / "tallies_009.csv")
    assert run(settings).success
    with connect(settings.warehouse, read_only=True) as con:
        deliveries = con.sql("select count(*) from raw.deliveries where kind = 'feed'").fetchall()
        raw_rows = con.sql("select count(*) from raw.tallies_sample").fetchall()
    assert deliveries[0][0] == 3
    assert raw_rows[0][0] == sum(d.height for d in sample.drops)
    after = mart_snapshot(settings)
    assert_same_marts(before, after)


def test_drops_arriving_one_by_one_give_the_same_marts(ran_sample_copy, tmp_path):
    settings = ran_sample_copy.settings  # every drop run at once already
    at_once = mart_snapshot(settings)
    drops = sorted(settings.landing.glob("tallies_*.csv"))
    held = tmp_path / "held"
    held.mkdir()
    for path in drops:
        shutil.move(path, held / path.name)
    settings.warehouse.unlink()
    for path in drops:
        shutil.move(held / path.name, path)
        assert run(settings).success
    one_by_one = mart_snapshot(settings)
    assert_same_marts(at_once, one_by_one)


def test_provenance_reaches_every_staged_tally(ran_sample):
    settings, sample = ran_sample.settings, ran_sample.sample
    with connect(settings.warehouse, read_only=True) as con:
        staged = con.sql(
            "select t.file_sha256, t.source_row, d.file_name from staged.tallies t "
            "join raw.deliveries d using (file_sha256)"
        ).pl()
    assert staged.height == sum(d.height for d in sample.drops)
    assert staged["file_sha256"].str.len_chars().unique().to_list() == [64]
    assert staged.filter(pl.col("source_row") < 1).is_empty()


def test_a_landed_file_is_hashed_again_only_when_it_changed(ran_sample_copy):
    settings = ran_sample_copy.settings  # run once already; the copy keeps modification times
    path = settings.landing / "tallies_001.csv"
    with connect(settings.warehouse, read_only=True) as con:
        known = delivered_unchanged(con, path)
    assert known is not None, "an untouched delivered file is known by name, size and time"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "".join(reversed(lines[1:])))  # same rows, other bytes
    with connect(settings.warehouse, read_only=True) as con:
        assert delivered_unchanged(con, path) is None, "a rewritten file is hashed again"
    assert run(settings).success
    with connect(settings.warehouse, read_only=True) as con:
        files = con.sql("select count(*) from raw.deliveries where kind = 'feed'").fetchall()
    assert files[0][0] == 4, "its new bytes are a new delivery"
