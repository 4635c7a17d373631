"""`tallyhouse run` as a whole process, as the speed goals measure it: a run with nothing new
never imports Great Expectations, a drop's run does, and the
Dagster instance the runs keep in SQLite (orchestration/runner.instance_sqlite_kept_open) is
whole afterwards, every run in it, with its events."""

import re
import shutil
import sqlite3

import dagster as dg
import pytest

from tests.conftest import tallyhouse_process

pytestmark = pytest.mark.e2e  # every test here runs the CLI


def imported_gx(stderr: str) -> bool:
    return bool(re.search(r"\|\s+great_expectations$", stderr, re.M))


def run_logged(settings):
    done = tallyhouse_process(
        "run", "--data-dir", str(settings.data_dir), env={"PYTHONPROFILEIMPORTTIME": "1"}
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"\|\s+duckdb$", done.stderr, re.M), "the import log is there"
    return done


def instance_runs(settings) -> list:
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        return [(run.status, len(instance.all_logs(run.run_id))) for run in instance.get_runs()]


def test_a_run_with_nothing_new_never_imports_great_expectations(ran_sample_copy):
    done = run_logged(ran_sample_copy.settings)
    assert "nothing new" in done.stdout
    assert not imported_gx(done.stderr)


def test_a_drop_imports_it_and_the_instance_keeps_every_run_whole(ran_two_drops_copy):
    settings = ran_two_drops_copy.settings
    before = instance_runs(settings)
    for path in ran_two_drops_copy.held.iterdir():
        shutil.copy2(path, settings.landing / path.name)
    done = run_logged(settings)
    assert "succeeded" in done.stdout
    assert imported_gx(done.stderr)
    after = instance_runs(settings)
    assert len(after) == len(before) + 1
    assert all(status == dg.DagsterRunStatus.SUCCESS and events for status, events in after)
    for db in settings.dagster_home.rglob("*.db"):
        with sqlite3.connect(db) as con:
            assert con.execute("pragma integrity_check").fetchone() == ("ok",), db
