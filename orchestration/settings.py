"""The one place configuration and the environment are read. Nothing here runs at import."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.folders import searchable_folder

DATA_DIR_ENV = "TALLYHOUSE_DATA_DIR"
THRESHOLD_ENV = "TALLYHOUSE_QUARANTINE_THRESHOLD"
WEBHOOK_ENV = "TALLYHOUSE_ALERT_WEBHOOK_URL"
SLACK_ENV = "TALLYHOUSE_ALERT_SLACK_URL"
DEFAULT_QUARANTINE_THRESHOLD = 0.05
ELECTION_ENV = "TALLYHOUSE_ELECTION"
LANDING_ENV = "TALLYHOUSE_LANDING"
ELECTIONS_DIR_ENV = "TALLYHOUSE_ELECTIONS_DIR"
DEFAULT_ELECTION = "sample"
REBUILD_CRON_ENV = "TALLYHOUSE_REBUILD_CRON"
SENSOR_INTERVAL_ENV = "TALLYHOUSE_SENSOR_INTERVAL"
OWNER_ENV = "TALLYHOUSE_OWNER"
WRITER_WAIT_ENV = "TALLYHOUSE_WRITER_WAIT"
SETTLE_ENV = "TALLYHOUSE_SETTLE_SECONDS"
GX_WORKER_ENV = "TALLYHOUSE_GX_WORKER"  # on (default) or off
DEFAULT_SETTLE = 2  # seconds a landing file must be unchanged before a command-line run loads it
DEFAULT_WRITER_WAIT = 300  # seconds a run waits for the run writing the data directory
DEFAULT_OWNER = "team:tallyhouse"
# Dagster's owner forms: a team (team:name) or an email address
OWNER = re.compile(r"^(team:[A-Za-z0-9_-]{1,64}|[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190})$")
DEFAULT_REBUILD_CRON = "0 3 * * *"  # nightly, 03:00
DEFAULT_SENSOR_INTERVAL = 15
DEFAULT_DATA_DIR = "data"
PG_URL_ENV = "TALLYHOUSE_PG_URL"  # the Postgres URL deploy/dagster.yaml reads (docs/deploy.md)
DAGSTER_YAML = """# Written by tallyhouse: `tallyhouse run` and `dagster dev` share this instance.
telemetry:
  enabled: false
# One run at a time: runs write one DuckDB warehouse, which takes a single writer.
concurrency:
  runs:
    max_concurrent_runs: 1
"""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    election: str = DEFAULT_ELECTION
    landing_dir: Path | None = None  # default: the data directory's landing/
    elections_dir: Path | None = None  # default: the configurations shipped in elections/
    # None: the election's [quality] quarantine_threshold, else DEFAULT_QUARANTINE_THRESHOLD
    # (quarantine_threshold() below resolves it)
    quarantine_threshold: float | None = None
    rebuild_cron: str = DEFAULT_REBUILD_CRON
    sensor_interval_seconds: int = DEFAULT_SENSOR_INTERVAL
    alert_webhook_url: str | None = field(default=None, repr=False)
    alert_slack_url: str | None = field(default=None, repr=False)
    owner: str = DEFAULT_OWNER  # who owns the assets in Dagster's catalog
    writer_wait_seconds: float = DEFAULT_WRITER_WAIT  # waiting for another run's end
    # a file changed more recently is left for the next run (load_settings: DEFAULT_SETTLE;
    # 0 here, for runs that land their own files, as the tests and benchmarks do)
    settle_seconds: float = 0.0
    # a first or --full run validates in a Great Expectations worker process started at once
    # (expectations/gx_worker.py); off: in the run's own process (one core, nothing to overlap)
    gx_worker: bool = True

    def __post_init__(self) -> None:
        if not OWNER.fullmatch(self.owner):
            raise ValueError(
                f"{OWNER_ENV} must be team:<name> (letters, digits, - and _) or an email address"
            )
        searchable_folder(self.data_dir)
        if self.quarantine_threshold is not None and not 0 <= self.quarantine_threshold <= 1:
            raise ValueError(
                f"quarantine threshold must be a share between 0 and 1, "
                f"not {self.quarantine_threshold}"
            )

    @property
    def landing(self) -> Path:
        return self.landing_dir or self.data_dir / "landing"

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
    data_dir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    quarantine_threshold: float | None = None,
    election: str | None = None,
    landing: str | Path | None = None,
    writer_wait_seconds: float | None = None,
    elections_dir: str | Path | None = None,
) -> Settings:
    """Resolve settings: an explicit value wins, then the environment, then the default.

    Environment: TALLYHOUSE_DATA_DIR (default ./data), TALLYHOUSE_ELECTION (default sample),
    TALLYHOUSE_LANDING (default <data dir>/landing), TALLYHOUSE_ELECTIONS_DIR (default: the
    configurations shipped in elections/), TALLYHOUSE_QUARANTINE_THRESHOLD (a share;
    unset: the election's [quality] quarantine_threshold, else 0.05),
    TALLYHOUSE_ALERT_WEBHOOK_URL and TALLYHOUSE_ALERT_SLACK_URL (no default: alerts then go to
    the log and quality.alerts only), TALLYHOUSE_WRITER_WAIT (seconds a run waits for the run
    writing the data directory, default 300), TALLYHOUSE_SETTLE_SECONDS (a landing file changed
    more recently is left for the next run, default 2), TALLYHOUSE_OWNER (the assets' owner in
    Dagster's catalog: team:<name> or an email; default team:tallyhouse), TALLYHOUSE_GX_WORKER
    (on or off, default on: whether a first or --full CLI run validates in a Great
    Expectations worker process that imports GX while the run loads and stages).
    """
    env = os.environ if env is None else env
    chosen = data_dir or env.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    threshold = quarantine_threshold
    if threshold is None:
        raw = env.get(THRESHOLD_ENV, "").strip()
        try:
            threshold = float(raw) if raw else None
        except ValueError:
            raise ValueError(f"{THRESHOLD_ENV}={raw!r} is not a number") from None
    landing = landing or env.get(LANDING_ENV)
    elections_dir = elections_dir or env.get(ELECTIONS_DIR_ENV)
    return Settings(
        data_dir=Path(chosen).expanduser().resolve(),
        election=election or env.get(ELECTION_ENV) or DEFAULT_ELECTION,
        landing_dir=Path(landing).expanduser().resolve() if landing else None,
        elections_dir=Path(elections_dir).expanduser().resolve() if elections_dir else None,
        quarantine_threshold=threshold,
        rebuild_cron=env.get(REBUILD_CRON_ENV) or DEFAULT_REBUILD_CRON,
        sensor_interval_seconds=_seconds(
            env.get(SENSOR_INTERVAL_ENV), DEFAULT_SENSOR_INTERVAL, SENSOR_INTERVAL_ENV
        ),
        alert_webhook_url=env.get(WEBHOOK_ENV) or None,
        alert_slack_url=env.get(SLACK_ENV) or None,
        owner=env.get(OWNER_ENV, "").strip() or DEFAULT_OWNER,
        settle_seconds=_seconds(env.get(SETTLE_ENV), DEFAULT_SETTLE, SETTLE_ENV, low=0),
        gx_worker=_on_or_off(env.get(GX_WORKER_ENV), GX_WORKER_ENV),
        writer_wait_seconds=(
            writer_wait_seconds
            if writer_wait_seconds is not None
            else _seconds(env.get(WRITER_WAIT_ENV), DEFAULT_WRITER_WAIT, WRITER_WAIT_ENV, low=0)
        ),
    )


def _on_or_off(raw: str | None, name: str) -> bool:
    """`on` (the default, also when unset or empty) or `off` from the environment variable
    `name`; anything else is refused, naming the variable (its value is not echoed)."""
    value = (raw or "on").strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{name} must be on or off")
    return value == "on"


def _seconds(raw: str | None, default: int, name: str, low: int = 1) -> int:
    """A whole number of seconds from the environment variable `name` (low to one day), or
    the default."""
    text = (raw or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= 86_400:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ValueError(f"{name}={shown!r} is not a whole number of seconds from {low} to 86400")
    return int(text)


def quarantine_threshold(settings: Settings, file_threshold: float | None) -> tuple[float, str]:
    """The threshold in force and where it comes from: the CLI flag or the environment (both
    land in settings) win over the election's [quality] quarantine_threshold, which wins over
    the default."""
    if settings.quarantine_threshold is not None:
        return settings.quarantine_threshold, "settings (--quarantine-threshold or " + (
            f"{THRESHOLD_ENV})"
        )
    if file_threshold is not None:
        return file_threshold, "election.toml [quality]"
    return DEFAULT_QUARANTINE_THRESHOLD, "default"


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory and a Dagster home with telemetry off."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.landing_dir is None:
        settings.landing.mkdir(parents=True, exist_ok=True)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")


@dataclass(frozen=True)
class PostgresStorage:
    """The Postgres server a Dagster instance's dagster.yaml keeps its runs in: its URL (None
    when the variable it names is unset) and where the URL comes from (`$NAME` or the file)."""

    url: str | None = field(repr=False)
    source: str


def instance_postgres(
    dagster_home: Path, env: Mapping[str, str] | None = None
) -> PostgresStorage | None:
    """Where the instance in `dagster_home` keeps its runs, when that is Postgres: the URL of
    dagster.yaml's `storage: postgres:` (or a `run_storage` of dagster_postgres), read from the
    environment variable it names (`postgres_url: {env: NAME}`) or written out; None for any
    other storage (SQLite, tallyhouse's default) or no dagster.yaml. A file that is not YAML is
    a ValueError naming it."""
    import yaml

    env = os.environ if env is None else env
    path = dagster_home / "dagster.yaml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())[:200]
        raise ValueError(f"{path}: cannot be read as YAML ({reason})") from None
    postgres = _postgres_config(config)
    if postgres is None:
        return None
    url = postgres.get("postgres_url")
    if url is None and isinstance(postgres.get("postgres_db"), Mapping):
        url = _url_from_parts(postgres["postgres_db"], env)
        return PostgresStorage(url, f"{path} (postgres_db)")
    if isinstance(url, Mapping) and isinstance(url.get("env"), str):
        name = url["env"]
        return PostgresStorage(env.get(name) or None, f"${name}")
    return PostgresStorage(url if isinstance(url, str) and url else None, str(path))


def _postgres_config(config: object) -> Mapping | None:
    """The postgres section of a dagster.yaml: `storage: postgres:`, or the config of a
    `run_storage` served by dagster_postgres (the older form)."""
    if not isinstance(config, Mapping):
        return None
    storage = config.get("storage")
    if isinstance(storage, Mapping) and isinstance(storage.get("postgres"), Mapping):
        return storage["postgres"]
    runs = config.get("run_storage")
    if isinstance(runs, Mapping) and "postgres" in str(runs.get("module", "")):
        section = runs.get("config")
        return section if isinstance(section, Mapping) else {}
    return None


def _url_from_parts(parts: Mapping, env: Mapping[str, str]) -> str | None:
    """dagster.yaml's `postgres_db` (username, password, hostname, db_name, port, each written
    out or `{env: NAME}`) as a URL; None when a part it needs is unset."""
    from urllib.parse import quote

    def value(key: str, default: str = "") -> str | None:
        raw = parts.get(key, default)
        if isinstance(raw, Mapping):
            raw = env.get(str(raw.get("env")))
        return None if raw is None else str(raw)

    user, host, db = value("username"), value("hostname"), value("db_name")
    password, port = value("password"), value("port", "5432")
    if not user or not host or not db:
        return None
    secret = f":{quote(password, safe='')}" if password else ""
    scheme = value("scheme", "postgresql")  # dagster's default
    return f"{scheme}://{quote(user, safe='')}{secret}@{host}:{port}/{db}"
