"""`tallyhouse check`: try an election's contracts on a landing folder before loading it.

Thin: the dry run is landing.dry_run (pure reading, mapping, staging and the rules, in memory);
the printing is reporting.terminal.check. Nothing is written: no data directory, no warehouse,
no Dagster instance.
"""

from __future__ import annotations

import click

from orchestration.cli_commands.common import (
    ConfigError,
    election_config,
    elections_dir_option,
    elections_folder,
    settings_from,
)
from orchestration.settings import DEFAULT_ELECTION, ELECTION_ENV, LANDING_ENV


@click.command("check")
@click.option(
    "--election",
    metavar="NAME",
    help=f"The election whose contracts to try (default: ${ELECTION_ENV} or {DEFAULT_ELECTION}).",
)
@click.option(
    "--landing",
    metavar="DIR",
    help=f"The folder of feed files to try; only read (default: ${LANDING_ENV} or ./data/landing).",
)
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    metavar="N",
    help="Data rows of each file to read and map.",
)
@elections_dir_option
def check(election: str | None, landing: str | None, rows: int, elections_dir: str | None) -> int:
    """Dry-run the contracts on landed feeds.

    Reads the election's contracts and the first rows of each landing file; writes nothing.

    Per file: the contract, rows read and left out, units per level, candidates and labels,
    the counts mapped and the rules the sample breaks. Exits 0 when clean, 1 when a file would
    be rejected or a tally quarantined, 2 on a configuration error.
    """
    from landing.dry_run import dry_run
    from reporting.terminal.check import print_check
    from transforms.text import escaped, one_line

    settings = settings_from(None, election=election, landing=landing)
    config = election_config(settings, elections_folder(elections_dir))
    folder = settings.landing
    if not folder.is_dir():
        raise ConfigError(f"--landing: {escaped(str(folder), 300)} is not a folder")
    try:
        report = dry_run(config, folder, rows)
    except ValueError as error:  # two contracts claim one file: the configuration's fault
        raise ConfigError(one_line(error)) from None
    print_check(report, click.echo)
    return report.exit_code
