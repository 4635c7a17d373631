"""The Dagster instance's SQLite files kept open for a run (orchestration/runner.py): commits
under the instance's home use synchronous=NORMAL, every other SQLite file keeps SQLite's
default, the files stay whole, and nothing is left hooked or open after the block."""

import sqlite3

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from orchestration.runner import instance_sqlite_kept_open

FULL, NORMAL = 2, 1


def dagster_like_engine(path):
    """As Dagster's SQLite storage connects: a new engine, no pool, WAL mode."""
    return sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)


def write_and_read(path, value: int) -> tuple[int, list]:
    """Insert a row as Dagster does (one connection per event), then read the table back and
    the connection's synchronous setting."""
    engine = dagster_like_engine(path)
    with engine.connect() as con, con.begin():
        con.execute(sa.text("pragma journal_mode=wal"))
        con.execute(sa.text("create table if not exists events (v integer)"))
        con.execute(sa.text("insert into events values (:v)"), {"v": value})
    with engine.connect() as con:
        synchronous = con.execute(sa.text("pragma synchronous")).scalar()
        rows = [r[0] for r in con.execute(sa.text("select v from events order by v"))]
    engine.dispose()
    return synchronous, rows


def test_instance_files_commit_normal_and_stay_open_others_untouched(tmp_path):
    home, elsewhere = tmp_path / "dagster_home", tmp_path / "other"
    home.mkdir()
    elsewhere.mkdir()
    run_db = home / "history" / "runs" / "run.db"
    run_db.parent.mkdir(parents=True)
    with instance_sqlite_kept_open(home):
        for value in (1, 2, 3):
            synchronous, rows = write_and_read(run_db, value)
            assert synchronous == NORMAL
        assert rows == [1, 2, 3]
        # kept open: closing Dagster's connections neither checkpoints nor deletes the WAL
        assert run_db.with_name("run.db-wal").exists()
        assert write_and_read(elsewhere / "x.db", 1)[0] == FULL, "not the instance's file"
    assert not run_db.with_name("run.db-wal").exists(), "the keeper closed, the WAL folded in"
    assert write_and_read(run_db, 4) == (FULL, [1, 2, 3, 4]), "the hook is gone, the data whole"
    with sqlite3.connect(run_db) as con:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)


def test_the_hook_is_removed_when_the_block_fails(tmp_path):
    try:
        with instance_sqlite_kept_open(tmp_path):
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass
    assert write_and_read(tmp_path / "after.db", 1)[0] == FULL
