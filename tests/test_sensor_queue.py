"""The landing sensor and the command line share one queue: files the command line loaded are
asked for no run; while a run writes, the sensor skips the tick and keeps its place; a sensor run
that failed on the writer lock is asked for again and loads its file once the lock is free."""

import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from landing.files import sha256_file, write_synthetic
from orchestration.definitions import build_definitions
from orchestration.runner import failure_messages, run_tally_job
from orchestration.sensors import LANDING_SENSOR, SENSOR_NAME_TAG
from orchestration.settings import Settings, prepare_data_dir
from orchestration.writer_lock import WriterBusy, WriterLock, reading
from tests.conftest import LANDED_NOW
from transforms.synthetic.election import generate
from warehouse.db import connect


def test_the_sensors_moment_of_reading_never_refuses_a_run(tmp_path):
    holder = WriterLock(tmp_path)
    holder.acquire("a-run", 0)
    with pytest.raises(WriterBusy, match=r"a run is writing to .*run a-run \(pid \d+"):
        with reading(tmp_path):
            pass
    holder.release()
    done = threading.Event()

    def read_a_moment():
        with reading(tmp_path):
            done.set()
            time.sleep(0.3)

    reader = threading.Thread(target=read_a_moment)
    reader.start()
    done.wait(5)
    started = time.monotonic()
    assert WriterLock(tmp_path).acquire("run-no-wait", 0).run_id == "a-run"
    assert time.monotonic() - started < 2, "a run with no wait waits out the reader's moment"
    reader.join()


def settled(folder):
    """Files copied in long ago: the sensor takes them at its first look."""
    for path in folder.iterdir():
        os.utime(path, (time.time() - 600, time.time() - 600))


def tick(sensor, instance, cursor=None):
    """One evaluation of the sensor: its result (run requests or a skip) and its cursor."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = sensor(context)
    return result, context.cursor


def deliveries(settings, name) -> int:
    with connect(settings.warehouse, read_only=True) as con:
        found = con.sql("select count(*) from raw.deliveries where file_name = ?", params=[name])
        return found.fetchall()[0][0]


@pytest.fixture(scope="module")
def _loaded_by_the_cli_once(tmp_path_factory) -> Path:
    """loaded_by_the_cli's folder, made once for the module: `data` and `held`."""
    from orchestration.cli import main

    root = tmp_path_factory.mktemp("loaded_by_the_cli")
    settings = Settings(root / "data")
    prepare_data_dir(settings)
    write_synthetic(generate(300, seed=41, drops=3), settings.landing)
    held = root / "held"
    held.mkdir()
    shutil.move(settings.landing / "tallies_003.csv", held / "tallies_003.csv")
    saved = dict(os.environ)  # as the tallyhouse fixture does: `run` exports its settings
    os.environ.clear()
    os.environ.update({k: v for k, v in saved.items() if not k.startswith("TALLYHOUSE_")})
    os.environ.update(LANDED_NOW)
    try:
        assert main(["run", "--data-dir", str(settings.data_dir)]) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    settled(settings.landing)
    return root


@pytest.fixture
def loaded_by_the_cli(settings, tmp_path, _loaded_by_the_cli_once):
    """A generated election of three drops, the first two loaded by `tallyhouse run` into
    `settings`' data directory; the third held back in `held`. (One run for the module; each
    test gets a copy of its folder, modification times kept.)"""
    shutil.rmtree(settings.data_dir)
    shutil.copytree(_loaded_by_the_cli_once / "data", settings.data_dir)
    held = tmp_path / "held"
    shutil.copytree(_loaded_by_the_cli_once / "held", held)
    return held


def landing_sensor(settings):
    return build_definitions(settings).resolve_sensor_def(LANDING_SENSOR)


def land_the_third(settings, held):
    drop = settings.landing / "tallies_003.csv"
    shutil.move(held / drop.name, drop)
    settled(settings.landing)
    return drop


@pytest.mark.e2e
def test_a_sensor_started_after_the_cli_asks_for_nothing_then_one_run_per_new_file(
    settings, loaded_by_the_cli
):
    sensor = landing_sensor(settings)
    with dg.instance_for_test() as instance:
        result, cursor = tick(sensor, instance)
        assert isinstance(result, dg.SkipReason), "every landed file is delivered already"
        drop = land_the_third(settings, loaded_by_the_cli)
        result, cursor = tick(sensor, instance, cursor)
        assert [r.run_key for r in result] == [sha256_file(drop)]
        assert result[0].tags["tallyhouse/file"] == drop.name


@pytest.mark.e2e
def test_while_a_run_writes_the_sensor_skips_the_tick_and_keeps_its_place(
    settings, loaded_by_the_cli
):
    sensor, drop = landing_sensor(settings), land_the_third(settings, loaded_by_the_cli)
    holder = WriterLock(settings.data_dir)
    holder.acquire("the-cli-run", 0)
    with dg.instance_for_test() as instance:
        try:
            result, cursor = tick(sensor, instance)
        finally:
            holder.release()
        assert isinstance(result, dg.SkipReason)
        assert "run the-cli-run (pid " in result.skip_message
        assert cursor is None, "the cursor did not move past the files it could not check"
        result, _ = tick(sensor, instance, cursor)
        assert [r.run_key for r in result] == [sha256_file(drop)]


@pytest.mark.e2e
def test_a_sensor_run_that_failed_on_the_lock_is_asked_for_again_and_loads(
    settings, loaded_by_the_cli
):
    sensor, drop = landing_sensor(settings), land_the_third(settings, loaded_by_the_cli)
    no_wait = replace(settings, writer_wait_seconds=0)

    def launch(request, instance):  # as the daemon launches a sensor's run request
        tags = {**request.tags, SENSOR_NAME_TAG: LANDING_SENSOR, "dagster/run_key": request.run_key}
        return run_tally_job(no_wait, instance, show_progress=False, tags=tags)

    with dg.instance_for_test() as instance:
        (request,), cursor = tick(sensor, instance)
        holder = WriterLock(settings.data_dir)
        holder.acquire("the-cli-run", 0)  # a command-line run takes the lock first
        try:
            failed = launch(request, instance)
        finally:
            holder.release()
        assert not failed.success
        assert any("another run is writing" in m for m in failure_messages(failed))
        assert deliveries(settings, drop.name) == 0
        (retry,), cursor = tick(sensor, instance, cursor)
        assert retry.run_key == f"{sha256_file(drop)}:2"
        assert retry.tags["tallyhouse/file"] == drop.name
        assert launch(retry, instance).success
        assert deliveries(settings, drop.name) == 1
        result, _ = tick(sensor, instance, cursor)
        assert isinstance(result, dg.SkipReason), "loaded: nothing more to ask for"


@pytest.mark.e2e
def test_a_registry_landed_first_waits_for_the_first_feed_and_a_changed_one_gets_a_run(
    settings, tmp_path
):
    """Election night starts with the registry: no run of its own (it would fail: nothing to
    count yet); the first feed's run loads it; once feeds are in, a changed registry is run."""
    held = tmp_path / "held"
    write_synthetic(generate(200, seed=43, drops=1), held)
    settings.landing.mkdir(parents=True, exist_ok=True)
    registry = settings.landing / "registry.csv"
    shutil.copy(held / "registry.csv", registry)
    settled(settings.landing)
    sensor = landing_sensor(settings)

    def launch(request, instance):
        tags = {**request.tags, SENSOR_NAME_TAG: LANDING_SENSOR, "dagster/run_key": request.run_key}
        return run_tally_job(settings, instance, show_progress=False, tags=tags)

    with dg.instance_for_test() as instance:
        result, cursor = tick(sensor, instance)
        assert isinstance(result, dg.SkipReason), "a registry alone asks for no run"
        feed = settings.landing / "tallies_001.csv"
        shutil.copy(held / feed.name, feed)
        settled(settings.landing)
        result, cursor = tick(sensor, instance, cursor)
        assert [r.tags["tallyhouse/file"] for r in result] == [feed.name]
        assert launch(result[0], instance).success
        assert deliveries(settings, "registry.csv") == 1, "the feed's run loaded the registry"
        header, *lines = registry.read_text().splitlines()
        registry.write_text("\n".join([header, *reversed(lines)]) + "\n")  # same units, new bytes
        settled(settings.landing)
        result, _ = tick(sensor, instance, cursor)
        assert [r.run_key for r in result] == [sha256_file(registry)]
