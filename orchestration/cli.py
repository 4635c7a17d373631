"""The `tallyhouse` command: run the pipeline, generate a synthetic election, open the UI."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from orchestration.settings import DATA_DIR_ENV, Settings, load_settings, prepare_data_dir


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

    ui = commands.add_parser("ui", help="open the Dagster UI on 127.0.0.1")
    _add_data_dir(ui)
    ui.add_argument("--port", type=int, default=3000)
    return parser


def _activate(settings: Settings) -> None:
    prepare_data_dir(settings)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    os.environ[DATA_DIR_ENV] = str(settings.data_dir)


def cmd_generate(args: argparse.Namespace) -> int:
    from transforms.synthetic import generate
    from warehouse.landing import write_synthetic

    settings = load_settings(args.data_dir)
    out = Path(args.out).resolve() if args.out else settings.landing
    started = time.perf_counter()
    sample = generate(args.tables, seed=args.seed, drops=args.drops, reporting=args.reporting)
    files = write_synthetic(sample, out)
    print(
        f"wrote {sample.election.name}: registry, {len(files)} drop files and truth.json "
        f"to {out} in {time.perf_counter() - started:.1f}s"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings(args.data_dir)
    _activate(settings)
    from orchestration.summary import print_summary
    from warehouse.landing import feed_files, write_synthetic

    if not feed_files(settings.landing):
        from transforms.synthetic import generate

        print(f"No feed in {settings.landing}: landing the built-in sample election.", flush=True)
        write_synthetic(generate(), settings.landing)

    import dagster as dg

    from orchestration.runner import failure_messages, run_tally_job

    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = run_tally_job(settings, instance)
    elapsed = time.perf_counter() - started
    if not result.success:
        print(f"\nRun {result.run_id} FAILED after {elapsed:.1f}s.", file=sys.stderr)
        for message in failure_messages(result):
            print(message, file=sys.stderr)
        if settings.published.exists():
            print(
                f"The published marts at {settings.published} were left as they were.",
                file=sys.stderr,
            )
        return 1
    print(f"\nRun {result.run_id} succeeded in {elapsed:.1f}s.\n")
    print_summary(settings.published)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    settings = load_settings(args.data_dir)
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


COMMANDS = {"run": cmd_run, "generate": cmd_generate, "ui": cmd_ui}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
