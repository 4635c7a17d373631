"""Runs killed at random: after every `kill -9` the published file is the old or the new
complete publication, the next run needs no cleanup and equals a clean run, no Dagster run stays
STARTED, the writer lock is free and the landing sensor still asks for new files.

    .venv/bin/python benchmarks/chaos.py                    # 20 kills, 3,000 tables
    .venv/bin/python benchmarks/chaos.py --kills 5 --seed 7 --tables 2000

A generated election (`--tables`) is landed a few files at a time. Three measured runs (a first
run, a drop, `run --full`) give each kind's duration and its start-up (to the first progress
line). Then each of `--kills` cycles starts a `tallyhouse run` in a child process (a first run in
a new data directory holding every file landed so far, a drop after one more file, or `--full`)
and sends it SIGKILL: odd kills at a time drawn uniformly over that kind's measured duration
(start-up included), even kills uniformly over its job part, after its first progress line, so
kills land in every step. The step hit is the last progress line the run printed. Between
cycles one more file lands: a further generated drop or a correction (earlier tallies again, two
candidates' votes swapped), under arrival-ordered names. After each kill:

  * the published marts.duckdb opens read-only and is a publication this data directory had or
    the one the next run leaves (fingerprints of the results, turnout, coverage,
    quality_summary, quality_issues, amendments, projection and forensics marts: counts, sums
    and whole-table hashes, as benchmarks/incremental_refresh.py compares them);
  * the writer lock can be taken at once (the kernel dropped it) and its holder's pid is dead;
  * the next `tallyhouse run` (no cleanup) exits 0 and publishes what a clean run (a fresh data
    directory, the same landing files, one run in this process) publishes, and the raw layer
    holds each delivered row once;
  * no run of the data directory's Dagster instance is STARTED (read with Dagster's API);
  * the landing sensor, evaluated with build_sensor_context on that instance, asks for a run of
    the file landed next.

Prints the figures (kills by kind and by step, recoveries, times) and exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from incremental_refresh import FINGERPRINT

ROOT = Path(__file__).resolve().parents[1]

KINDS = ("first", "drop", "full")


@dataclass
class Figures:
    kills: Counter = field(default_factory=Counter)  # kind → kills
    steps: Counter = field(default_factory=Counter)  # step hit → kills
    finished_first: int = 0  # runs that ended before their kill came
    published_new: int = 0  # kills after the new publication was in place
    recoveries: int = 0
    kill_seconds: list[float] = field(default_factory=list)
    recovery_seconds: list[float] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)  # kind → seconds
    measured_startup: dict[str, float] = field(default_factory=dict)  # to the first step
    sensor_extra: int = 0  # already delivered files the sensor asked for again
    violations: list[str] = field(default_factory=list)


def tallyhouse_argv(data_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "orchestration.cli", "run", "--data-dir", str(data_dir), *extra]


def child_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "TALLYHOUSE_SETTLE_SECONDS": "0",
        "TALLYHOUSE_WRITER_WAIT": "30",
        "PYTHONPATH": str(ROOT),
    }


def start_run(data_dir: Path, log: Path, full: bool) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            tallyhouse_argv(data_dir, *(["--full"] if full else [])),
            env=child_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


PROGRESS = re.compile(r"^  ([a-z_]+): ")  # "  staged_tallies: staged 3,000 tallies ..."


def step_hit(log: Path) -> str:
    """The step the run was in when killed, from its last progress line: `in S` (S had said
    something), `after S` (S was done, the next not yet begun), start-up or summary."""
    step = "start-up"
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("✓ ") and line.endswith(" done"):
            step = f"after {line[2:-5]}"
        elif line.startswith("Run ") and " succeeded " in line:
            return "summary (after the run)"
        elif match := PROGRESS.match(line):
            step = f"in {match.group(1)}"
    return step


def fingerprint(published: Path) -> tuple | None:
    """Every published mart's fingerprint (the benchmarks' FINGERPRINT), or None: no file."""
    from warehouse.db import connect

    if not published.exists():
        return None
    with connect(published, read_only=True) as con:
        return tuple(
            (table, tuple(con.sql(f"select {sql} from {table}").fetchall()))  # noqa: S608
            for table, sql in FINGERPRINT.items()
        )


def lock_state(data_dir: Path) -> str | None:
    """None when the writer lock is free and its last holder's pid is dead, else why not. Read
    only: the lock file's holder record is what the next run reads to find a run that died
    holding the lock, so the probe takes the lock without writing it (WriterLock.acquire would
    record the probe as the holder)."""
    import fcntl
    import json

    from orchestration.writer_lock import LOCK_NAME, alive

    path = data_dir / LOCK_NAME
    if not path.exists():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return f"lock still held: {handle.read()[:200]}"
        fcntl.flock(handle, fcntl.LOCK_UN)
        holder = json.loads(handle.read() or "{}")
    pid = holder.get("pid")
    if isinstance(pid, int) and alive(pid):
        return f"the lock names pid {pid}, which is alive"
    return None


def started_runs(data_dir: Path) -> list[str]:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        return [run.run_id for run in runs]


def sensor_asks_for(data_dir: Path, new_file: Path) -> tuple[bool, int]:
    """Whether the landing sensor, evaluated on the data directory's instance, requests a run of
    `new_file`; and how many other (already delivered) files it requests."""
    import dagster as dg

    from landing.files import sha256_file
    from orchestration.definitions import build_definitions
    from orchestration.sensors import LANDING_SENSOR, SHA_TAG
    from orchestration.settings import Settings

    sensor = build_definitions(Settings(data_dir)).resolve_sensor_def(LANDING_SENSOR)
    with dg.DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        result = sensor(dg.build_sensor_context(instance=instance))
    requests = result if isinstance(result, list) else []
    shas = {r.tags[SHA_TAG] for r in requests}
    wanted = sha256_file(new_file)
    return wanted in shas, len(shas - {wanted})


def raw_rows_once(data_dir: Path, landing: Path) -> str | None:
    """None when the raw feed table holds each landed file's rows exactly once, else what is
    wrong."""
    from landing.files import sha256_file
    from warehouse.db import connect

    # files with the same bytes are one delivery (a correction can repeat an earlier one)
    contents = {sha256_file(p): p for p in landing.glob("tallies_*.csv")}
    expected = sum(max(sum(1 for _ in p.open("rb")) - 1, 0) for p in contents.values())
    with connect(data_dir / "warehouse.duckdb", read_only=True) as con:
        [(total, distinct)] = con.sql(
            "select count(*), count(distinct (file_sha256, source_row)) from raw.tallies_sample"
        ).fetchall()
    if total != distinct:
        return f"raw.tallies_sample holds {total - distinct} duplicated rows"
    if total != expected:
        return f"raw.tallies_sample holds {total} rows, the landing files {expected}"
    return None


class Landing:
    """The generated election's files, landed one at a time under arrival-ordered names: a
    further drop, or a correction (some earlier tallies again, two candidates' votes swapped)."""

    def __init__(self, source: Path, rng: random.Random):
        self.rng = rng
        self.registry = source / "registry.csv"
        self.drops = sorted(source.glob("tallies_*.csv"))
        self.landed: list[Path] = []
        self.held: Path | None = None
        self.seq = 0

    def next_file(self, into: Path) -> Path:
        """The file held back (hold), or a new one."""
        if self.held is not None:
            target = into / self.held.name
            shutil.move(self.held, target)
            self.held = None
            return target
        self.seq += 1
        target = into / f"tallies_{self.seq:03d}.csv"
        delivered = [p for p in self.landed if p.exists()]
        if self.drops and (not delivered or self.rng.random() < 0.6):
            shutil.copyfile(self.drops.pop(0), target)
        else:
            earlier = pl.read_csv(self.rng.choice(delivered), infer_schema=False)
            rows = earlier.sample(min(20, earlier.height), seed=self.rng.randrange(1 << 30))
            rows.with_columns(c01=pl.col("c02"), c02=pl.col("c01")).write_csv(target)
        old = time.time() - 120  # settled for the sensor as for the CLI
        os.utime(target, (old, old))
        self.landed.append(target)
        return target

    def hold(self, path: Path, folder: Path) -> None:
        """Take a landed file back out until the next drop (so that a first run or --full
        after it sees the landing files of the run before, whose clean run is known)."""
        folder.mkdir(exist_ok=True)
        self.held = folder / path.name
        shutil.move(path, self.held)


def landing_key(landing: Path) -> tuple:
    from landing.files import sha256_file

    return tuple(sorted((p.name, sha256_file(p)) for p in landing.iterdir() if p.is_file()))


class CleanRuns:
    """What a clean run publishes from the same landing files (one run, a fresh directory, in
    this process), cached by the landing files' names and digests."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[tuple, tuple] = {}

    def of(self, landing: Path) -> tuple:
        key = landing_key(landing)
        if key not in self.cache:
            import dagster as dg

            from orchestration.runner import failure_messages, run_tally_job
            from orchestration.settings import Settings, prepare_data_dir

            data = self.root / f"clean{len(self.cache)}"
            settings = Settings(data)
            prepare_data_dir(settings)
            for path in landing.iterdir():
                if path.is_file():
                    (settings.landing / path.name).hardlink_to(path)
            with dg.DagsterInstance.ephemeral() as instance:
                result = run_tally_job(settings, instance, show_progress=False)
            if not result.success:
                raise SystemExit(f"a clean run failed: {failure_messages(result)}")
            self.cache[key] = fingerprint(settings.published)
            shutil.rmtree(data)
        return self.cache[key]


def run_whole(data_dir: Path, log: Path, full: bool = False) -> tuple[int, float, float]:
    """A whole run: its exit code, its seconds, and the seconds to its first progress line."""
    started = time.perf_counter()
    child = start_run(data_dir, log, full)
    startup = until_progress(child, log)
    code = child.wait()
    seconds = time.perf_counter() - started
    return code, seconds, min(startup, seconds)


def until_progress(child: subprocess.Popen, log: Path) -> float:
    """Seconds from now until the run prints its first progress line (or ends)."""
    started = time.perf_counter()
    while child.poll() is None and not any(
        PROGRESS.match(line) for line in log.read_text(errors="replace").splitlines()
    ):
        time.sleep(0.1)
    return time.perf_counter() - started


def new_data_dir(root: Path, number: int, landing: Landing) -> Path:
    data = root / f"data{number}"
    (data / "landing").mkdir(parents=True)
    shutil.copy2(landing.registry, data / "landing" / "registry.csv")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="runs killed (default 20)")
    parser.add_argument("--seed", type=int, default=13, help="kinds, kill times, files")
    parser.add_argument("--tables", type=int, default=3_000, help="the election's size")
    parser.add_argument("--keep", type=Path, help="keep the data directories here")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="chaos-"))
    root.mkdir(parents=True, exist_ok=True)
    figures = Figures()
    try:
        started = time.perf_counter()
        chaos(args, rng, root, figures)
        elapsed = time.perf_counter() - started
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print_figures(figures, elapsed)
    return 1 if figures.violations else 0


def chaos(args, rng: random.Random, root: Path, figures: Figures) -> None:
    from landing.files import sha256_file, write_synthetic
    from transforms.synthetic.election import generate

    source = root / "generated"
    write_synthetic(generate(args.tables, seed=args.seed, drops=args.kills + 6), source)
    landing = Landing(source, rng)
    clean = CleanRuns(root)
    number = 0
    data = new_data_dir(root, number, landing)
    for _ in range(2):
        landing.next_file(data / "landing")
    # the measured runs: a first run, a drop, --full (their durations set the kill times)
    for kind in KINDS:
        if kind == "drop":
            landing.next_file(data / "landing")
        code, seconds, startup = run_whole(data, root / f"measure-{kind}.log", kind == "full")
        if code != 0:
            raise SystemExit(f"the measured {kind} run failed: see {root}/measure-{kind}.log")
        figures.measured[kind] = seconds
        figures.measured_startup[kind] = startup
    kinds = [KINDS[i % 3] if i % 4 != 3 else "drop" for i in range(args.kills)]
    rng.shuffle(kinds)
    for cycle, kind in enumerate(kinds, start=1):
        if kind == "first":  # a new data directory with every file landed so far
            number += 1
            fresh = new_data_dir(root, number, landing)
            for path in (data / "landing").glob("tallies_*.csv"):
                shutil.copy2(path, fresh / "landing" / path.name)
            shutil.rmtree(data)
            data = fresh
        elif kind == "drop":
            landing.next_file(data / "landing")
        one_cycle(cycle, kind, data, rng, root, figures, clean)
        earlier = {sha256_file(p) for p in (data / "landing").glob("tallies_*.csv")}
        upcoming = landing.next_file(data / "landing")
        asked, extra = sensor_asks_for(data, upcoming)
        figures.sensor_extra += extra
        # bytes already landed (a correction repeating an earlier one) are rightly asked for no run
        if not asked and sha256_file(upcoming) not in earlier:
            figures.violations.append(f"kill {cycle}: the sensor did not ask for {upcoming.name}")
        if kinds[cycle : cycle + 1] != ["drop"]:
            landing.hold(upcoming, root / "held")


def one_cycle(cycle, kind, data: Path, rng, root: Path, figures: Figures, clean) -> None:
    def violation(text: str) -> None:
        figures.violations.append(f"kill {cycle} ({kind}, {step}): {text}")
        print(f"VIOLATION kill {cycle} ({kind}, {step}): {text}", flush=True)

    before = fingerprint(data / "marts.duckdb")
    log = root / f"kill{cycle}.log"
    started = time.perf_counter()
    child = start_run(data, log, full=kind == "full")
    if cycle % 2:  # uniform over the whole run, start-up included
        delay = rng.uniform(0, figures.measured[kind])
    else:  # uniform over the job's part, from its first progress line
        job = figures.measured[kind] - figures.measured_startup[kind]
        delay = until_progress(child, log) + rng.uniform(0, max(job, 0.1))
    try:
        child.wait(timeout=max(delay - (time.perf_counter() - started), 0.01))
        figures.finished_first += 1
        step = "finished before the kill"
        # the machine got faster since the measurement: later kills of this kind draw their
        # time over this run's duration (the last seconds print the summary)
        figures.measured[kind] = min(figures.measured[kind], 0.95 * (time.perf_counter() - started))
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
        step = step_hit(log)
    figures.kill_seconds.append(time.perf_counter() - started)
    figures.kills[kind] += 1
    figures.steps[step] += 1
    try:
        at_kill = fingerprint(data / "marts.duckdb")
    except Exception as error:  # noqa: BLE001 - any failure to read it is the finding
        violation(f"the published file cannot be read: {type(error).__name__}: {error}")
        at_kill = "unreadable"
    problem = lock_state(data)
    if problem:
        violation(problem)
    code, seconds, _ = run_whole(data, root / f"recover{cycle}.log")
    figures.recovery_seconds.append(seconds)
    if code != 0:
        tail = (root / f"recover{cycle}.log").read_text(errors="replace").splitlines()[-5:]
        violation(f"the next run exited {code}: {' | '.join(tail)}")
        return
    figures.recoveries += 1
    after = fingerprint(data / "marts.duckdb")
    if at_kill not in (before, after):
        violation("the published file at the kill was neither the old nor the new publication")
    if at_kill == after and after != before:
        figures.published_new += 1
    if after != clean.of(data / "landing"):
        differing = [
            t for (t, a), (_, c) in zip(after, clean.of(data / "landing"), strict=True) if a != c
        ]
        violation(f"the next run differs from a clean run in {', '.join(differing)}")
    problem = raw_rows_once(data, data / "landing")
    if problem:
        violation(problem)
    stuck = started_runs(data)
    if stuck:
        violation(f"{len(stuck)} Dagster run(s) still STARTED: {', '.join(stuck)}")
    print(f"kill {cycle:>2} {kind:<5} at {delay:5.1f}s in {step}: recovered in {seconds:.1f}s")


def print_figures(figures: Figures, elapsed: float) -> None:
    kills = sum(figures.kills.values())
    print()
    print(
        f"{kills} kills in {elapsed:.0f}s (measured runs: "
        + ", ".join(f"{k} {s:.1f}s" for k, s in figures.measured.items())
        + ")"
    )
    print("  by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(figures.kills.items())))
    print("  by step (the run's last progress line):")
    for step, n in sorted(figures.steps.items(), key=lambda item: (-item[1], item[0])):
        print(f"    {step:<32} {n:>3}")
    print(f"  runs that finished before their kill: {figures.finished_first}")
    print(f"  kills after the new publication was in place: {figures.published_new}")
    print(f"  recoveries (next run exit 0, no cleanup): {figures.recoveries} of {kills}")
    if figures.kill_seconds:
        mean_kill = sum(figures.kill_seconds) / len(figures.kill_seconds)
        print(f"  killed run lived {mean_kill:.1f}s on average")
    if figures.recovery_seconds:
        mean = sum(figures.recovery_seconds) / len(figures.recovery_seconds)
        print(f"  next run took {mean:.1f}s on average (max {max(figures.recovery_seconds):.1f}s)")
    print(f"  already delivered files the sensor asked for again: {figures.sensor_extra}")
    print(f"violations: {len(figures.violations)}")
    for text in figures.violations:
        print(f"  {text}")


if __name__ == "__main__":
    sys.exit(main())
