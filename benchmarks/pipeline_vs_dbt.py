"""Time `tallyhouse run` against a dbt-duckdb project building the same marts, whole processes.

The peer, benchmarks/peers/dbt_tallies, is what a data team that knows dbt would write: the
same landing files and registry, rules E1-E8 in SQL with the same quarantine (a tally breaking
any of them is left out of the marts), the three marts results, turnout and coverage, and two
dbt tests (no negative count, no table with more votes than registered voters).

dbt-duckdb is not a dependency of tallyhouse and never enters its lock: this script makes its
own virtual environment in its work folder (`python3 -m uv venv`, then `uv pip install
dbt-duckdb 1.11.x` with dbt-core 1.11.x: dbt-core 1.12 fetches a parser from GitHub at install
time) unless `--venv DIR` names one already made. The peer writes its own DuckDB file.

1. Check: a small election with faults (`tallyhouse generate --faults`), both run; every row of
   the three marts must be identical (shares to 1e-12) and the quarantine the same per rule.
2. Timing, per size: the election is generated once; then pairs, alternating who goes first:
   `tallyhouse run --landing L` from a fresh data directory, and `dbt build` into a fresh DuckDB
   file. Wall, CPU (user + sys of the process and its children, os.wait4) and peak memory.
   The first pair's marts are compared row for row too.

    .venv/bin/python benchmarks/pipeline_vs_dbt.py --sizes 300000,1000000 --pairs 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "peers" / "dbt_tallies"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))

import duckdb  # noqa: E402
from peers.process_timing import load_average, run_process  # noqa: E402
from pipeline_vs_sql import full_comparison  # noqa: E402

from warehouse.configs import load_election  # noqa: E402

DBT_REQUIREMENTS = ("dbt-duckdb>=1.11,<1.12", "dbt-core>=1.11,<1.12")
RULES = tuple(f"e{n}" for n in range(1, 9))
GIB = 1024**3


def _log(message: str = "") -> None:
    print(message, flush=True)


def _uv() -> list[str]:
    """The uv command: on PATH, else the module of the Python that made the project's
    environment (the README installs it with that Python's pip, not into .venv)."""
    found = shutil.which("uv")
    if found:
        return [found]
    return [getattr(sys, "_base_executable", sys.executable), "-m", "uv"]


def make_venv(folder: Path) -> Path:
    """A virtual environment with dbt-duckdb, apart from the project's; its dbt executable."""
    dbt = folder / "bin" / "dbt"
    if dbt.exists():
        return dbt
    _log(f"making a virtual environment for dbt-duckdb in {folder} (not the project's lock)")
    uv = _uv()
    subprocess.run([*uv, "venv", "-q", str(folder)], check=True)
    subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(folder / "bin" / "python"),
        ]
        + list(DBT_REQUIREMENTS),
        check=True,
    )
    return dbt


def dbt_vars(landing: Path) -> str:
    """The election's configuration as dbt vars: candidates, names, the source."""
    config = load_election("sample")
    election = config.election
    ids = list(election.candidate_ids)
    names = {c.id: c.name for c in election.candidates}
    source = config.contracts[0].source_id if config.contracts else election.id
    return json.dumps(
        {
            "landing": str(landing),
            "source_id": source,
            "election_name": election.name,
            "candidates": ids,
            "candidate_names": [[c, names[c]] for c in ids],
        }
    )


def generate(tables: int, landing: Path, seed: int, faults: str | None = None) -> float:
    started = time.perf_counter()
    argv = [str(BIN / "tallyhouse"), "generate", "--tables", str(tables), "--seed", str(seed)]
    argv += ["--out", str(landing)] + (["--faults", faults] if faults else [])
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_pipeline(landing: Path, data_dir: Path) -> dict:
    shutil.rmtree(data_dir, ignore_errors=True)
    argv = [str(BIN / "tallyhouse"), "run", "--data-dir", str(data_dir), "--landing", str(landing)]
    # a check election breaks rules on purpose: more than the default 5 % is quarantined
    log = data_dir.parent / f"{data_dir.name}.log"
    run = run_process(argv + ["--quarantine-threshold", "1"], log)
    if run["exit_code"]:
        raise SystemExit(f"tallyhouse run failed:\n{log.read_text()[-3000:]}")
    return {**run, "marts": data_dir / "marts.duckdb"}


def run_dbt(dbt: Path, landing: Path, work: Path, name: str) -> dict:
    database = work / f"{name}.duckdb"
    database.unlink(missing_ok=True)
    shutil.rmtree(work / f"{name}-target", ignore_errors=True)
    profiles = work / "dbt-profiles"  # dbt writes .user.yml next to profiles.yml: not in the repo
    if not (profiles / "profiles.yml").exists():
        profiles.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT / "profiles.yml", profiles / "profiles.yml")
    argv = [str(dbt), "build", "--profiles-dir", str(profiles), "--project-dir", str(PROJECT)]
    argv += ["--target-path", str(work / f"{name}-target"), "--log-path", str(work / "dbt-logs")]
    argv += ["--vars", dbt_vars(landing)]
    env = {**os.environ, "DBT_TALLIES_DB": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "0"}
    log = work / f"{name}.log"
    run = run_process(argv, log, cwd=work, env=env)
    if run["exit_code"]:
        raise SystemExit(f"dbt build failed:\n{log.read_text()[-3000:]}")
    return {**run, "marts": database}


def quarantine_per_rule(pipeline_marts: Path, dbt_db: Path) -> tuple[dict, dict]:
    """Quarantined tallies per rule E1-E8: the pipeline's national quality_summary row, and
    the peer's judged tallies."""
    with duckdb.connect(str(pipeline_marts), read_only=True) as con:
        row = con.execute(
            f"select {', '.join(RULES)} from quality_summary where level = 'national'"
        ).fetchall()[0]
    pipeline = dict(zip(RULES, row, strict=True))
    with duckdb.connect(str(dbt_db), read_only=True) as con:
        sums = ", ".join(f"count(*) filter ({r})" for r in RULES)
        row = con.execute(f"select {sums} from judged_tallies where quarantined").fetchall()[0]
    return pipeline, dict(zip(RULES, row, strict=True))


def check(dbt: Path, args, root: Path) -> None:
    work = root / "check"
    landing = work / "landing"
    generate(args.check_tables, landing, args.seed, args.faults)
    _log(f"\ncheck: {args.check_tables:,} tables with faults {args.faults}")
    pipeline = run_pipeline(landing, work / "pipeline")
    peer = run_dbt(dbt, landing, work, "dbt")
    problems = full_comparison(pipeline["marts"], peer["marts"])
    ours, theirs = quarantine_per_rule(pipeline["marts"], peer["marts"])
    if ours != theirs:
        problems.append(f"quarantine per rule: pipeline {ours}, dbt {theirs}")
    if problems:
        raise SystemExit("MISMATCH:\n" + "\n".join(problems))
    _log(
        f"check: all rows of results, turnout and coverage identical; quarantined per rule "
        f"identical ({sum(ours.values()):,} rule breaks: "
        + ", ".join(f"{k.upper()} {v}" for k, v in ours.items())
        + ")"
    )


def _shown(run: dict) -> str:
    return (
        f"{run['wall']:.2f}s wall, {run['cpu']:.2f}s CPU ({run['user']:.2f} user + "
        f"{run['sys']:.2f} sys), peak {run['peak_rss'] / GIB:.2f} GiB"
    )


def bench_size(tables: int, dbt: Path, args, root: Path) -> dict:
    work = root / f"t{tables}"
    landing = work / "landing"
    seconds = generate(tables, landing, args.seed)
    _log(f"\n=== {tables:,} tables: generated in {seconds:.1f}s (untimed); load {load_average()}")
    runs = {"pipeline": [], "dbt": []}
    for pair in range(args.pairs):
        order = ("pipeline", "dbt") if pair % 2 == 0 else ("dbt", "pipeline")
        for who in order:
            if who == "pipeline":
                run = run_pipeline(landing, work / "pipeline")
            else:
                run = run_dbt(dbt, landing, work, "dbt")
            runs[who].append(run)
            _log(f"[{pair + 1}/{args.pairs}] {who:<8}: {_shown(run)}; load {load_average()}")
        if pair == 0 and not args.no_compare:
            problems = full_comparison(runs["pipeline"][0]["marts"], runs["dbt"][0]["marts"])
            if problems:
                raise SystemExit("MISMATCH:\n" + "\n".join(problems))
            _log("  every row of results, turnout and coverage identical")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    pairs = list(zip(runs["pipeline"], runs["dbt"], strict=True))
    return {
        "tables": tables,
        "wall_ratios": [round(p["wall"] / d["wall"], 3) for p, d in pairs],
        "cpu_ratios": [round(p["cpu"] / d["cpu"], 3) for p, d in pairs],
        "pipeline": [{k: v for k, v in r.items() if k != "marts"} for r in runs["pipeline"]],
        "dbt": [{k: v for k, v in r.items() if k != "marts"} for r in runs["dbt"]],
        "load_after": load_average(),
    }


def summary(rows: list[dict]) -> list[str]:
    lines = [
        "| tables | pipeline wall / CPU s | dbt wall / CPU s | wall ratio (pairs) "
        "| CPU ratio (pairs) | peak GiB pipeline / dbt |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        p, d = r["pipeline"], r["dbt"]

        def best(runs, key):
            return min(x[key] for x in runs)

        lines.append(
            f"| {r['tables']:,} | {best(p, 'wall'):.1f} / {best(p, 'cpu'):.1f} "
            f"| {best(d, 'wall'):.1f} / {best(d, 'cpu'):.1f} "
            f"| {statistics.median(r['wall_ratios']):.2f} "
            f"({', '.join(f'{x:.2f}' for x in r['wall_ratios'])}) "
            f"| {statistics.median(r['cpu_ratios']):.2f} "
            f"({', '.join(f'{x:.2f}' for x in r['cpu_ratios'])}) "
            f"| {max(x['peak_rss'] for x in p) / GIB:.2f} "
            f"/ {max(x['peak_rss'] for x in d) / GIB:.2f} |"
        )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300000,1000000", help="comma-separated tables")
    parser.add_argument("--pairs", type=int, default=2, help="alternating pairs per size")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--check-tables", type=int, default=3000)
    parser.add_argument("--faults", default="0.01", help="fault rates of the check election")
    parser.add_argument("--no-check", action="store_true", help="skip the small check")
    parser.add_argument("--no-compare", action="store_true", help="skip row-for-row at size")
    parser.add_argument("--venv", metavar="DIR", help="dbt's virtual environment (made if absent)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep everything there")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="thdbt-"))
    root.mkdir(parents=True, exist_ok=True)
    _log(f"{os.cpu_count()} cores, shared; work dir {root}; load {load_average()}")
    dbt = make_venv(Path(args.venv).resolve() if args.venv else root / "dbt-venv")
    python = str(dbt.parent / "python")
    probe = "import duckdb, importlib.metadata as m; print(m.version('dbt-core'), "
    probe += "m.version('dbt-duckdb'), duckdb.__version__)"
    versions = subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.split()
    _log(f"peer: dbt-core, dbt-duckdb, duckdb {', '.join(versions)} in {dbt.parent.parent}")
    rows = []
    try:
        if not args.no_check:
            check(dbt, args, root)
        for tables in args.sizes:
            rows.append(bench_size(tables, dbt, args, root))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if rows:
        _log("\n" + "\n".join(summary(rows)))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
