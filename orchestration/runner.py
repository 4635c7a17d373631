"""Running the main job in-process: shared by the CLI, the tests and the benchmarks."""

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.assets.keys import CHECK_FILES_ACCEPTED, PUBLISHED_MARTS, RAW_DELIVERIES
from orchestration.definitions import TALLY_JOB, build_definitions
from orchestration.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PROGRESS = {"loggers": {"console": {}}}
QUIET = {"loggers": {"console": {"config": {"quiet": True}}}}


def run_tally_job(
    settings: Settings,
    instance: dg.DagsterInstance,
    show_progress: bool = True,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize every asset in this process; never raises for a failed step."""
    job = build_definitions(settings).resolve_job_def(TALLY_JOB)
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags=tags,
        run_config=PROGRESS if show_progress else QUIET,
    )


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed step: the step and what went wrong, as a user should read it."""
    messages = []
    for event in result.all_events:
        if event.event_type_value == "RESOURCE_INIT_FAILURE":  # e.g. the data directory is busy
            error = event.event_specific_data.error
            text = error.message if error is not None else event.message or ""
            messages.append(f"run not started: {text.split(': ', 1)[-1].strip()}")
        if event.is_step_failure:
            data = event.step_failure_data
            user = data.user_failure_data
            error = data.error
            while (
                error.cause is not None and "DagsterExecutionStepExecutionError" in error.cls_name
            ):
                error = error.cause
            text = user.description if user and user.description else error.message
            messages.append(f"{event.step_key}: {text.strip()}")
    return messages


def rejected_files(result: dg.ExecuteInProcessResult) -> list[str]:
    """The errors of files rejected whole in this run (the rest of the delivery went on)."""
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.check_name == CHECK_FILES_ACCEPTED and not evaluation.passed:
            return list(evaluation.metadata["errors"].value)
    return []


def unmatched_files(result: dg.ExecuteInProcessResult) -> tuple[int, list[str]]:
    """How many landing files no contract matched in this run, and the first of their names
    (escaped, as the ingest step logged them)."""
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization is not None and materialization.asset_key == RAW_DELIVERIES:
            metadata = materialization.metadata
            if "files_unmatched" in metadata:
                count = int(metadata["files_unmatched"].value)
                return count, list(metadata["unmatched_files"].value)
    return 0, []


def published(result: dg.ExecuteInProcessResult) -> bool:
    """Whether the run replaced the published file (a run that changed nothing does not)."""
    return any(
        event.materialization is not None and event.materialization.asset_key == PUBLISHED_MARTS
        for event in result.get_asset_materialization_events()
    )


@contextmanager
def instance_sqlite_kept_open(dagster_home: Path) -> Iterator[None]:
    """For the block: every SQLite file of the Dagster instance under `dagster_home` (runs,
    event log index, the run's own event log, schedules) is in WAL mode from its first
    connection, stays open on one idle connection, and its connections commit with
    `synchronous=NORMAL`.

    Dagster opens and closes a SQLite connection for each event it stores. Closing the last
    connection to a WAL database checkpoints it and deletes its WAL file, and each commit syncs
    the WAL: about 1,500 fsyncs for a run of the sample election, a second or more of waiting on
    the disk. With one connection kept open the closes are not the last, and in WAL mode
    NORMAL syncs only at checkpoints (SQLite's recommended setting for WAL: the database stays
    consistent after a power loss, which may lose the last commits; a killed process loses
    nothing). Dagster switches each of its SQLite files to WAL only once it has created its
    tables; created in rollback-journal mode, each table's commit synced the journal, the file
    and the folder: about 270 more fsyncs on a fresh data directory (the instance's files) and
    in every run (the run's event log). In WAL from the first connection, about 40 remain in
    all. Another Dagster process (the UI, the daemon) is not affected: WAL lets it read and
    write as before. An instance kept in Postgres has no SQLite file here, and nothing changes
    for it.

    The event log also reuses one engine per file for the block (_event_log_engines_reused).
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    home = str(Path(dagster_home).resolve()) + os.sep
    kept: dict[str, sqlite3.Connection] = {}
    lock = threading.Lock()

    def on_connect(dbapi_connection, _record) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        path = dbapi_connection.execute("pragma database_list").fetchall()[0][2]
        if not path or not path.startswith(home):
            return
        dbapi_connection.execute("pragma synchronous = normal")
        wal = dbapi_connection.execute("pragma journal_mode = wal").fetchall()[0][0] == "wal"
        with lock:
            if wal and path not in kept:
                keeper = sqlite3.connect(path, check_same_thread=False)
                keeper.execute("select count(*) from sqlite_master").fetchall()  # joins the WAL
                kept[path] = keeper

    event.listen(Engine, "connect", on_connect)
    try:
        with _event_log_engines_reused():
            yield
    finally:
        event.remove(Engine, "connect", on_connect)
        with lock:
            for keeper in kept.values():
                keeper.close()
            kept.clear()


@contextmanager
def _event_log_engines_reused() -> Iterator[None]:
    """For the block, Dagster's SQLite event log (a file per run, and the index of every run's
    asset events) connects through one engine per file, kept with its connection pool, instead
    of making an engine for each event and disposing of it after (SqliteEventLogStorage._connect,
    which this replaces for the block with the same steps: under the storage's lock, the file's
    tables made on its first use, one transaction per use).

    A run stores some 220 events through about 420 connections (an asset's events are mirrored
    in the index): a new engine, a first connection and our pragmas for each cost about 1 ms of
    CPU, a pooled connection about a quarter of that. The engines are disposed of when the block
    ends, closing their connections before instance_sqlite_kept_open closes its own (the last
    close folds the WAL in). dagster is pinned (pyproject.toml); tests/test_process_floor.py
    fails if the method replaced here changes its name or arguments."""
    from dagster._core.storage.event_log.sqlite import sqlite_event_log as module

    storage = module.SqliteEventLogStorage
    original = storage._connect
    engines: dict[str, Engine] = {}

    @contextmanager
    def reused_connect(self, shard: str) -> Iterator:
        with self._db_lock:
            url = self.conn_string_for_shard(shard)
            engine = engines.get(url)
            if engine is None:
                timeout = {"timeout": module.SQLITE_BUSY_TIMEOUT_SECONDS}
                engine = engines[url] = module.create_engine(url, connect_args=timeout)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    storage._connect = reused_connect
    try:
        yield
    finally:
        storage._connect = original
        for engine in engines.values():
            engine.dispose()
