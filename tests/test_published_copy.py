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
    import json, select, sys, time, duckdb
    path = sys.argv[1]
    held = duckdb.connect(path, read_only=True)          # held open for the whole run
    first = held.sql("select sum(votes) from results where level = 'national'").fetchall()[0][0]
    print("ready", flush=True)
    fresh, errors = 0, []
    while not select.select([sys.stdin], [], [], 0)[0]:  # till stdin closes, new readers open
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


def test_a_reader_holding_the_marts_neither_blocks_nor_is_blocked(ran_sample_copy):
    settings = ran_sample_copy.settings  # run and published once already
    before = published(settings, "select sum(votes) v from results where level = 'national'")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "ready"
        (settings.landing / "tallies_003.csv").unlink()  # the next run publishes other numbers
        settings.warehouse.unlink()
        assert run(settings).success
        reader.stdin.close()  # the run is over: the reader stops opening new connections
        report = json.loads(reader.stdout.readline())
    finally:
        if not reader.stdin.closed:
            reader.stdin.close()
        reader.wait(timeout=60)
    assert report["errors"] == []
    assert report["fresh"] > 10
    assert report["first"] == report["again"] == before["v"][0], "old readers keep the old copy"
    after = published(settings, "select sum(votes) v from results where level = 'national'")
    assert after["v"][0] < before["v"][0], "new readers see the new copy"
