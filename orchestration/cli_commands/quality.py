"""`tallyhouse quality`: the latest quality issues, read from the warehouse."""

from __future__ import annotations

import click

from orchestration.cli_commands.common import (
    ConfigError,
    data_dir_option,
    election_config,
    fail,
    settings_from,
)


@click.command("quality")
@data_dir_option
@click.option("--rule", metavar="ID", help="Only this rule, e.g. E2.")
@click.option(
    "--severity",
    type=click.Choice(["error", "warn"]),
    help="Only issues of this severity: error (quarantined) or warn (flagged).",
)
@click.option("--limit", type=int, default=50, help="Issues to print (default 50).")
@click.option(
    "--election",
    metavar="NAME",
    help="Check that the data directory holds this election (its configuration is read and "
    "checked first).",
)
@click.option(
    "--docs",
    is_flag=True,
    help="Render Great Expectations Data Docs from the kept validation results of the last gate "
    "runs and print the path of their index.html (instead of listing issues).",
)
def quality(
    data_dir: str | None,
    rule: str | None,
    severity: str | None,
    limit: int,
    election: str | None,
    docs: bool,
) -> int:
    """List the latest quality issues, with file and row.

    Newest delivery first. With --docs: the Great Expectations Data Docs of the gate's
    validation results instead.
    """
    import duckdb

    from reporting.terminal.run_summary import print_issues

    if docs and (given := _filters_given(click.get_current_context())):
        return fail(
            f"--docs renders every kept validation result; it takes no {' or '.join(given)}",
            code=2,
        )
    if rule is not None:
        from expectations.rules import RULES

        known = [r.id for r in RULES]
        if rule.upper() not in known:
            return fail(f"unknown rule {rule!r}; the rules are: {', '.join(known)}", code=2)
        rule = rule.upper()
    settings = settings_from(data_dir, election=election)
    if election is not None:
        election_config(settings)  # an unknown election or a broken file: one line, exit 2
    if not docs and not settings.warehouse.exists():
        return fail(f"No warehouse at {settings.warehouse}: run `tallyhouse run` first.")
    try:
        if election is not None and settings.warehouse.exists():
            _same_election(settings.warehouse, election)
        if docs:
            return _data_docs(settings)
        return print_issues(settings.warehouse, rule, severity, limit)
    except duckdb.IOException:
        return fail("The warehouse is busy (a run is writing to it); try again when it ends.")


def _filters_given(ctx: click.Context) -> list[str]:
    """The issue filters given on the command line (not their defaults)."""
    return [
        f"--{name}"
        for name in ("rule", "severity", "limit")
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    ]


def _data_docs(settings) -> int:
    """Render the Data Docs (GX validation results the gate kept) and print the index's path."""
    from expectations.results_store import NoResults, render_docs

    try:
        index = render_docs(settings.data_dir)
    except NoResults:
        return fail(
            f"No quality gate has run in {settings.data_dir} yet: run `tallyhouse run` first."
        )
    click.echo(index)
    return 0


def _same_election(warehouse, election: str) -> None:
    """Refuse a warehouse bound to another election (as `run` does)."""
    from warehouse.db import connect, rows, table_exists

    with connect(warehouse, read_only=True) as con:
        bound = (
            rows(con, "select election_id from raw.election")
            if table_exists(con, "raw", "election")
            else []
        )
    if bound and bound[0][0] != election:
        raise ConfigError(
            f"--election: this data directory holds election {bound[0][0]!r}, not {election!r}"
        )


@click.command("verify")
@data_dir_option
@click.option(
    "--landing",
    metavar="DIR",
    help="The landing folder (default: $TALLYHOUSE_LANDING or the data directory's landing/).",
)
def verify(data_dir: str | None, landing: str | None) -> int:
    """Rehash delivered files, recount national totals from raw.

    Exit 0 when every file still holds the bytes it was delivered with and the published
    national results equal the sums of the accepted tallies staged again from the raw layer;
    1 when a file changed (a run loads it as a new delivery) or is gone, or a national total
    differs, each named.
    """
    import duckdb

    from transforms.text import escaped
    from warehouse.db import connect
    from warehouse.verify_files import SAME, verify_delivered

    settings = settings_from(data_dir, landing=landing)
    if not settings.warehouse.exists():
        return fail(f"No warehouse at {settings.warehouse}: run `tallyhouse run` first.")
    try:
        with connect(settings.warehouse, read_only=True) as con:
            verdicts = verify_delivered(con, settings.landing)
            totals = _verify_totals(con, settings) if settings.published.exists() else None
            behind = _published_behind(con, settings.published) if totals else None
    except duckdb.IOException:
        return fail("The warehouse is busy (a run is writing to it); try again when it ends.")
    off = [v for v in verdicts if v.status != SAME]
    for v in off:
        now = f"now {v.current_sha256[:12]}…" if v.current_sha256 else "no longer landed"
        click.echo(
            f"  {escaped(v.file_name, 120)}: {v.status}: delivered {v.delivered_sha256[:12]}…, "
            f"{now}"
        )
    click.echo(
        f"{len(verdicts) - len(off):,} of {len(verdicts):,} delivered file(s) hold the bytes "
        f"they were delivered with" + ("." if not off else f"; {len(off):,} do not.")
    )
    if verdicts and all(v.current_sha256 is None for v in verdicts):
        click.echo(
            f"None of them is in {escaped(str(settings.landing), 300)}: if the runs read "
            "another folder, name it with --landing DIR."
        )
    if behind:
        click.echo(
            "Note: the warehouse has moved past the published file (the last run staged new "
            "tallies but did not publish them): its totals may differ until a run publishes."
        )
    differ = _print_totals(totals, settings.published)
    return 1 if off or differ else 0


def _verify_totals(con, settings):
    """The published national totals against the raw layer's recount (warehouse/verify_totals)."""
    from dataclasses import replace

    from warehouse.db import rows, table_exists
    from warehouse.verify_totals import verify_totals

    if table_exists(con, "raw", "election"):
        bound = rows(con, "select election_id from raw.election")
        if bound:
            settings = replace(settings, election=bound[0][0])
    return verify_totals(con, settings.published, election_config(settings).election)


def _published_behind(con, published) -> bool | None:
    from warehouse.mart_updates import published_stamp
    from warehouse.published_state import published_behind

    return published_behind(con, published_stamp(published))


def _print_totals(totals, published) -> bool:
    """Print the national totals' verdict; whether any differs."""
    from transforms.text import escaped

    if totals is None:
        click.echo(f"No published file at {published}: no national totals to recount.")
        return False
    for d in totals.differences:
        click.echo(
            f"  national total differs: source {escaped(d.source_id, 60)}, contest "
            f"{escaped(d.contest_id, 120)}, candidate {escaped(d.candidate_id, 120)}: "
            f"published {_votes(d.published)}, recomputed from the raw layer {_votes(d.recomputed)}"
        )
    if totals.differences:
        click.echo(
            f"{len(totals.differences):,} of {totals.compared:,} national total(s) of the "
            "published results differ from the raw layer's recount."
        )
        return True
    click.echo(
        f"The {totals.compared:,} national total(s) of the published results (per source, "
        "contest and candidate) equal the raw layer's recount of the accepted tallies."
    )
    return False


def _votes(votes: int | None) -> str:
    return "none" if votes is None else f"{votes:,}"


@click.command("withdraw")
@data_dir_option
@click.argument("delivery", metavar="FILE_OR_SHA256")
@click.option("--reason", required=True, help="Why it is withdrawn (kept and published).")
@click.option(
    "--by",
    "withdrawn_by",
    default=None,
    help="Who withdraws it (default: the login name of this process).",
)
def withdraw(data_dir: str | None, delivery: str, reason: str, withdrawn_by: str | None) -> int:
    """Take a delivery back: it leaves the marts at the next run.

    FILE_OR_SHA256 is a landed file's name (its latest delivery) or the first 8 or more hex
    digits of its sha256. Nothing is deleted: the raw rows stay, each unit falls back to its
    previous version, and amendments shows the withdrawal with who, when and why.
    """
    import getpass

    import duckdb

    from transforms.text import escaped, one_line
    from warehouse.db import connect
    from warehouse.withdrawals import NoSuchDelivery
    from warehouse.withdrawals import withdraw as withdraw_delivery

    settings = settings_from(data_dir)
    reason = one_line(reason, 500)
    if not reason.strip():
        return fail("give a --reason: it is kept with the withdrawal", code=2)
    who = one_line(withdrawn_by or getpass.getuser(), 100)
    if not settings.warehouse.exists():
        return fail(f"No warehouse at {settings.warehouse}: run `tallyhouse run` first.")
    try:
        with connect(settings.warehouse) as con:
            done = withdraw_delivery(con, delivery, reason, who)
    except NoSuchDelivery as error:
        return fail(f"withdraw: {one_line(error, 300)}", code=2)
    except duckdb.IOException:
        return fail("The warehouse is busy (a run is writing to it); try again when it ends.")
    name = escaped(done.file_name, 120)
    if done.already:
        click.echo(f"{name} ({done.file_sha256[:12]}…) was already withdrawn; nothing changed.")
        return 0
    click.echo(
        f"Withdrew {name} ({done.file_sha256[:12]}…, delivery {done.delivery_seq}, "
        f"{done.tallies:,} rows). The next `tallyhouse run` restages without it and publishes."
    )
    return 0
