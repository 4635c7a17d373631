"""Shared fixtures: small generated elections in tmp_path, running the pipeline on them, and the
`tallyhouse` command in this process.

A job run costs about two seconds whatever the election's size, so tests that only read what a
run of the sample election published share one run of the session (`ran_sample`; `ran_two_drops`
holds its last drop back), and tests that run again or change files start from a copy of its
finished data directory (`ran_sample_copy`, `ran_two_drops_copy`)."""

import functools
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from landing.files import write_synthetic
from orchestration.runner import run_tally_job
from orchestration.settings import Settings, prepare_data_dir
from transforms.synthetic.election import SyntheticElection, generate
from warehouse.db import connect

SMALL_TABLES = 2_000
SHARED_VE2024 = Path(__file__).resolve().parents[2] / "shared" / "data" / "ve2024"


_RUNNING = {"item": None, "frozen_after_a_run": False}


def _freeze_what_lives_on() -> None:
    """Move every object alive now (imported modules and what they hold: most of them live as
    long as the session) out of the garbage collector's sight, so its full collections, one every
    few job runs, stop walking them again (~4 s over the suite). Nothing is changed or freed."""
    gc.collect()
    gc.freeze()


# The slowest test files, slowest first (`pytest --durations=0`, summed by file: every file of
# 9 s or more in the suite's run of 3 December 2026, 443 s on the loaded 2-core machine). xdist's
# --dist loadfile hands out whole files in the order of the collected tests: these start first,
# so the last files to start are short and both workers end together. (Its own order, files
# with most tests first, started the two-test files last: the Postgres deployment's, a minute
# long, once ran alone at the end while the other worker had finished; files missing from the
# list, the slowest a minute and a half long, started where the alphabet put them.)
SLOWEST_FILES = (
    "test_general_drop_sequences.py",
    "test_deploy_postgres.py",
    "test_publication_never_stuck.py",
    "test_bad_input.py",
    "test_cli.py",
    "test_foreign_general_feeds.py",
    "test_decided_is_sound.py",
    "test_ve2024.py",
    "test_incremental.py",
    "test_sensor_queue.py",
    "test_foreign_general_feeds2.py",
    "test_foreign_general_feeds3.py",
    "test_general_incremental.py",
    "test_us_dc2016.py",
    "test_report.py",
    "test_policy.py",
    "test_run_process.py",
    "test_cli_hints.py",
    "test_pipeline.py",
    "test_noop_run.py",
    "test_gx_docs.py",
    "test_gx_worker.py",
    "test_counts.py",
    "test_withdraw.py",
    "test_higher_sources.py",
    "test_election_night.py",
    "test_ballot_registry_e2e.py",
    "test_contestless_rows.py",
    "test_settle.py",
    "test_quality_gate.py",
    "test_general_report.py",
    "test_writer_lock.py",
    "test_forensic_delta.py",
    "test_verify_totals.py",
    "test_foreign_feeds.py",
)


def pytest_collection_modifyitems(config, items):
    """The SLOWEST_FILES first, in that order; each file's tests and the other files keep the
    collection's order (the sort is stable)."""
    rank = {name: at for at, name in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_collection_finish(session):
    _freeze_what_lives_on()  # the test modules and everything they import


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _RUNNING["item"] = item  # before any fixture of the test, module-scoped ones included


# Tests land files and run at once: no settling time (tests/test_settle.py sets one).
LANDED_NOW = {"TALLYHOUSE_SETTLE_SECONDS": "0"}


def pytest_configure(config):
    """A test that runs the Dagster job (directly, through materialize or a fixture) must be
    marked e2e, so `pytest -m "not e2e"` stays the fast tier: unmarked, it fails."""
    execute = dg.JobDefinition.execute_in_process

    def guarded(self, *args, **kwargs):
        item = _RUNNING["item"]
        if item is not None and not item.get_closest_marker("e2e"):
            raise AssertionError(f"{item.nodeid} runs the Dagster job: mark it @pytest.mark.e2e")
        try:
            return execute(self, *args, **kwargs)
        finally:
            if not _RUNNING["frozen_after_a_run"]:  # what the job imports lazily (GX, ...)
                _RUNNING["frozen_after_a_run"] = True
                _freeze_what_lives_on()

    dg.JobDefinition.execute_in_process = guarded
    if hasattr(config.option, "loadscopereorder"):  # xdist: hand out files in SLOWEST_FILES order
        config.option.loadscopereorder = False


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(tmp_path / "data")
    prepare_data_dir(settings)
    return settings


def sample_election() -> SyntheticElection:
    """The small synthetic election most end-to-end tests run."""
    return generate(SMALL_TABLES, seed=7, drops=3)


@pytest.fixture
def sample(settings: Settings):
    """A small synthetic election landed in the data directory."""
    election = sample_election()
    write_synthetic(election, settings.landing)
    return election


@dataclass(frozen=True)
class RanSample:
    """The sample election landed in `settings` and run once, successfully; `held` is the
    folder of the drops held back from that run (None: every drop was landed)."""

    settings: Settings
    sample: SyntheticElection
    held: Path | None = None
    # what the run recorded of each asset it materialized: asset key path → metadata
    materialized: dict[tuple[str, ...], dict] = field(default_factory=dict)


def _run_sample(root: Path, hold_back: tuple[str, ...] = ()) -> RanSample:
    settings = Settings(root / "data")
    prepare_data_dir(settings)
    election = sample_election()
    write_synthetic(election, settings.landing)
    held = None
    if hold_back:
        held = root / "held"
        held.mkdir()
        for name in hold_back:
            shutil.move(settings.landing / name, held / name)
    result = run(settings)
    assert result.success
    materialized = {
        tuple(event.asset_key.path): dict(event.materialization.metadata)
        for event in result.get_asset_materialization_events()
    }
    return RanSample(settings, election, held, materialized)


def _digests(ran: RanSample) -> dict[str, str]:
    folders = [ran.settings.data_dir, *([ran.held] if ran.held else [])]
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _read_only(ran: RanSample):
    before = _digests(ran)
    yield ran
    assert _digests(ran) == before, "a test wrote a shared run"


def _copy(ran: RanSample, tmp_path: Path) -> RanSample:
    data_dir = tmp_path / "data"
    shutil.copytree(ran.settings.data_dir, data_dir)
    held = None
    if ran.held:
        held = tmp_path / "held"
        shutil.copytree(ran.held, held)
    return RanSample(Settings(data_dir), ran.sample, held, ran.materialized)


@pytest.fixture(scope="session")
def _ran_sample_once(tmp_path_factory) -> RanSample:
    return _run_sample(tmp_path_factory.mktemp("ran_sample"))


@pytest.fixture
def ran_sample(_ran_sample_once: RanSample):
    """The sample election run once for the whole session, exactly as `settings` + `sample` +
    `run(settings)` leave it. Shared: read it, never write it (checked after each test)."""
    yield from _read_only(_ran_sample_once)


@pytest.fixture
def ran_sample_copy(_ran_sample_once: RanSample, tmp_path: Path) -> RanSample:
    """A private copy of the sample election's finished data directory (files, their
    modification times, warehouse and published marts), to run again or change."""
    return _copy(_ran_sample_once, tmp_path)


@pytest.fixture(scope="session")
def _ran_two_drops_once(tmp_path_factory) -> RanSample:
    return _run_sample(tmp_path_factory.mktemp("ran_two_drops"), hold_back=("tallies_003.csv",))


@pytest.fixture
def ran_two_drops(_ran_two_drops_once: RanSample):
    """The sample election run once for the whole session with its last drop (tallies_003.csv)
    held back in `held`. Shared: read it, never write it (checked after each test)."""
    yield from _read_only(_ran_two_drops_once)


@pytest.fixture
def ran_two_drops_copy(_ran_two_drops_once: RanSample, tmp_path: Path) -> RanSample:
    """A private copy of `ran_two_drops` (data directory and held-back drop), to land the last
    drop and run again."""
    return _copy(_ran_two_drops_once, tmp_path)


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


@pytest.fixture(scope="session")
def vega_bundle_once():
    """HTML reports written in this session inline one Vega bundle, made once by the real
    vega_bundle: vl-convert makes the same script (~1 MB, ~2 s) on every call otherwise."""
    import reporting.html.write as write

    real = write.vega_bundle
    write.vega_bundle = functools.cache(real)
    yield
    write.vega_bundle = real


@dataclass(frozen=True)
class Done:
    """What a `tallyhouse` command line gave back, as subprocess.CompletedProcess names it."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def tallyhouse(capsys):
    """Run `tallyhouse ARGS...` in this process through the console script's entry point
    (orchestration.cli.main): its exit code, stdout and stderr. The environment is the test's
    without any TALLYHOUSE_ variable, plus `env`; whatever the command sets in it (`run` exports
    DAGSTER_HOME and the settings) is undone after the test."""
    from orchestration.cli import main

    saved = dict(os.environ)

    def call(*args: str, env: dict[str, str] | None = None) -> Done:
        os.environ.clear()
        os.environ.update({k: v for k, v in saved.items() if not k.startswith("TALLYHOUSE_")})
        os.environ.update({**LANDED_NOW, **(env or {})})
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Done(code, out, err)

    yield call
    os.environ.clear()
    os.environ.update(saved)


NO_GX_WORKER = {"TALLYHOUSE_GX_WORKER": "off"}


def tallyhouse_process(*args: str, env: dict[str, str] | None = None, timeout: int = 300):
    """Run the installed `tallyhouse` console script in a process of its own, as a user does:
    the environment is this one without any TALLYHOUSE_ variable, plus `env`. Without a GX
    worker unless `env` asks for one: the suite's processes run two at a time on two cores, so
    a worker has no core to overlap on and only imports GX once more (tests/test_gx_worker.py
    runs one)."""
    script = Path(sys.executable).parent / "tallyhouse"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TALLYHOUSE_")}
    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        env={**clean, **LANDED_NOW, **NO_GX_WORKER, **(env or {})},
        timeout=timeout,
    )
