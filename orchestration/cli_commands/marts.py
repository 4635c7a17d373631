"""`tallyhouse query`, `results`, `export` and `report`: read the published marts, never write
them."""

from __future__ import annotations

from pathlib import Path

import click

from orchestration.cli_commands.common import (
    ConfigError,
    GreedyCommand,
    data_dir_option,
    election_config,
    fail,
    settings_from,
)

OUTPUT_FORMATS = ("table", "csv", "json")


def format_option(command):
    return click.option(
        "--format",
        "output",
        type=click.Choice(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        help="table: aligned for reading; csv: a header and a line per row; json: one array "
        "of objects, types kept. Notes on cut output go to stderr, so csv and json stay whole.",
    )(command)


@click.command("query")
@data_dir_option
@click.argument("sql")
@click.option("--max-rows", type=int, default=100, help="Rows to print (default 100).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=86_400),
    default=60.0,
    show_default=True,
    help="Seconds the query may run before it is stopped.",
)
@format_option
def query(data_dir: str | None, sql: str, max_rows: int, timeout: float, output: str) -> int:
    """Run read-only SQL on the published marts.

    Prints an aligned table, CSV or JSON. SQL is one SELECT or EXPLAIN, e.g.
    "select * from results where level = 'national'"; anything else is refused (exit 2).
    """
    import duckdb

    from reporting.terminal.tables import format_query
    from warehouse.read_marts import NotReadOnly, QueryTimeout, open_published, run_query

    settings = settings_from(data_dir)
    try:
        with open_published(settings.published) as con:
            result = run_query(con, sql, max(max_rows, 0), timeout)
    except FileNotFoundError as error:
        return fail(error)
    except NotReadOnly as error:
        return fail(f"query {error}", code=2)
    except QueryTimeout as error:
        return fail(f"query stopped: {error}")
    except duckdb.Error as error:
        return fail(f"query failed: {error}")
    if output == "table":
        click.echo(format_query(result))
        return 0
    from reporting.terminal.formats import as_format

    click.echo(as_format(output, result.columns, result.rows))
    if result.truncated:
        click.echo(
            f"{len(result.rows):,} of {result.total_rows:,} rows written; raise --max-rows "
            "or use `tallyhouse export` for everything.",
            err=True,
        )
    return 0


@click.command("results")
@data_dir_option
@click.option(
    "--level",
    required=True,
    metavar="LEVEL",
    help="The level to show: national, state, municipality, …",
)
@click.option("--source", help="Only this source (default: every source).")
@click.option(
    "--contest", metavar="ID", help="Only this contest (a general election; default: every one)."
)
@click.option("--unit", metavar="CODE", help="Only the unit with this code.")
@click.option("--parent", metavar="CODE", help="Only units under the unit with this code.")
@click.option("--max-units", type=int, default=50, help="Units to print (default 50).")
@format_option
def results(
    data_dir: str | None,
    level: str,
    source: str | None,
    contest: str | None,
    unit: str | None,
    parent: str | None,
    max_units: int,
    output: str,
) -> int:
    """Candidates per unit with turnout and coverage.

    Read from the published marts, one unit after another (csv and json: a row per unit and
    candidate). An unknown level, source, contest or unit is an error (exit 2).
    """
    from reporting.terminal.tables import format_unit
    from warehouse.read_marts import (
        NoSuchChoice,
        group_units,
        has_contests,
        open_published,
        unit_results,
    )

    settings = settings_from(data_dir)
    try:
        with open_published(settings.published) as con:
            found = unit_results(con, level, source, unit, parent, contest)
            many_contests = has_contests(con)
    except FileNotFoundError as error:
        return fail(error)
    except NoSuchChoice as error:
        return fail(error, code=2)
    units = group_units(found)
    shown = units[: max(max_units, 0)]
    cut = f"{len(shown):,} of {len(units):,} units shown; narrow with --parent or --unit."
    if output != "table":
        from reporting.terminal.formats import as_format

        rows = [row for unit_rows in shown for row in unit_rows]
        columns = list(found[0]) if found else []
        click.echo(as_format(output, columns, [tuple(r.values()) for r in rows]))
        if len(units) > len(shown):
            click.echo(cut, err=True)
        return 0
    for rows in shown:
        click.echo(format_unit(rows, many_contests) + "\n")
    if len(units) > len(shown):
        click.echo(f"… {cut}")
    return 0


@click.command("export", cls=GreedyCommand, greedy=("--tables",))
@data_dir_option
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="File format of the exported marts.",
)
@click.option("--out", required=True, metavar="DIR", help="Folder to write to.")
@click.option(
    "--tables",
    multiple=True,
    metavar="MART...",
    help="Only these marts, e.g. --tables results turnout (default: all).",
)
@click.option(
    "--contest",
    metavar="ID",
    help="Only this contest's rows, in the marts keyed by contest_id (default: everything).",
)
@click.option(
    "--raw",
    is_flag=True,
    help="CSV: write cells as they are. By default a text cell starting with = + - @ (or a "
    "tab or carriage return) gets a leading ' so spreadsheets show it as text, not a formula.",
)
def export(
    data_dir: str | None,
    file_format: str,
    out: str,
    tables: tuple[str, ...],
    contest: str | None,
    raw: bool,
) -> int:
    """Write the published marts to files, with a manifest.

    One file per mart, and manifest.json with rows, sha256 of each file and the run that
    published them. With --contest ID, only that contest's rows of every mart with a contest_id
    column (list the ids: tallyhouse query "select distinct contest_id from contest_status").
    """
    from transforms.text import escaped
    from warehouse.export import export_marts
    from warehouse.read_marts import NoSuchContest

    settings = settings_from(data_dir)
    folder = Path(out).resolve()
    try:
        manifest = export_marts(
            settings.published, folder, file_format, list(tables) or None, contest, raw
        )
    except NoSuchContest as error:
        return fail(error, code=2)
    except (FileNotFoundError, ValueError) as error:
        return fail(error)
    for entry in manifest["tables"]:
        click.echo(f"  {entry['file']:<32} {entry['rows']:>12,} rows")
    of_contest = f" (contest {escaped(contest)!r} only)" if contest else ""
    click.echo(
        f"Exported {len(manifest['tables'])} mart(s) of run {manifest['run_id']}{of_contest} "
        f"to {folder}"
    )
    return 0


@click.command("report")
@data_dir_option
@click.option(
    "--out", metavar="FILE", help="The HTML file to write (default: <data dir>/report.html)."
)
@click.option(
    "--source",
    help="The source to report on (default: the one with the most tallies counted; on a tie, "
    "the election's primary_source, then the first by name).",
)
@click.option(
    "--election",
    metavar="NAME",
    help="The election configuration whose declared contests a general election's report shows "
    "in full first, and whose primary_source breaks a tie (default: as for run).",
)
def report(data_dir: str | None, out: str | None, source: str | None, election: str | None) -> int:
    """Write a self-contained HTML report from the published marts."""
    from reporting.html.data import ReportError
    from reporting.html.write import write_report

    settings = settings_from(data_dir, election=election)
    path = Path(out).resolve() if out else settings.data_dir / "report.html"
    try:
        featured, primary = _configured(settings, named=election is not None)
        written = write_report(settings.published, path, source, featured, primary)
    except ReportError as error:
        return fail(error)
    contests = f"{written.contests:,} contests, " if written.contests > 1 else ""
    click.echo(
        f"Wrote {written.path} ({written.bytes / 1e6:.1f} MB, {contests}{written.charts} charts) "
        f"for source {written.source!r}; it opens offline in any browser."
    )
    return 0


def _configured(settings, named: bool) -> tuple[tuple[str, ...], str | None]:
    """From the election's configuration: the contests it declares, in order (a general
    election's report shows them in full first), and its primary source (the default source
    where sources tie). The report reads only the published file, so the default election's
    configuration that does not load (or another election's file) just features none and breaks
    ties by name; an election named with --election must load (a ConfigError otherwise)."""
    try:
        election = election_config(settings).election
    except ConfigError:
        if named:
            raise
        return (), None
    return tuple(c.id for c in election.contests), election.primary_source
