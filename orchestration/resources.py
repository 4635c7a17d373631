"""Dagster resources: the data directory, the working DuckDB warehouse, the alert notifiers."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.alerting import Alerter
from orchestration.settings import DEFAULT_QUARANTINE_THRESHOLD, Settings


class TallyhouseDirs(dg.ConfigurableResource):
    """The data directory every path derives from, and the quality gate's threshold."""

    data_dir: str
    quarantine_threshold: float = DEFAULT_QUARANTINE_THRESHOLD

    @property
    def settings(self) -> Settings:
        return Settings(Path(self.data_dir), quarantine_threshold=self.quarantine_threshold)


def build_resources(settings: Settings) -> dict:
    """Alert URLs go into a plain resource, not Dagster config, so the UI never shows them."""
    alerter = Alerter(settings.alert_webhook_url, settings.alert_slack_url)
    return {
        "dirs": TallyhouseDirs(
            data_dir=str(settings.data_dir), quarantine_threshold=settings.quarantine_threshold
        ),
        "duckdb": DuckDBResource(database=str(settings.warehouse)),
        "alerts": dg.ResourceDefinition.hardcoded_resource(alerter, "Alert notifiers"),
    }
