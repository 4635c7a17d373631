"""Dagster resources: the data directory, the working DuckDB warehouse, the alert notifiers."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from orchestration.alerting import Alerter
from orchestration.settings import DEFAULT_ELECTION, DEFAULT_QUARANTINE_THRESHOLD, Settings
from warehouse.configs import ElectionConfig, load_election
from warehouse.increments import Change, read_change, read_state
from warehouse.tables import read_staged


class TallyhouseDirs(dg.ConfigurableResource):
    """Where things are (data directory, landing, election configurations), which election, and
    the quality gate's threshold."""

    data_dir: str
    election: str = DEFAULT_ELECTION
    landing_dir: str | None = None
    elections_dir: str | None = None
    quarantine_threshold: float = DEFAULT_QUARANTINE_THRESHOLD

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
    """The working warehouse. One connection stays open for the whole run, so every
    get_connection of the run's steps joins one open database: otherwise each one opens the
    file and each close checkpoints it, a tenth of an election-night run.

    Several steps of a run start from the same frames: every staged tally and its votes (the
    marts, projection and forensics of a full run), or the last change (the same steps of an
    incremental run). `staged` and `change` read them once per run, while the staged and
    quality layers stay as they are."""

    _keeper: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _frames: dict = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        config = {"custom_user_agent": "dagster", **self.connection_config}
        self._keeper = duckdb.connect(self.database, config=config)
        self._frames = {}

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._frames = {}
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None

    def staged(
        self, con: duckdb.DuckDBPyConnection, candidate_ids: list[str]
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Every staged tally, their votes (wide) and the quarantine (read_staged)."""
        return self._once(con, "staged", lambda: read_staged(con, candidate_ids))

    def change(self, con: duckdb.DuckDBPyConnection, candidate_ids: list[str]) -> Change:
        """The last change (read_change)."""
        return self._once(con, "change", lambda: read_change(con, candidate_ids))

    def _once(self, con: duckdb.DuckDBPyConnection, name: str, read):
        key = tuple(
            state.stamp if state else None
            for state in (read_state(con, "staged"), read_state(con, "quality"))
        )
        kept = self._frames.get(name)
        if kept is None or kept[0] != key:
            kept = self._frames[name] = (key, read())
        return kept[1]


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
        ),
        "duckdb": Warehouse(database=str(settings.warehouse)),
        "alerts": dg.ResourceDefinition.hardcoded_resource(alerter, "Alert notifiers"),
    }
