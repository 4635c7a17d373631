"""The `tallyhouse` command: run the pipeline, generate a synthetic election, open the UI."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import duckdb

from orchestration.settings import (
    DATA_DIR_ENV,
    DEFAULT_ELECTION,
    ELECTION_ENV,
    LANDING_ENV,
    Settings,
    load_settings,
    prepare_data_dir,
)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help=f"where all runtime state lives (default: ${DATA_DIR_ENV} or ./data)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tallyhouse", description="Election tally sheets in, trustworthy results marts out."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="load landed feeds, build and publish the marts")
    _add_data_dir(run)
    run.add_argument(
        "--full",
        action="store_true",
        help="rebuild every layer from the raw layer instead of applying only the new drops",
    )
    run.add_argument(
        "--election",
        help="the election configuration to use: a folder of elections/ (default: "
        "$TALLYHOUSE_ELECTION or sample)",
    )
    run.add_argument(
        "--landing",
        help="the folder feeds arrive in; read, never written (default: $TALLYHOUSE_LANDING "
        "or the data directory's landing/)",
    )
    run.add_argument(
        "--quarantine-threshold",
        type=float,
        help="largest share of a delivery's tallies that may be quarantined before the feed is "
        "held suspect and the marts are not rebuilt (default: "
        "$TALLYHOUSE_QUARANTINE_THRESHOLD or 0.05)",
    )

    quality = commands.add_parser("quality", help="list the latest quality issues")
    _add_data_dir(quality)
    quality.add_argument("--rule", help="only this rule, e.g. E2")
    quality.add_argument("--severity", choices=["error", "warn"])
    quality.add_argument("--limit", type=int, default=50)

    gen = commands.add_parser("generate", help="write a synthetic election into a landing folder")
    _add_data_dir(gen)
    gen.add_argument("--tables", type=int, default=30_000, help="number of tables (default 30000)")
    gen.add_argument("--seed", type=int, default=2024)
    gen.add_argument("--drops", type=int, default=4, help="feed files, in arrival order")
    gen.add_argument(
        "--reporting",
        type=float,
        default=1.0,
        help="share of tables whose tally is delivered (default 1.0)",
    )
    gen.add_argument("--out", help="folder to write to (default: the data directory's landing/)")
    gen.add_argument(
        "--faults",
        default="",
        help="break quality rules on purpose: a rate for every rule ('0.01') or per rule "
        "('E2=0.01,W1=0.005'); truth.json lists each injected fault",
    )

    replay = commands.add_parser(
        "replay", help="drop a generated election's files into the landing folder at a pace"
    )
    _add_data_dir(replay)
    replay.add_argument(
        "--from", dest="source", required=True, help="the folder `tallyhouse generate --out` wrote"
    )
    replay.add_argument(
        "--pace", type=float, default=30.0, help="seconds between drops (default 30)"
    )

    query = commands.add_parser("query", help="run read-only SQL on the published marts")
    _add_data_dir(query)
    query.add_argument("sql", help="e.g. \"select * from results where level = 'national'\"")
    query.add_argument("--max-rows", type=int, default=100, help="rows to print (default 100)")

    results = commands.add_parser(
        "results", help="candidates per unit with turnout and coverage, from the published marts"
    )
    _add_data_dir(results)
    results.add_argument("--level", required=True, help="national, state, municipality, …")
    results.add_argument("--source", help="only this source (default: every source)")
    results.add_argument("--unit", help="only the unit with this code")
    results.add_argument("--parent", help="only units under the unit with this code")
    results.add_argument("--max-units", type=int, default=50, help="units to print (default 50)")

    export = commands.add_parser(
        "export", help="write the published marts to files, one per table, with a manifest"
    )
    _add_data_dir(export)
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    export.add_argument("--out", required=True, help="folder to write to")
    export.add_argument("--tables", nargs="+", help="only these marts (default: all)")

    docs = commands.add_parser(
        "docs", help="regenerate docs/data-dictionary.md from warehouse/mart_docs.py"
    )
    docs.add_argument("--check", action="store_true", help="exit 1 if the page is stale")

    report = commands.add_parser(
        "report", help="write a self-contained HTML results report from the published marts"
    )
    _add_data_dir(report)
    report.add_argument("--out", help="the HTML file to write (default: <data dir>/report.html)")
    report.add_argument(
        "--source", help="the source to report on (default: the one with most tallies counted)"
    )

    ui = commands.add_parser("ui", help="open the Dagster UI on 127.0.0.1")
    _add_data_dir(ui)
    ui.add_argument("--election", help="as for run: the election its sensor and schedule use")
    ui.add_argument("--landing", help="as for run: the folder its sensor watches")
    ui.add_argument("--port", type=int, default=3000)
    return parser


def _activate(settings: Settings) -> None:
    """Make the settings the environment of everything this process starts (dagster dev loads
    the definitions in subprocesses, which read them back through load_settings)."""
    prepare_data_dir(settings)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    os.environ[DATA_DIR_ENV] = str(settings.data_dir)
    os.environ[ELECTION_ENV] = settings.election
    if settings.landing_dir is not None:
        os.environ[LANDING_ENV] = str(settings.landing_dir)


def cmd_generate(args: argparse.Namespace) -> int:
    from transforms.synthetic import generate
    from warehouse.landing import write_synthetic

    settings = load_settings(args.data_dir)
    out = Path(args.out).resolve() if args.out else settings.landing
    started = time.perf_counter()
    sample = generate(args.tables, seed=args.seed, drops=args.drops, reporting=args.reporting)
    if args.faults:
        from transforms.faults import inject_faults, parse_rates

        sample = inject_faults(sample, parse_rates(args.faults), seed=args.seed)
    files = write_synthetic(sample, out)
    print(
        f"wrote {sample.election.name}: registry, {len(files)} drop files and truth.json "
        f"to {out} in {time.perf_counter() - started:.1f}s"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings(
        args.data_dir,
        quarantine_threshold=args.quarantine_threshold,
        election=args.election,
        landing=args.landing,
    )
    _activate(settings)
    from orchestration.summary import print_quality, print_summary
    from warehouse.configs import load_election
    from warehouse.landing import matching_files, write_synthetic

    config = load_election(settings.election, settings.elections_dir)
    builtin = settings.election == DEFAULT_ELECTION and settings.landing_dir is None
    if builtin and not matching_files(settings.landing, config.contracts):
        from transforms.synthetic import generate

        print(f"No feed in {settings.landing}: landing the built-in sample election.", flush=True)
        write_synthetic(generate(), settings.landing)

    import dagster as dg

    from orchestration.runner import failure_messages, rejected_files, run_tally_job
    from orchestration.sensors import FULL_TAG

    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = run_tally_job(settings, instance, tags={FULL_TAG: "true"} if args.full else None)
    elapsed = time.perf_counter() - started
    if not result.success:
        print(f"\nRun {result.run_id} FAILED after {elapsed:.1f}s.", file=sys.stderr)
        for message in failure_messages(result):
            print(message, file=sys.stderr)
        if settings.warehouse.exists():
            print_quality(settings.warehouse)
        if settings.published.exists():
            print(
                f"The published marts at {settings.published} were left as they were.",
                file=sys.stderr,
            )
        return 1
    print(f"\nRun {result.run_id} succeeded in {elapsed:.1f}s.\n")
    print_quality(settings.warehouse)
    print_summary(settings.published)
    rejected = rejected_files(result)
    if rejected:
        print(
            f"{len(rejected)} file(s) were rejected whole; the marts hold the rest:",
            file=sys.stderr,
        )
        for error in rejected:
            print(f"  {error}", file=sys.stderr)
        return 1
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    from orchestration.summary import print_issues

    settings = load_settings(args.data_dir)
    if not settings.warehouse.exists():
        print(f"No warehouse at {settings.warehouse}: run `tallyhouse run` first.", file=sys.stderr)
        return 1
    try:
        return print_issues(settings.warehouse, args.rule, args.severity, args.limit)
    except duckdb.IOException:
        print(
            "The warehouse is busy (a run is writing to it); try again when it ends.",
            file=sys.stderr,
        )
        return 1


def cmd_replay(args: argparse.Namespace) -> int:
    from warehouse.landing import replay

    settings = load_settings(args.data_dir)
    source = Path(args.source).resolve()
    if not source.is_dir():
        print(f"{source}: no such folder", file=sys.stderr)
        return 1
    print(
        f"Replaying {source} into {settings.landing}, one file every {args.pace:g}s "
        "(start the landing sensor in `tallyhouse ui` to process each drop).",
        flush=True,
    )
    dropped = replay(
        source,
        settings.landing,
        args.pace,
        announce=lambda path: print(f"  dropped {path.name}", flush=True),
    )
    print(f"{len(dropped)} file(s) dropped.")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from orchestration.display import format_query
    from warehouse.read_marts import NotReadOnly, open_published, run_query

    settings = load_settings(args.data_dir)
    try:
        with open_published(settings.published) as con:
            result = run_query(con, args.sql, max(args.max_rows, 0))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    except NotReadOnly as error:
        print(f"query {error}", file=sys.stderr)
        return 2
    except duckdb.Error as error:
        print(f"query failed: {error}", file=sys.stderr)
        return 1
    print(format_query(result))
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from orchestration.display import format_unit
    from warehouse.read_marts import NoSuchChoice, group_units, open_published, unit_results

    settings = load_settings(args.data_dir)
    try:
        with open_published(settings.published) as con:
            found = unit_results(con, args.level, args.source, args.unit, args.parent)
    except (FileNotFoundError, NoSuchChoice) as error:
        print(error, file=sys.stderr)
        return 1
    units = group_units(found)
    for rows in units[: args.max_units]:
        print(format_unit(rows) + "\n")
    if len(units) > args.max_units:
        print(
            f"… {args.max_units:,} of {len(units):,} units shown; narrow with --parent or --unit."
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse.export import export_marts

    settings = load_settings(args.data_dir)
    out = Path(args.out).resolve()
    try:
        manifest = export_marts(settings.published, out, args.format, args.tables)
    except (FileNotFoundError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    for entry in manifest["tables"]:
        print(f"  {entry['file']:<32} {entry['rows']:>12,} rows")
    print(f"Exported {len(manifest['tables'])} mart(s) of run {manifest['run_id']} to {out}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from warehouse.data_dictionary import PAGE, render, write

    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != render():
            print(f"{PAGE} is stale: run `tallyhouse docs`.", file=sys.stderr)
            return 1
        print(f"{PAGE} is up to date.")
        return 0
    print(f"{'wrote' if write() else 'unchanged:'} {PAGE}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from orchestration.report import write_report
    from warehouse.report_data import ReportError

    settings = load_settings(args.data_dir)
    out = Path(args.out).resolve() if args.out else settings.data_dir / "report.html"
    try:
        written = write_report(settings.published, out, args.source)
    except ReportError as error:
        print(str(error), file=sys.stderr)
        return 1
    print(
        f"Wrote {written.path} ({written.bytes / 1e6:.1f} MB, {written.charts} charts) for "
        f"source {written.source!r}; it opens offline in any browser."
    )
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    settings = load_settings(args.data_dir, election=args.election, landing=args.landing)
    _activate(settings)
    dagster = Path(sys.executable).with_name("dagster")
    argv = [
        str(dagster),
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
    ]
    os.execv(argv[0], argv)
    return 0


COMMANDS = {
    "run": cmd_run,
    "generate": cmd_generate,
    "quality": cmd_quality,
    "query": cmd_query,
    "results": cmd_results,
    "export": cmd_export,
    "docs": cmd_docs,
    "replay": cmd_replay,
    "report": cmd_report,
    "ui": cmd_ui,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
