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
hash sums), or the script exits 1.

    .venv/bin/python benchmarks/drop_process.py --tables 1000000 --drop-tables 10000
    .venv/bin/python benchmarks/drop_process.py --tables 1000000 --drop-tables 100 --keep DIR
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
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
                timed = run_process(argv, root / f"{kind}{i}.log", REPO)
                if timed["exit_code"]:
                    raise SystemExit(f"{kind} run failed: see {root / f'{kind}{i}.log'}")
                timed["marts"] = published(work / "data")
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
