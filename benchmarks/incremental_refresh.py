"""Election night at scale: how long a 10,000-table drop takes to reach the published marts,
against a full rebuild of the same warehouse.

    .venv/bin/python benchmarks/incremental_refresh.py --tables 1000000 --drops 100

Generates the election (untimed) in `--drops` files, lands every file but the last and runs the
job (untimed: it loads the warehouse). Then lands the last drop and times the incremental run,
then times a forced full rebuild of the same warehouse (TALLYHOUSE full tag), three times each
alternately on copies of the data directory. Both must publish identical marts (checked on
every national, state and municipal row and on whole-table fingerprints). Prints the figures and
the ratio against the 15 % goal.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import dagster as dg

import expectations.suites  # noqa: F401  (the gate imports GX lazily; pay it before timing)
from landing.files import write_synthetic
from orchestration.runner import run_tally_job
from orchestration.sensors import FULL_TAG
from orchestration.settings import load_settings, prepare_data_dir
from transforms.synthetic.election import generate
from warehouse.db import connect

GOAL = 0.15
FINGERPRINT = {
    "results": "count(*), sum(votes), sum(hash(source_id, level, unit_code, candidate_id, votes, "
    "share, rank))",
    "turnout": "count(*), sum(total_votes), sum(hash(level, unit_code, registered, valid_votes, "
    "null_votes, blank_votes, total_votes, turnout))",
    "coverage": "count(*), sum(counted), sum(hash(level, unit_code, expected, received, counted))",
    "quality_summary": "count(*), sum(received), sum(hash(level, unit_code, received, accepted))",
    "quality_issues": "count(*), sum(hash(rule_id, tally_code, source_row))",
    "amendments": "count(*), sum(hash(tally_code, delivery_seq, superseded_by_delivery))",
    "projection": "count(*), sum(hash(candidate_id, projected_votes, lower_95, upper_95, "
    "share_lower_95, share_upper_95, worst_case_max))",
    "forensics": "count(*), sum(hash(check_id, unit_code, candidate_id, n, statistic, p_value, "
    "flagged))",
}


def step_seconds(result: dg.ExecuteInProcessResult) -> dict[str, float]:
    """Each step's duration in a successful run (a failed one ends the benchmark)."""
    if not result.success:
        raise SystemExit("run failed")
    return {
        e.step_key: e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.event_type_value == "STEP_SUCCESS"
    }


def timed(settings, tags=None) -> tuple[float, dict[str, float], dg.ExecuteInProcessResult]:
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = run_tally_job(settings, instance, show_progress=False, tags=tags)
        seconds = time.perf_counter() - started
    steps = step_seconds(result)
    return seconds, steps, result


def fingerprint(published: Path) -> dict:
    with connect(published, read_only=True) as con:
        return {
            table: con.sql(f"select {sql} from {table}").fetchall()  # noqa: S608 (constants)
            for table, sql in FINGERPRINT.items()
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1_000_000)
    parser.add_argument("--drops", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--landing", type=Path, help="a generated election to reuse")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="thinc-"))
    try:
        generated = args.landing or root / "generated"
        if args.landing is None:
            write_synthetic(generate(args.tables, seed=args.seed, drops=args.drops), generated)
        base = replace(load_settings(root / "base"), quarantine_threshold=1.0, settle_seconds=0)
        prepare_data_dir(base)
        files = sorted(generated.glob("tallies_*.csv"))
        for path in [generated / "registry.csv", *files[:-1]]:
            (base.landing / path.name).hardlink_to(path)
        timed(base)  # loads everything but the last drop (untimed)
        drop_rows = sum(1 for _ in files[-1].open()) - 1
        incremental, full, steps = [], [], {}
        for i in range(args.repeat):
            for kind in ("incremental", "full"):
                data = root / f"{kind}{i}"
                shutil.copytree(base.data_dir, data, symlinks=True)
                settings = replace(base, data_dir=data)
                (settings.landing / files[-1].name).hardlink_to(files[-1])
                tags = {FULL_TAG: "true"} if kind == "full" else None
                seconds, step_times, _ = timed(settings, tags)
                (incremental if kind == "incremental" else full).append(seconds)
                steps[kind] = step_times
                if i == 0:
                    steps[f"{kind}_fingerprint"] = fingerprint(settings.published)
                shutil.rmtree(data)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    same = steps["incremental_fingerprint"] == steps["full_fingerprint"]
    inc, reb = statistics.median(incremental), statistics.median(full)
    ratio = inc / reb
    print(f"{args.tables:,} tables loaded in {args.drops - 1} drops; a drop of {drop_rows:,} rows")
    for kind in ("incremental", "full"):
        print(f"{kind:>12}: " + ", ".join(f"{k} {v:.2f}s" for k, v in steps[kind].items()))
    print(f"incremental runs: {', '.join(f'{s:.2f}s' for s in incremental)}")
    print(f"full rebuilds:    {', '.join(f'{s:.2f}s' for s in full)}")
    verdict = "MEETS" if ratio <= GOAL else "MISSES"
    print(f"median {inc:.2f}s vs {reb:.2f}s: {ratio:.1%} of a full rebuild: {verdict} the goal")
    print(f"identical published marts: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
