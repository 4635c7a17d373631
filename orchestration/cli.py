"""The `tallyhouse` command: run the pipeline, generate a synthetic election, open the UI.

The commands live in orchestration/cli_commands/; this module assembles the group and maps
click's exceptions to exit codes: 0 ok, 1 a failed run or a missing input, 2 usage or
configuration errors, each said in one line on stderr. Nothing heavy is imported here.
"""

from __future__ import annotations

import sys

import click

from orchestration.cli_commands.check import check
from orchestration.cli_commands.common import ConsoleProcess
from orchestration.cli_commands.deploy import deploy_check
from orchestration.cli_commands.feeds import generate_command, replay_command
from orchestration.cli_commands.marts import export, query, report, results
from orchestration.cli_commands.pipeline import run, ui
from orchestration.cli_commands.project import docs, schema
from orchestration.cli_commands.quality import quality, verify, withdraw

PACKAGE = "tallyhouse"
COMMANDS = (
    run,
    check,
    generate_command,
    quality,
    verify,
    withdraw,
    query,
    results,
    export,
    docs,
    report,
    replay_command,
    ui,
    schema,
    deploy_check,
)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    click.echo(f"{PACKAGE} {version(PACKAGE)}")
    ctx.exit()


@click.group(name=PACKAGE, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the installed version and exit.",
)
def tallyhouse() -> None:
    """Election tally sheets in, trustworthy results marts out."""


for _command in COMMANDS:
    tallyhouse.add_command(_command)


def _one_line(error: click.UsageError) -> str:
    message = " ".join(error.format_message().split())
    command = error.ctx.command_path if error.ctx is not None else PACKAGE
    return f"Error: {message} (see '{command} --help')"


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]) and return its exit code. Without
    `argv` (the console script, `python -m orchestration.cli`) the process ends when this
    returns, and leaves its objects to the exit (_leave_objects_to_the_exit)."""
    code = _run(argv)
    if argv is None:
        _leave_objects_to_the_exit()
    return code


def _leave_objects_to_the_exit() -> None:
    """Move every object into the collector's permanent generation, so that the interpreter's
    exit does not walk them. Its last collections walked the whole heap a command leaves
    (Dagster's definitions, the run's events, polars and DuckDB objects): about 0.8 s of CPU
    after `tallyhouse run` had printed its summary, next to nothing now. atexit handlers still
    run and objects freed by their last reference still are; what only a cycle held goes back
    to the system with the process."""
    import gc

    gc.freeze()


def _run(argv: list[str] | None) -> int:
    try:
        code = tallyhouse.main(
            args=argv,
            prog_name=PACKAGE,
            standalone_mode=False,
            obj=ConsoleProcess() if argv is None else None,
        )
    except click.exceptions.NoArgsIsHelpError as error:
        error.show()  # `tallyhouse` alone: the help, on stderr
        return error.exit_code
    except click.UsageError as error:
        click.echo(_one_line(error), err=True)
        return error.exit_code
    except click.ClickException as error:
        click.echo(f"Error: {' '.join(error.format_message().split())}", err=True)
        return error.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
