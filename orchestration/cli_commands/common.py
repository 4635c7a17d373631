"""What the commands share: the --data-dir option, settings that fail as a usage error, and
an option that takes one or more values (`--tables results turnout`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from orchestration.settings import (
    DATA_DIR_ENV,
    ELECTION_ENV,
    ELECTIONS_DIR_ENV,
    LANDING_ENV,
    Settings,
    load_settings,
    prepare_data_dir,
)
from transforms.text import escaped, one_line


class ConsoleProcess:
    """click's `obj` when a command runs in the console script's own process
    (orchestration.cli.main without argv), which ends with the command: the command may tune the
    process (its garbage collector) as a caller's process must not be."""


def in_console_process() -> bool:
    return isinstance(click.get_current_context().find_root().obj, ConsoleProcess)


class ConfigError(click.ClickException):
    """Bad configuration or input the user can fix: one line on stderr, exit 2."""

    exit_code = 2


def data_dir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data-dir",
        metavar="DIR",
        help=f"Where all runtime state lives (default: ${DATA_DIR_ENV} or ./data).",
    )(command)


def elections_dir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--elections-dir",
        metavar="DIR",
        help=f"The folder of election configurations, each election a folder of it (default: "
        f"${ELECTIONS_DIR_ENV} or the shipped elections/).",
    )(command)


def elections_folder(value: str | None) -> Path | None:
    """--elections-dir as a folder (None: not given); a path that is no folder is a
    ConfigError."""
    if not value:
        return None
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"--elections-dir: {escaped(str(root), 300)} is not a folder")
    return root


def settings_from(data_dir: str | None, **explicit: Any) -> Settings:
    """The settings for a command: an explicit value wins, then the environment, then the
    default (see orchestration.settings); a bad value is a ConfigError, not a traceback."""
    try:
        return load_settings(data_dir, **explicit)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def election_config(settings: Settings, elections_dir: Path | None = None):
    """The election's configuration and contracts, read and checked before anything is written;
    an unknown election or a broken file is a ConfigError: one line naming the file and key."""
    from warehouse.configs import load_election

    try:
        return load_election(settings.election, elections_dir or settings.elections_dir)
    except (FileNotFoundError, ValueError, OSError) as error:
        raise ConfigError(one_line(error)) from None


def activate(settings: Settings) -> None:
    """Make the settings the environment of everything this process starts (dagster dev loads
    the definitions in subprocesses, which read them back through load_settings)."""
    try:
        prepare_data_dir(settings)
    except OSError as error:  # a file in the way, no permission, a full disk
        reason = one_line(error.strerror or error, 200)
        raise ConfigError(
            f"cannot prepare the data directory {one_line(settings.data_dir, 300)}: {reason}; "
            "give --data-dir a folder you can write to"
        ) from None
    _check_instance(settings)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    os.environ[DATA_DIR_ENV] = str(settings.data_dir)
    os.environ[ELECTION_ENV] = settings.election
    if settings.landing_dir is not None:
        os.environ[LANDING_ENV] = str(settings.landing_dir)
    if settings.elections_dir is not None:
        os.environ[ELECTIONS_DIR_ENV] = str(settings.elections_dir)
    from orchestration.dotenv_file import write_dotenv

    write_dotenv(Path.cwd(), settings)  # `dagster dev` here shows this instance too


def _check_instance(settings: Settings) -> None:
    """An instance kept in Postgres (deploy/dagster.yaml) whose server cannot be reached is one
    line (a missing or wrong URL: exit 2; a server that does not answer: exit 1), before
    Dagster would fail with a traceback; one that answers has Dagster's tables made there
    once, under the lock the services' deploy-check takes (deploy_check.ready_instance)."""
    from orchestration.deploy_check import PostgresUnreachable, ready_instance

    try:
        ready_instance(settings.dagster_home)
    except ValueError as error:
        raise ConfigError(one_line(error, 400)) from None
    except PostgresUnreachable as error:
        raise click.ClickException(str(error)) from None


def fail(message: object, code: int = 1) -> int:
    """Say what went wrong on stderr and hand back the exit code."""
    click.echo(str(message), err=True)
    return code


class GreedyCommand(click.Command):
    """A command whose `greedy` options take one or more values each, as argparse's
    nargs='+' did: `--tables results turnout` is read as `--tables results --tables turnout`.
    The options must be declared with multiple=True."""

    def __init__(self, *args: Any, greedy: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.greedy = frozenset(greedy)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_greedy(args, self.greedy))


def spread_greedy(args: list[str], greedy: frozenset[str]) -> list[str]:
    """`--tables a b --out x` → `--tables a --tables b --out x`; `--` ends the rewriting."""
    spread: list[str] = []
    current: str | None = None  # the greedy option whose values are being read
    first = False  # the next value belongs to the option just written out
    for index, arg in enumerate(args):
        if arg == "--":
            return spread + args[index:]
        if arg.startswith("-"):
            current = arg if arg in greedy else None
            first = current is not None
            spread.append(arg)
        elif current is not None and not first:
            spread += [current, arg]
        else:
            first = False
            spread.append(arg)
    return spread
