"""The one place configuration and the environment are read. Nothing here runs at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "TALLYHOUSE_DATA_DIR"
DEFAULT_DATA_DIR = "data"
DAGSTER_YAML = """# Written by tallyhouse: `tallyhouse run` and `dagster dev` share this instance.
telemetry:
  enabled: false
"""


@dataclass(frozen=True)
class Settings:
    data_dir: Path

    @property
    def landing(self) -> Path:
        return self.data_dir / "landing"

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def published(self) -> Path:
        return self.data_dir / "marts.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"


def load_settings(
    data_dir: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Resolve settings: an explicit value wins, then TALLYHOUSE_DATA_DIR, then ./data."""
    env = os.environ if env is None else env
    chosen = data_dir or env.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Settings(data_dir=Path(chosen).expanduser().resolve())


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory and a Dagster home with telemetry off."""
    settings.landing.mkdir(parents=True, exist_ok=True)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
