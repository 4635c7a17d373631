"""`tallyhouse generate` and `tallyhouse replay`: synthetic feeds into a landing folder."""

from __future__ import annotations

import time
from pathlib import Path

import click

from orchestration.cli_commands.common import ConfigError, data_dir_option, fail, settings_from


@click.command("generate")
@data_dir_option
@click.option("--tables", type=int, default=30_000, help="Number of voting tables (default 30000).")
@click.option(
    "--seed",
    type=int,
    default=2024,
    help="Seed of the random generator: the same seed writes the same election (default 2024).",
)
@click.option("--drops", type=int, default=4, help="Feed files, in arrival order (default 4).")
@click.option(
    "--reporting",
    type=float,
    default=1.0,
    help="Share of tables whose tally is delivered (default 1.0).",
)
@click.option(
    "--out", metavar="DIR", help="Folder to write to (default: the data directory's landing/)."
)
@click.option(
    "--faults",
    default="",
    metavar="RATES",
    help="Break quality rules on purpose: a rate for every rule ('0.01') or per rule "
    "('E2=0.01,W1=0.005'); truth.json lists each injected fault.",
)
@click.option(
    "--unlisted",
    type=float,
    default=0.0,
    metavar="SHARE",
    help="Share of tables without a list of registered voters (default 0): they carry 0 "
    "registered, which the sample contract declares `absent_when = 0`.",
)
@click.option(
    "--other-votes",
    is_flag=True,
    help="Add an other_votes column (valid votes for no declared candidate); read it with a "
    "contract that maps other_votes (docs/contracts.md).",
)
@click.option(
    "--contests",
    type=int,
    default=1,
    metavar="K",
    help="Contests on the ballot (default 1: the single-contest sample, tallies_*.csv). K of 2 "
    "or more writes a general election (elections/general): a president, a vote-for-2 senate "
    "and governors per state, mayors, legislative districts across states, as one long feed "
    "general_*.csv with truth per contest.",
)
@click.option(
    "--ballots",
    is_flag=True,
    help="With --contests K ≥ 2: the registry lists the contests on each table's ballot (its "
    "`contests` column), which rule E6, coverage and contest_status use.",
)
@click.option(
    "--off-ballot",
    type=int,
    default=0,
    metavar="N",
    help="With --ballots and K ≥ 5: add N tallies of a legislative contest not on their "
    "table's ballot (they break E6; truth.json lists them under off_ballot).",
)
def generate_command(
    data_dir: str | None,
    tables: int,
    seed: int,
    drops: int,
    reporting: float,
    out: str | None,
    faults: str,
    unlisted: float,
    other_votes: bool,
    contests: int,
    ballots: bool,
    off_ballot: int,
) -> int:
    """Write a synthetic election into a landing folder.

    Writes the registry, the feed split into drop files in arrival order, and truth.json with
    the exact national and per-state totals (with --contests K ≥ 2: per contest, district and
    state).
    """
    if contests != 1:
        listed = (ballots, off_ballot)
        return _generate_general(
            data_dir, tables, seed, drops, reporting, out, contests, faults, unlisted, other_votes,
            listed,
        )  # fmt: skip
    if ballots or off_ballot:
        raise ConfigError(
            "--ballots and --off-ballot: only for a general election (--contests K ≥ 2)"
        )
    from landing.files import write_synthetic
    from transforms.synthetic.election import generate as synthesize

    settings = settings_from(data_dir)
    folder = Path(out).resolve() if out else settings.landing
    started = time.perf_counter()
    try:
        sample = synthesize(
            tables,
            seed=seed,
            drops=drops,
            reporting=reporting,
            unlisted=unlisted,
            other_votes=other_votes,
        )
        if faults:
            from transforms.synthetic.faults import inject_faults, parse_rates

            sample = inject_faults(sample, parse_rates(faults), seed=seed)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    files = write_synthetic(sample, folder)
    return _wrote(sample.election.name, files, folder, started)


def _wrote(name: str, files: list[Path], folder: Path, started: float) -> int:
    click.echo(
        f"wrote {name}: registry, {len(files)} drop files and truth.json "
        f"to {folder} in {time.perf_counter() - started:.1f}s"
    )
    return 0


def _generate_general(
    data_dir: str | None,
    tables: int,
    seed: int,
    drops: int,
    reporting: float,
    out: str | None,
    contests: int,
    faults: str,
    unlisted: float,
    other_votes: bool,
    listed: tuple[bool, int] = (False, 0),
) -> int:
    """`generate --contests K`: a general election (transforms.synthetic.general); `listed`:
    --ballots and --off-ballot."""
    if contests < 1:
        raise ConfigError(f"--contests must be at least 1, got {contests}")
    given = [
        name
        for name, used in (
            ("--faults", bool(faults)),
            ("--unlisted", bool(unlisted)),
            ("--other-votes", other_votes),
        )
        if used
    ]
    if given:
        raise ConfigError(
            f"{', '.join(given)}: only for the single-contest sample (--contests 1), not with "
            f"--contests {contests}"
        )
    from landing.synthetic_general import write_synthetic_general
    from transforms.synthetic.general import generate_general

    settings = settings_from(data_dir)
    folder = Path(out).resolve() if out else settings.landing
    started = time.perf_counter()
    try:
        ballots, off_ballot = listed
        if off_ballot and not ballots:
            raise ValueError("--off-ballot needs --ballots: the registry must list the ballots")
        general = generate_general(
            tables,
            contests,
            seed=seed,
            drops=drops,
            reporting=reporting,
            list_ballots=ballots,
            off_ballot=off_ballot,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    files = write_synthetic_general(general, folder)
    return _wrote(general.name, files, folder, started)


@click.command("replay")
@data_dir_option
@click.option(
    "--from",
    "source",
    required=True,
    metavar="DIR",
    help="The folder `tallyhouse generate --out` wrote.",
)
@click.option("--pace", type=float, default=30.0, help="Seconds between drops (default 30).")
def replay_command(data_dir: str | None, source: str, pace: float) -> int:
    """Drop generated feed files into the landing folder at a pace.

    Start the landing sensor in `tallyhouse ui` to process each drop as it lands.
    """
    from landing.files import replay as drop_files

    settings = settings_from(data_dir)
    folder = Path(source).resolve()
    if not folder.is_dir():
        return fail(f"{folder}: no such folder")
    click.echo(
        f"Replaying {folder} into {settings.landing}, one file every {pace:g}s "
        "(start the landing sensor in `tallyhouse ui` to process each drop)."
    )
    dropped = drop_files(
        folder,
        settings.landing,
        pace,
        announce=lambda path: click.echo(f"  dropped {path.name}"),
    )
    click.echo(f"{len(dropped)} file(s) dropped.")
    return 0
