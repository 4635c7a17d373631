"""The landing sensor: content hashes, not modification times; whole files only; never twice."""

import os
import time

import dagster as dg
import pytest

from landing.files import sha256_file
from landing.watch import WatchCursor, look
from orchestration.definitions import build_definitions
from orchestration.sensors import LANDING_SENSOR

NOW = 1_000_000.0
OLD = NOW - 3_600


def write(path, text, mtime=OLD):
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


def names(ready):
    return [r.path.name for r in ready]


def test_a_new_file_is_taken_once(tmp_path):
    a = write(tmp_path / "tallies_001.csv", "x,y\n1,2\n")
    ready, cursor = look([a], WatchCursor(), now=NOW)
    assert names(ready) == ["tallies_001.csv"] and ready[0].sha256 == sha256_file(a)
    again, _ = look([a], WatchCursor.from_json(cursor.to_json()), now=NOW + 30)
    assert again == []


def test_the_same_bytes_under_another_name_are_nothing_new(tmp_path):
    a = write(tmp_path / "tallies_001.csv", "x,y\n1,2\n")
    _, cursor = look([a], WatchCursor(), now=NOW)
    b = write(tmp_path / "tallies_copy.csv", "x,y\n1,2\n")
    ready, _ = look([a, b], cursor, now=NOW + 30)
    assert ready == []


def test_the_same_name_with_new_content_is_new(tmp_path):
    a = write(tmp_path / "tallies_001.csv", "x,y\n1,2\n")
    _, cursor = look([a], WatchCursor(), now=NOW)
    write(a, "x,y\n1,3\n")
    ready, _ = look([a], cursor, now=NOW + 30)
    assert names(ready) == ["tallies_001.csv"]


def test_a_partial_file_waits_until_it_is_whole(tmp_path):
    temp = write(tmp_path / "tallies_002.csv.part", "x,y\n1,")
    growing = write(tmp_path / "tallies_003.csv", "x,y\n1,", mtime=NOW)
    ready, cursor = look([temp, growing], WatchCursor(), now=NOW)
    assert ready == [], "a temporary name and a file touched just now both wait"
    write(growing, "x,y\n1,2\n3,", mtime=NOW + 10)
    ready, cursor = look([temp, growing], cursor, now=NOW + 10)
    assert ready == [], "its size is still changing"
    ready, cursor = look([temp, growing], cursor, now=NOW + 11)
    assert names(ready) == ["tallies_003.csv"], "same size twice running: whole"


def test_a_file_older_than_the_last_look_is_still_taken(tmp_path):
    a = write(tmp_path / "tallies_001.csv", "x,y\n1,2\n", mtime=NOW)
    _, cursor = look([a], WatchCursor(), now=NOW)
    late = write(tmp_path / "tallies_000.csv", "x,y\n5,6\n", mtime=OLD - 86_400)
    ready, _ = look([a, late], cursor, now=NOW + 30)
    assert "tallies_000.csv" in names(ready)


def test_the_sensor_asks_for_one_run_per_new_file(settings, sample):
    sensor = build_definitions(settings).resolve_sensor_def(LANDING_SENSOR)
    for path in settings.landing.iterdir():
        os.utime(path, (time.time() - 600, time.time() - 600))
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        requests = sensor(context)
        feeds = sorted(settings.landing.glob("tallies_*.csv"))
        # the registry gets no run of its own: the feeds' runs load it
        assert {r.run_key for r in requests} == {sha256_file(p) for p in feeds}
        assert {r.tags["tallyhouse/file"] for r in requests} == {p.name for p in feeds}
        again = sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
        assert isinstance(again, dg.SkipReason)


@pytest.mark.e2e
def test_a_sensor_run_loads_only_the_file_it_was_started_for(settings, sample):
    from orchestration.runner import run_tally_job
    from orchestration.sensors import FILE_TAG, SHA_TAG
    from warehouse.db import connect

    drop = settings.landing / "tallies_002.csv"
    tags = {FILE_TAG: drop.name, SHA_TAG: sha256_file(drop)}
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_tally_job(settings, instance, show_progress=False, tags=tags).success
        with connect(settings.warehouse, read_only=True) as con:
            loaded = con.sql("select file_name from raw.deliveries where kind = 'feed'").fetchall()
        assert loaded == [("tallies_002.csv",)]
        drop.write_text(drop.read_text().replace(",0,", ",1,", 1))  # changed since the look
        assert run_tally_job(settings, instance, show_progress=False, tags=tags).success
        with connect(settings.warehouse, read_only=True) as con:
            again = con.sql("select count(*) from raw.deliveries where kind = 'feed'").fetchall()
        assert again == [(1,)], "the new content waits for the sensor's next look"
