"""Analysts read the published copy: a reader never blocks a run, a run never blocks a reader."""

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import published, run

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI

READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    path, seconds = sys.argv[1], float(sys.argv[2])
    held = duckdb.connect(path, read_only=True)          # held open for the whole run
    first = held.sql("select sum(votes) from results where level = 'national'").fetchall()[0][0]
    print("ready", flush=True)
    fresh, errors, deadline = 0, [], time.monotonic() + seconds
    while time.monotonic() < deadline:                   # new readers keep opening meanwhile
        try:
            with duckdb.connect(path, read_only=True) as con:
                con.sql("select count(*) from turnout").fetchall()
            fresh += 1
        except Exception as error:
            errors.append(str(error))
        time.sleep(0.02)
    again = held.sql("select sum(votes) from results where level = 'national'").fetchall()[0][0]
    print(json.dumps({"first": first, "again": again, "fresh": fresh, "errors": errors[:3]}))
    """
)


def test_a_reader_holding_the_marts_neither_blocks_nor_is_blocked(settings, sample):
    assert run(settings).success
    before = published(settings, "select sum(votes) v from results where level = 'national'")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.published), "6"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "ready"
        (settings.landing / "tallies_003.csv").unlink()  # the next run publishes other numbers
        settings.warehouse.unlink()
        assert run(settings).success
        report = json.loads(reader.stdout.readline())
    finally:
        reader.wait(timeout=60)
    assert report["errors"] == []
    assert report["fresh"] > 10
    assert report["first"] == report["again"] == before["v"][0], "old readers keep the old copy"
    after = published(settings, "select sum(votes) v from results where level = 'national'")
    assert after["v"][0] < before["v"][0], "new readers see the new copy"
