"""Settled files only, from the command line as from the sensor: a file changed within the last
TALLYHOUSE_SETTLE_SECONDS may still be being copied in, and waits for the next run."""

import os
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
    done = tallyhouse("run", *args, env={"TALLYHOUSE_SETTLE_SECONDS": "60"})
    assert done.returncode == 0, done.stderr
    assert "tallies_011.csv: changed " in done.stdout and "left for the next run" in done.stdout
    assert "tallies_011.csv" not in _delivered(settings)
    past = time.time() - 120
    os.utime(fresh, (past, past))
    assert tallyhouse("run", *args, env={"TALLYHOUSE_SETTLE_SECONDS": "60"}).returncode == 0
    assert "tallies_011.csv" in _delivered(settings)
