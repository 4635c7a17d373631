"""Election night as processes: a drop's `tallyhouse run` against a full rebuild's.

Issue 15's goals are for whole processes (start-up, imports and the summary included): a
10,000-table drop on a 1,000,000-table election within 10 % of a full rebuild, and a 100-table
drop within 5 %. benchmarks/incremental_refresh.py times the job in one process instead.

The election (`tallyhouse generate`, untimed) is written in `--drops` files; the last file's
final `--drop-tables` rows (one row a table in the single-contest feed; the whole file when it
holds no more) are split off into a file of their own, which is the drop. Every other file is
landed and run once (untimed). Then, on fresh copies of that data directory, alternately
(`--repeat`): the drop is landed and `tallyhouse run` timed, and `tallyhouse run --full` over the
same files is timed. Wall, CPU (user + sys) and peak memory of each process; the medians' ratio
against the goal. The two must publish the same results, turnout and coverage (row counts and
hash sums), or the script exits 1. Where each kind's wall time went (medians) is read from its
runs' events in Dagster's SQLite event log: before the run's first event (start-up, imports,
the instance), each step, the run outside its steps (its creation and planned events, the
resources, Dagster between steps), and after its last event (the summary, the exit).

    .venv/bin/python benchmarks/drop_process.py --tables 1000000 --drop-tables 10000
    .venv/bin/python benchmarks/drop_process.py --tables 1000000 --drop-tables 100 --keep DIR
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers.process_timing import load_average, run_process  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GOALS = {10_000: 0.10, 100: 0.05}  # drop tables → share of a full rebuild (issue 15)
COMPARED = ("results", "turnout", "coverage")


def tallyhouse(*args: str) -> list[str]:
    return [str(BIN / "tallyhouse"), *args]


def prepare(tables: int, drops: int, drop_tables: int, seed: int, root: Path) -> Path:
    """Generate the election into root/all and split the drop off into root/drop.csv."""
    every = root / "all"
    made = f"tables {tables} drops {drops} seed {seed}\n"
    stamp = every / "generated.txt"  # what the kept files were made with
    if not stamp.exists() or stamp.read_text(encoding="utf-8") != made:
        shutil.rmtree(every, ignore_errors=True)
        subprocess.run(
            tallyhouse("generate", "--tables", str(tables), "--seed", str(seed))
            + ["--drops", str(drops), "--out", str(every)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        stamp.write_text(made, encoding="utf-8")
    last = sorted(every.glob("tallies_*.csv"))[-1]
    lines = last.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    if drop_tables > len(rows):
        raise SystemExit(f"--drop-tables {drop_tables}: the last file holds {len(rows)} tables")
    before = root / "before"
    shutil.rmtree(before, ignore_errors=True)
    before.mkdir()
    for path in every.glob("*.csv"):
        if path != last:
            (before / path.name).hardlink_to(path)
    if len(rows) > drop_tables:  # else the whole last file is the drop
        (before / last.name).write_text(header + "".join(rows[:-drop_tables]), encoding="utf-8")
    drop = root / "drop.csv"
    drop.write_text(header + "".join(rows[-drop_tables:]), encoding="utf-8")
    return before


def published(data: Path) -> dict[str, tuple]:
    """Each compared mart's rows and the sum of their hashes (the same rows in any order give
    the same sum; fetching 15M result rows into Python would not fit beside the runs)."""
    with duckdb.connect(str(data / "marts.duckdb"), read_only=True) as con:
        return {
            t: con.sql(f"select count(*), sum(hash(m)::hugeint) from {t} m").fetchall()[0]  # noqa: S608
            for t in COMPARED
        }


def phases(data: Path, started: float, ended: float) -> dict[str, float]:
    """Seconds of a process's wall time before its run's first event, in each step (start to
    success), and after its last event, from the newest run of the instance under `data` (read
    with sqlite3, as Dagster's SQLite storage keeps it: the benchmark imports no Dagster)."""
    history = data / "dagster_home" / "history"
    with closing(sqlite3.connect(history / "runs.db")) as con:
        (run_id,) = con.execute("select run_id from runs order by id desc limit 1").fetchone()
    with closing(sqlite3.connect(history / "runs" / f"{run_id}.db")) as con:
        events = con.execute(
            "select dagster_event_type, step_key, timestamp from event_logs order by id"
        ).fetchall()

    def seconds(stamp: str) -> float:  # Dagster stores naive UTC times
        return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()

    spent = {"before the run": seconds(events[0][2]) - started}
    starts = {}
    for kind, step, stamp in events:
        if kind == "STEP_START":
            starts[step] = seconds(stamp)
        elif kind == "STEP_SUCCESS" and step in starts:
            spent[step] = seconds(stamp) - starts[step]
    spent["run, outside steps"] = (
        seconds(events[-1][2])
        - seconds(events[0][2])
        - sum(value for key, value in spent.items() if key in starts)
    )
    spent["after the run"] = ended - seconds(events[-1][2])
    return spent


def print_phases(timings: dict[str, list[dict]]) -> None:
    """Each phase's median seconds for each kind of run."""
    names = list(dict.fromkeys(name for runs in timings.values() for name in runs[0]["phases"]))
    print(f"{'median wall, s':<24}" + "".join(f"{kind:>9}" for kind in timings))
    for name in names:
        medians = [
            statistics.median(run["phases"].get(name, 0.0) for run in runs)
            for runs in timings.values()
        ]
        print(f"  {name:<22}" + "".join(f"{value:9.2f}" for value in medians))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1_000_000)
    parser.add_argument("--drops", type=int, default=100, help="files of the election")
    parser.add_argument("--drop-tables", type=int, default=10_000, help="tables in the drop")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="thdrop-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        before = prepare(args.tables, args.drops, args.drop_tables, args.seed, root)
        base = root / "base"
        shutil.rmtree(base, ignore_errors=True)
        landing = base / "landing"
        shutil.copytree(before, landing, copy_function=shutil.copy)
        settings = ["--landing", str(landing), "--quarantine-threshold", "1"]
        first = run_process(
            tallyhouse("run", "--data-dir", str(base / "data"), *settings), root / "base.log", REPO
        )
        if first["exit_code"]:
            raise SystemExit(f"the run before the drop failed: see {root / 'base.log'}")
        print(f"before the drop: {first['wall']:.1f}s (untimed), load {load_average()}")
        timings = {"drop": [], "full": []}
        for i in range(args.repeat):
            for kind in ("drop", "full") if i % 2 == 0 else ("full", "drop"):
                work = root / f"{kind}{i}"
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(base, work)
                work_landing = work / "landing"
                shutil.copy(root / "drop.csv", work_landing / "tallies_zz_drop.csv")
                full = ["--full"] if kind == "full" else []
                argv = tallyhouse("run", "--data-dir", str(work / "data"), *full)
                argv += ["--landing", str(work_landing), "--quarantine-threshold", "1"]
                started = time.time()
                timed = run_process(argv, root / f"{kind}{i}.log", REPO)
                ended = time.time()
                if timed["exit_code"]:
                    raise SystemExit(f"{kind} run failed: see {root / f'{kind}{i}.log'}")
                timed["marts"] = published(work / "data")
                timed["phases"] = phases(work / "data", started, ended)
                timings[kind].append(timed)
                print(
                    f"{kind:>4} {i}: {timed['wall']:7.2f}s wall {timed['cpu']:7.2f}s CPU "
                    f"{timed['peak_rss'] / 2**30:5.2f} GiB  load {load_average()}",
                    flush=True,
                )
                (work / "data" / "warehouse.duckdb").unlink(missing_ok=True)  # disk, at 1M
        if any(t["marts"] != timings["full"][0]["marts"] for t in timings["drop"]):
            print("MISMATCH: the drop's marts differ from the full rebuild's")
            return 1
        print_phases(timings)
        wall = {k: statistics.median(t["wall"] for t in v) for k, v in timings.items()}
        cpu = {k: statistics.median(t["cpu"] for t in v) for k, v in timings.items()}
        goal = GOALS.get(args.drop_tables)
        goal_text = f" (goal {goal:.0%})" if goal else ""
        print(
            f"{args.drop_tables:,}-table drop on {args.tables:,}: "
            f"{wall['drop']:.2f}s / {wall['full']:.2f}s = {wall['drop'] / wall['full']:.1%} wall, "
            f"{cpu['drop']:.2f}s / {cpu['full']:.2f}s = {cpu['drop'] / cpu['full']:.1%} CPU"
            f"{goal_text}; same results, turnout and coverage"
        )
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
