"""One writer, one queue: a run holds the data directory for as long as it runs; another waits
or fails naming the holder; a run killed holding it never blocks the next, which marks it
failed in Dagster's instance."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import dagster as dg
import pytest

from orchestration.runner import failure_messages, run_tally_job
from orchestration.writer_lock import LOCK_NAME, WriterBusy, WriterLock
from tests.conftest import LANDED_NOW, NO_GX_WORKER, SMALL_TABLES


def test_a_second_writer_waits_then_fails_naming_the_holder(tmp_path):
    first, second = WriterLock(tmp_path), WriterLock(tmp_path)
    assert first.acquire("run-a", 0).run_id is None
    started = time.monotonic()
    with pytest.raises(WriterBusy, match=r"run run-a \(pid \d+, since .*waited 1 s"):
        second.acquire("run-b", 1)
    assert 0.9 < time.monotonic() - started < 5
    first.release()
    assert second.acquire("run-b", 0).run_id == "run-a", "it says who held it before"
    second.release()


@pytest.mark.e2e
def test_a_run_that_finds_the_directory_busy_says_so(ran_sample_copy, tallyhouse):
    settings = ran_sample_copy.settings
    holder = WriterLock(settings.data_dir)
    holder.acquire("the-other-run", 0)
    try:
        done = tallyhouse("run", "--no-wait", "--data-dir", str(settings.data_dir))
    finally:
        holder.release()
    assert done.returncode == 1
    assert "run not started: another run is writing to " in done.stderr
    assert "run the-other-run (pid " in done.stderr
    assert tallyhouse("run", "--no-wait", "--data-dir", str(settings.data_dir)).returncode == 0


@pytest.mark.e2e
def test_a_run_killed_holding_the_lock_is_marked_failed_by_the_next(tmp_path):
    from landing.files import write_synthetic
    from orchestration.settings import Settings, prepare_data_dir
    from transforms.synthetic.election import generate

    settings = Settings(tmp_path / "data")
    prepare_data_dir(settings)
    # the run holds the lock from its start to its end, seconds even for the small sample:
    # it is killed within a poll (50 ms) of taking it, and the next run loads the same files
    write_synthetic(generate(SMALL_TABLES, seed=3, drops=1), settings.landing)
    env = {**os.environ, "DAGSTER_HOME": str(settings.dagster_home), **LANDED_NOW, **NO_GX_WORKER}
    child = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run", "--data-dir", str(settings.data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = settings.data_dir / LOCK_NAME
    deadline = time.monotonic() + 120
    while f'"pid": {child.pid}' not in (lock.read_text() if lock.exists() else ""):
        assert time.monotonic() < deadline and child.poll() is None, "the run never took the lock"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    try:
        with dg.DagsterInstance.get() as instance:
            killed = instance.get_runs()[0]
            assert killed.status == dg.DagsterRunStatus.STARTED, "the killed run stays STARTED"
            result = run_tally_job(replace(settings, writer_wait_seconds=0), instance, False)
            assert result.success, failure_messages(result)
            assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    finally:
        del os.environ["DAGSTER_HOME"]
