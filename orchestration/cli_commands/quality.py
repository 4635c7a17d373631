"""`tallyhouse quality`: the latest quality issues, read from the warehouse."""

from __future__ import annotations

import click

from orchestration.cli_commands.common import data_dir_option, fail, settings_from


@click.command("quality")
@data_dir_option
@click.option("--rule", metavar="ID", help="Only this rule, e.g. E2.")
@click.option(
    "--severity",
    type=click.Choice(["error", "warn"]),
    help="Only issues of this severity: error (quarantined) or warn (flagged).",
)
@click.option("--limit", type=int, default=50, help="Issues to print (default 50).")
def quality(data_dir: str | None, rule: str | None, severity: str | None, limit: int) -> int:
    """List the latest quality issues, with file and row.

    Newest delivery first.
    """
    import duckdb

    from reporting.terminal.run_summary import print_issues

    settings = settings_from(data_dir)
    if not settings.warehouse.exists():
        return fail(f"No warehouse at {settings.warehouse}: run `tallyhouse run` first.")
    try:
        return print_issues(settings.warehouse, rule, severity, limit)
    except duckdb.IOException:
        return fail("The warehouse is busy (a run is writing to it); try again when it ends.")
