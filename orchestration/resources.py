"""Dagster resources: the data directory, the working DuckDB warehouse, the frames its layers
share within a run, the alert notifiers."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from orchestration.alerting import Alerter
from orchestration.settings import DEFAULT_ELECTION, DEFAULT_WRITER_WAIT, Settings
from orchestration.writer_lock import Holder, WriterLock, alive
from warehouse.configs import ElectionConfig, load_election
from warehouse.db import beside_its_files, create_whole
from warehouse.run_frames import RunFrames


class TallyhouseDirs(dg.ConfigurableResource):
    """Where things are (data directory, landing, election configurations), which election, and
    the quality gate's threshold."""

    data_dir: str
    election: str = DEFAULT_ELECTION
    landing_dir: str | None = None
    elections_dir: str | None = None
    quarantine_threshold: float | None = None  # None: the election's policy, else the default
    settle_seconds: float = 0.0  # a run leaves files changed more recently for the next one

    @property
    def settings(self) -> Settings:
        return Settings(
            Path(self.data_dir),
            election=self.election,
            landing_dir=Path(self.landing_dir) if self.landing_dir else None,
            elections_dir=Path(self.elections_dir) if self.elections_dir else None,
            quarantine_threshold=self.quarantine_threshold,
        )

    def election_config(self) -> ElectionConfig:
        settings = self.settings
        return load_election(settings.election, settings.elections_dir)


class Warehouse(DuckDBResource):
    """The working warehouse: connections, nothing else. Every asset that touches the working
    warehouse takes it as `duckdb: Warehouse`.

    One connection stays open for the whole run (the one place that does so), so every
    get_connection of the run's steps joins one open database: otherwise each one opens the
    file and each close checkpoints it, a tenth of an election-night run."""

    writer_wait_seconds: float = DEFAULT_WRITER_WAIT  # how long a run waits for another's end

    _keeper: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _lock: WriterLock | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Take the data directory's writer lock for the run (orchestration/writer_lock.py),
        mark a run that died holding it failed, then open the run's connection."""
        lock = WriterLock(Path(self.database).parent)
        previous = lock.acquire(context.run.run_id, self.writer_wait_seconds)
        self._lock = lock
        _fail_if_it_died(context, previous)
        config = {"custom_user_agent": "dagster", **self.connection_config}
        create_whole(Path(self.database))  # a run killed as it made the file leaves none
        # the raw views' files are found in the data directory (warehouse/raw_files.py)
        self._keeper = beside_its_files(duckdb.connect(self.database, config=config), self.database)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _fail_if_it_died(context: dg.InitResourceContext, previous: Holder) -> None:
    """The run that held the lock before this one, if Dagster still has it STARTED although
    its process is gone (killed, crashed): reported failed, so the run queue moves on."""
    if not previous.run_id or previous.run_id == context.run.run_id or context.instance is None:
        return
    if alive(previous.pid) and previous.pid != os.getpid():
        return
    run = context.instance.get_run_by_id(previous.run_id)
    if run is not None and run.status == dg.DagsterRunStatus.STARTED:
        context.instance.report_run_failed(run)
        context.log.warning(
            f"run {previous.run_id} died holding the data directory (pid {previous.pid}); "
            "marked failed"
        )


def _run_frames(_context):
    """A fresh RunFrames for the run, emptied when the run ends: a process that runs many jobs
    (the benchmarks, the tests) would otherwise keep the last run's frames alive."""
    frames = RunFrames()
    try:
        yield frames
    finally:
        frames.clear()


def build_resources(settings: Settings) -> dict:
    """Alert URLs go into a plain resource, not Dagster config, so the UI never shows them."""
    alerter = Alerter(settings.alert_webhook_url, settings.alert_slack_url)
    return {
        "dirs": TallyhouseDirs(
            data_dir=str(settings.data_dir),
            election=settings.election,
            landing_dir=str(settings.landing_dir) if settings.landing_dir else None,
            elections_dir=str(settings.elections_dir) if settings.elections_dir else None,
            quarantine_threshold=settings.quarantine_threshold,
            settle_seconds=settings.settle_seconds,
        ),
        "duckdb": Warehouse(
            database=str(settings.warehouse), writer_wait_seconds=settings.writer_wait_seconds
        ),
        # a new one for every run: the frames of one run's staged and quality layers
        "frames": dg.ResourceDefinition(
            resource_fn=_run_frames,
            description="The staged and quality frames read once per run, shared by the marts, "
            "projection and forensics steps (warehouse/run_frames.py).",
        ),
        "alerts": dg.ResourceDefinition.hardcoded_resource(alerter, "Alert notifiers"),
    }
