"""A fresh Dagster instance under the hook of orchestration/runner.instance_sqlite_kept_open:
its SQLite files are in WAL mode from their first connection (Dagster would switch them only
after creating its tables, each table's commit then syncing a rollback journal), and they come
out whole, holding the run."""

import sqlite3

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from orchestration.runner import instance_sqlite_kept_open


def first_journal_mode(path) -> str:
    """The journal mode a new file reports on its first connection, before anyone sets one."""
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.connect() as con:
        mode = con.execute(sa.text("pragma journal_mode")).scalar()
    engine.dispose()
    return mode


def test_new_files_under_the_home_start_in_wal_others_keep_the_default(tmp_path):
    home, elsewhere = tmp_path / "dagster_home", tmp_path / "other"
    home.mkdir()
    elsewhere.mkdir()
    with instance_sqlite_kept_open(home):
        assert first_journal_mode(home / "new.db") == "wal"
        assert first_journal_mode(elsewhere / "new.db") == "delete"


@dg.op
def noop() -> None:
    pass


@dg.job
def one_op():
    noop()


@pytest.mark.e2e  # runs a (one-op) Dagster job
def test_a_fresh_instance_is_created_in_wal_and_keeps_its_run(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    with instance_sqlite_kept_open(home), dg.DagsterInstance.from_config(str(home)) as instance:
        assert one_op.execute_in_process(instance=instance).success
    files = sorted(home.rglob("*.db"))
    assert len(files) >= 4, files  # runs, the event log index, the run's event log, schedules
    assert not list(home.rglob("*-journal")), "no rollback journal was ever left behind"
    for db in files:
        with sqlite3.connect(db) as con:
            assert con.execute("pragma journal_mode").fetchone() == ("wal",), db
            assert con.execute("pragma integrity_check").fetchone() == ("ok",), db
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS]
        assert instance.all_logs(runs[0].run_id)
