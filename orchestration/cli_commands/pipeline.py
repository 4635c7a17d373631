"""`tallyhouse run` and `tallyhouse ui`: the pipeline, in this process or under Dagster's UI."""

from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from stat import S_ISREG

import click

from orchestration.cli_commands.common import (
    ConfigError,
    activate,
    data_dir_option,
    election_config,
    elections_dir_option,
    elections_folder,
    in_console_process,
    settings_from,
)
from orchestration.settings import DEFAULT_ELECTION, ELECTION_ENV, LANDING_ENV, Settings


@click.command("run")
@data_dir_option
@click.option(
    "--full",
    is_flag=True,
    help="Rebuild every layer from the raw layer instead of applying only the new drops.",
)
@click.option(
    "--election",
    metavar="NAME",
    help=f"The election configuration to use: a folder of the elections folder "
    f"(--elections-dir) (default: ${ELECTION_ENV} or {DEFAULT_ELECTION}).",
)
@elections_dir_option
@click.option(
    "--landing",
    metavar="DIR",
    help=f"The folder feeds arrive in; read, never written (default: ${LANDING_ENV} or the "
    "data directory's landing/).",
)
@click.option(
    "--quarantine-threshold",
    type=click.FloatRange(0, 1),
    metavar="SHARE",
    help="Largest share of a delivery's tallies that may be quarantined before the feed is "
    "held suspect and the marts are not rebuilt "
    "(default: $TALLYHOUSE_QUARANTINE_THRESHOLD, else election.toml's [quality] "
    "quarantine_threshold, else 0.05).",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="Fail at once when another run is writing to the data directory, instead of waiting "
    "for it (up to $TALLYHOUSE_WRITER_WAIT seconds, default 300).",
)
def run(
    data_dir: str | None,
    full: bool,
    election: str | None,
    elections_dir: str | None,
    landing: str | None,
    quarantine_threshold: float | None,
    no_wait: bool,
) -> int:
    """Load landed feeds, build and publish the marts.

    With nothing landed for the built-in sample election, land it first. Exits 1 when the run
    fails or a file is rejected whole.
    """
    settings = settings_from(
        data_dir,
        quarantine_threshold=quarantine_threshold,
        election=election,
        landing=landing,
        writer_wait_seconds=0 if no_wait else None,
        elections_dir=elections_folder(elections_dir),
    )
    from expectations.gx_worker import running, saves_an_import

    worker = settings.gx_worker and _expects_tallies(settings, full) and saves_an_import()
    paused = _pause_collector()
    try:
        with running(worker, str(settings.data_dir)):
            config = election_config(settings)
            _check_landing(settings, config)
            # where `tallyhouse query` would look without --data-dir (read before activate)
            default_data_dir = settings_from(None).data_dir
            activate(settings)
            if _land_sample_if_empty(settings, config):  # files this command just wrote, whole
                settings = replace(settings, settle_seconds=0)
            started = time.perf_counter()
            result = _execute(settings, full, paused)
            elapsed = time.perf_counter() - started
    finally:
        if paused:
            gc.enable()
    _report_unmatched(result)
    if not result.success:
        return _report_failure(settings, result, elapsed)
    shown = None if settings.data_dir == default_data_dir else settings.data_dir
    return _report_success(settings, result, elapsed, config.election.levels[0], shown)


def _pause_collector() -> bool:
    """In the console script's process, pause the garbage collector until the job starts
    (_execute); whether it did. The run's start imports Dagster, SQLAlchemy and the assets and
    creates the instance: some 400,000 objects, most living as long as the process, that the
    collector walked again and again (about 500 collections, 0.4 s of CPU). They are then
    frozen (gc.freeze: left out of later collections), and the job runs with the collector on."""
    if not (in_console_process() and gc.isenabled()):
        return False
    gc.disable()
    return True


def _check_landing(settings: Settings, config) -> None:
    """Argument and configuration errors found before anything is written: a --landing folder
    that is not there, a landing file two contracts claim."""
    from landing.files import matching_files
    from transforms.text import escaped, one_line

    if settings.landing_dir is not None and not settings.landing_dir.is_dir():
        raise ConfigError(f"--landing: {escaped(str(settings.landing_dir), 300)} is not a folder")
    if settings.landing.is_dir():
        try:
            matching_files(settings.landing, config.contracts)
        except ValueError as error:
            raise ConfigError(one_line(error)) from None


def _expects_tallies(settings: Settings, full: bool) -> bool:
    """Whether the gate will likely judge tallies: a first or --full run with a file landed (or
    the sample about to be), or a later run with a file landed since the warehouse was last
    written (a drop). Such a run starts a Great Expectations worker at once
    (expectations/gx_worker.py), which imports GX while the run reads its configuration, lands
    the sample, loads and stages; any other run leaves GX to the gate, which imports it only
    when it has tallies to judge. "Since" goes by the files' modification times, so a drop
    copied in with its old time (`cp -p`, `rsync -t`) starts none and the gate imports GX
    itself. A wrong guess costs the worker's import (it is killed when the run ends), never a
    verdict."""
    first = full or not settings.warehouse.exists()
    since = None if first else settings.warehouse.stat().st_mtime
    return _landed_since(settings.landing, since) or (first and _builtin_sample(settings))


def _landed_since(landing: Path, since: float | None) -> bool:
    """Whether the landing folder holds a file (modified after `since`, when given)."""
    try:
        paths = list(landing.iterdir())
    except OSError:  # no landing folder yet (or none to read: the run says so)
        return False
    for path in paths:
        try:
            stat = path.stat()
        except OSError:  # gone meanwhile
            continue
        if S_ISREG(stat.st_mode) and (since is None or stat.st_mtime > since):
            return True
    return False


def _builtin_sample(settings: Settings) -> bool:
    """Whether the run is on the built-in sample election, landed if need be."""
    return settings.election == DEFAULT_ELECTION and settings.landing_dir is None


def _land_sample_if_empty(settings: Settings, config) -> bool:
    """Land the built-in sample when nothing is landed for it; whether it did."""
    from landing.files import matching_files, write_synthetic

    if _builtin_sample(settings) and not matching_files(settings.landing, config.contracts):
        from transforms.synthetic.election import generate

        click.echo(f"No feed in {settings.landing}: landing the built-in sample election.")
        write_synthetic(generate(), settings.landing)
        return True
    return False


def _execute(settings: Settings, full: bool, collector_paused: bool):
    import dagster as dg

    from orchestration.runner import instance_sqlite_kept_open, run_tally_job
    from orchestration.sensors import FULL_TAG

    with instance_sqlite_kept_open(settings.dagster_home), dg.DagsterInstance.get() as instance:
        if collector_paused:  # what the start made lives as long as the process (_pause_collector)
            gc.freeze()
            gc.enable()
        return run_tally_job(settings, instance, tags={FULL_TAG: "true"} if full else None)


def _report_failure(settings: Settings, result, elapsed: float) -> int:
    from orchestration.runner import failure_messages
    from reporting.terminal.run_summary import print_quality

    click.echo(f"\nRun {result.run_id} FAILED after {elapsed:.1f}s.", err=True)
    for message in failure_messages(result):
        click.echo(message, err=True)
    if settings.warehouse.exists():
        print_quality(settings.warehouse)
    if settings.published.exists():
        click.echo(f"The published marts at {settings.published} were left as they were.", err=True)
    return 1


def _report_unmatched(result) -> None:
    from orchestration.runner import unmatched_files
    from reporting.terminal.run_summary import print_unmatched

    print_unmatched(*unmatched_files(result))


def _report_success(
    settings: Settings, result, elapsed: float, level: str, data_dir: Path | None
) -> int:
    from orchestration.runner import published, rejected_files
    from reporting.terminal.run_summary import print_quality, print_summary

    if published(result):
        click.echo(f"\nRun {result.run_id} succeeded in {elapsed:.1f}s.\n")
        print_quality(settings.warehouse)
        named = settings.election if settings.election != DEFAULT_ELECTION else None
        print_summary(settings.published, level, data_dir, settings.warehouse, named)
    else:
        click.echo(
            f"\nRun {result.run_id}: nothing new ({elapsed:.1f}s); the published file "
            f"{settings.published} is unchanged."
        )
    rejected = rejected_files(result)
    if not rejected:
        return 0
    click.echo(f"{len(rejected)} file(s) were rejected whole; the marts hold the rest:", err=True)
    for error in rejected:
        click.echo(f"  {error}", err=True)
    return 1


@click.command("ui")
@data_dir_option
@click.option(
    "--election", metavar="NAME", help="As for run: the election its sensor and schedule use."
)
@elections_dir_option
@click.option("--landing", metavar="DIR", help="As for run: the folder its sensor watches.")
@click.option(
    "--port", type=int, default=3000, show_default=True, help="The port the UI listens on."
)
def ui(
    data_dir: str | None,
    election: str | None,
    elections_dir: str | None,
    landing: str | None,
    port: int,
) -> int:
    """Open the Dagster UI on 127.0.0.1.

    Replaces this process with `dagster dev`, its sensor and schedule set up as for run.
    """
    settings = settings_from(
        data_dir, election=election, landing=landing, elections_dir=elections_folder(elections_dir)
    )
    activate(settings)
    dagster = Path(sys.executable).with_name("dagster")
    argv = [str(dagster), "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1"]
    os.execv(argv[0], [*argv, "-p", str(port)])
    return 0
