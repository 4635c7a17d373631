"""Settled files only, from the command line as from the sensor: a file changed within the last
TALLYHOUSE_SETTLE_SECONDS may still be being copied in, and waits for the next run."""

import os
import threading
import time

import pytest

from warehouse.db import connect

pytestmark = pytest.mark.e2e  # the CLI


def _delivered(settings) -> list[str]:
    with connect(settings.warehouse, read_only=True) as con:
        return [r[0] for r in con.execute("select file_name from raw.deliveries").fetchall()]


def test_a_file_still_changing_waits_for_the_next_run(ran_sample_copy, tallyhouse):
    settings = ran_sample_copy.settings
    args = ("--data-dir", str(settings.data_dir))
    source = settings.landing / "tallies_001.csv"
    lines = source.read_text().splitlines()
    fresh = settings.landing / "tallies_011.csv"
    fresh.write_text("\n".join(lines[:3]) + "\n")  # two tallies again: a new delivery
    stop = threading.Event()  # a copy that keeps touching it: never settles while we wait

    def keep_touching() -> None:
        while not stop.wait(0.1):
            os.utime(fresh)

    touching = threading.Thread(target=keep_touching)
    touching.start()
    try:
        done = tallyhouse("run", *args, env={"TALLYHOUSE_SETTLE_SECONDS": "1"})
    finally:
        stop.set()
        touching.join()
    assert done.returncode == 0, done.stderr
    assert "tallies_011.csv: still changing" in done.stdout
    assert "left for the next run" in done.stdout
    assert "tallies_011.csv" not in _delivered(settings)
    os.utime(fresh)  # written just now, then left alone: the run waits for it and loads it
    started = time.monotonic()
    assert tallyhouse("run", *args, env={"TALLYHOUSE_SETTLE_SECONDS": "3"}).returncode == 0
    assert "tallies_011.csv" in _delivered(settings)
    assert time.monotonic() - started >= 1.5, "it waited for the file to settle"
