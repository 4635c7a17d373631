"""Dagster resources: where the data directory is, and the working DuckDB warehouse."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.settings import Settings


class TallyhouseDirs(dg.ConfigurableResource):
    """The data directory every path derives from."""

    data_dir: str

    @property
    def settings(self) -> Settings:
        return Settings(Path(self.data_dir))


def build_resources(settings: Settings) -> dict:
    return {
        "dirs": TallyhouseDirs(data_dir=str(settings.data_dir)),
        "duckdb": DuckDBResource(database=str(settings.warehouse)),
    }
