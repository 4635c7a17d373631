"""Shared fixtures: small generated elections in tmp_path, and running the pipeline on them."""

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from landing.files import write_synthetic
from orchestration.runner import run_tally_job
from orchestration.settings import Settings, prepare_data_dir
from transforms.synthetic.election import generate
from warehouse.db import connect

SMALL_TABLES = 2_000
SHARED_VE2024 = Path(__file__).resolve().parents[2] / "shared" / "data" / "ve2024"


_RUNNING = {"item": None}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _RUNNING["item"] = item  # before any fixture of the test, module-scoped ones included


def pytest_configure(config):
    """A test that runs the Dagster job (directly, through materialize or a fixture) must be
    marked e2e, so `pytest -m "not e2e"` stays the fast tier: unmarked, it fails."""
    execute = dg.JobDefinition.execute_in_process

    def guarded(self, *args, **kwargs):
        item = _RUNNING["item"]
        if item is not None and not item.get_closest_marker("e2e"):
            raise AssertionError(f"{item.nodeid} runs the Dagster job: mark it @pytest.mark.e2e")
        return execute(self, *args, **kwargs)

    dg.JobDefinition.execute_in_process = guarded


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(tmp_path / "data")
    prepare_data_dir(settings)
    return settings


@pytest.fixture
def sample(settings: Settings):
    """A small synthetic election landed in the data directory."""
    election = generate(SMALL_TABLES, seed=7, drops=3)
    write_synthetic(election, settings.landing)
    return election


def run(settings: Settings) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        return run_tally_job(settings, instance, show_progress=False)


def published(settings: Settings, sql: str, params=None) -> pl.DataFrame:
    with connect(settings.published, read_only=True) as con:
        return con.sql(sql, params=params).pl()


def truth(settings: Settings) -> dict:
    return json.loads((settings.landing / "truth.json").read_text())


RUN_STAMPED = {"publication", "results_history"}  # differ from run to run by design


def mart_snapshot(settings: Settings) -> dict[str, pl.DataFrame]:
    """Every published mart but the run-stamped ones, sorted, for comparing two runs."""
    with connect(settings.published, read_only=True) as con:
        tables = [
            r[0]
            for r in con.sql("select table_name from information_schema.tables").fetchall()
            if r[0] not in RUN_STAMPED
        ]
        frames = {t: con.sql(f"select * from {t}").pl() for t in tables}
    return {t: f.sort(f.columns, nulls_last=True) for t, f in frames.items()}


def assert_same_marts(first: dict[str, pl.DataFrame], second: dict[str, pl.DataFrame]) -> None:
    assert first.keys() == second.keys()
    for table, frame in first.items():
        assert frame.equals(second[table]), table
