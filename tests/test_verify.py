"""sha256 is the truth: a file whose bytes changed but whose size and modification time did not
is found by `tallyhouse verify` and loaded by `run --full`, which hashes every landed file."""

import os

import pytest

from tests.conftest import run
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # runs the job and the CLI


def _same_size_new_bytes(path) -> None:
    """Change one digit of the last row's votes, keeping the size and the modification time."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    at = len(data) - 2  # the last row's last digit (the file ends with a line break)
    data[at] = ord("1") if data[at] != ord("1") else ord("2")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


def _deliveries(settings) -> int:
    with connect(settings.warehouse, read_only=True) as con:
        return con.sql("select count(*) from raw.deliveries").fetchall()[0][0]


def test_verify_finds_changed_bytes_and_a_full_run_loads_them(ran_sample_copy, tallyhouse):
    settings = ran_sample_copy.settings
    args = ("--data-dir", str(settings.data_dir))
    done = tallyhouse("verify", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "delivered file(s) hold the bytes they were delivered with." in done.stdout
    feed = settings.landing / "tallies_003.csv"
    _same_size_new_bytes(feed)
    delivered = _deliveries(settings)
    assert run(settings).success
    assert _deliveries(settings) == delivered, "an incremental run trusts size and time"
    done = tallyhouse("verify", *args)
    assert done.returncode == 1
    assert "  tallies_003.csv: changed: delivered " in done.stdout and "1 do not." in done.stdout
    assert tallyhouse("run", "--full", *args).returncode == 0
    assert _deliveries(settings) == delivered + 1, "a full run hashes every file: a new delivery"
    assert tallyhouse("verify", *args).returncode == 0
    feed.unlink()
    done = tallyhouse("verify", *args)
    assert done.returncode == 1 and "tallies_003.csv: gone: " in done.stdout
    assert "--landing" not in done.stdout, "one file gone is no sign of another folder"
    elsewhere = settings.data_dir / "elsewhere"
    elsewhere.mkdir()
    done = tallyhouse("verify", *args, "--landing", str(elsewhere))
    assert done.returncode == 1
    assert f"None of them is in {elsewhere}: if the runs read another folder" in done.stdout
