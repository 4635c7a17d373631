"""Profile a full `tallyhouse run` per step: CPU (user + sys), wall, peak memory, rows in/out.

For each size an election is generated once (`tallyhouse generate --tables N`, untimed), then a
child process runs `tallyhouse run --data-dir D --landing L` through the command's own entry
point (orchestration.cli.main, so start-up, imports and the run summary are all in it). A
sampler thread in the child reads the process's CPU ticks (/proc/self/stat) and resident memory
(/proc/self/status VmRSS) every 20 ms; after the run the child reads the step start and success
times from the Dagster event log and cuts the samples at them. Per step:

- wall: STEP_START to STEP_SUCCESS (Dagster's own timestamps);
- CPU: user + sys ticks of the whole process between the two (interpolated between samples, so
  to ±20 ms; threads of DuckDB and polars included);
- peak: the largest VmRSS sampled inside the step; `whole` is the process's VmHWM at the end;
- DuckDB: of that peak, what DuckDB's own allocator (the jemalloc it bundles on Linux) held
  resident at the same sample: its buffer pool, query state and results not yet handed over.
  The rest is polars' heap (its jemalloc), Python and Arrow buffers DuckDB handed to polars;
  blank where DuckDB does not export its allocator's statistics;
- rows in/out: from the assets' materialization metadata.

"outside steps" is everything else of the process: Python start-up, imports, Dagster's job
set-up and the run summary. "GX worker" is the CPU of the run's Great Expectations worker
(expectations/gx_worker.py: a process of its own, reaped by the run), which the whole
process's figure includes.

    .venv/bin/python benchmarks/profile.py --sizes 300000,1000000 --markdown
    .venv/bin/python benchmarks/profile.py --sizes 3000000           # once, when it fits
    .venv/bin/python benchmarks/profile.py --memory --sizes 300000   # whole processes only

`--memory` runs the plain command (`tallyhouse run`, no sampler) and reads its peak resident
memory, CPU and wall from os.wait4: what item 4 of issue 15 asks for.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")
STEPS = (
    ("raw", "raw__deliveries"),
    ("staged", "staged_tallies"),
    ("gate", "quality_gate"),
    ("marts", "marts"),
    ("forensics", "marts__forensics"),
    ("projection", "marts__projection"),
    ("publish", "published__marts"),
)
GIB = 1024**3

sys.path.insert(0, str(HERE))
from peers.process_timing import run_process  # noqa: E402


def _log(message: str = "") -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The child: one `tallyhouse run` in this process, sampled


def _cpu_seconds() -> float:
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def _status_bytes(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _duckdb_resident():
    """A function returning the bytes DuckDB's bundled jemalloc holds resident, or None where
    the DuckDB library does not export its mallctl (another platform or build)."""
    try:
        import _duckdb

        mallctl = ctypes.CDLL(_duckdb.__file__).duckdb_je_mallctl
    except (ImportError, OSError, AttributeError):
        return None
    size_p = ctypes.POINTER(ctypes.c_size_t)
    mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, size_p, ctypes.c_void_p, ctypes.c_size_t]

    def resident() -> int:
        epoch, width = ctypes.c_uint64(1), ctypes.c_size_t(8)  # refreshes the statistics
        mallctl(b"epoch", ctypes.byref(epoch), ctypes.byref(width), ctypes.byref(epoch), 8)
        value, width = ctypes.c_size_t(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_size_t))
        failed = mallctl(b"stats.resident", ctypes.byref(value), ctypes.byref(width), None, 0)
        return 0 if failed else value.value

    return resident


class Sampler(threading.Thread):
    """(time.time(), cpu seconds, rss bytes, DuckDB's resident bytes or None) every `interval`
    seconds until stopped."""

    def __init__(self, interval: float = 0.02):
        super().__init__(daemon=True)
        self.interval, self.samples, self._stop_event = interval, [], threading.Event()
        self._duckdb = _duckdb_resident()

    def sample(self) -> None:
        duckdb = self._duckdb() if self._duckdb else None
        self.samples.append((time.time(), _cpu_seconds(), _status_bytes("VmRSS"), duckdb))

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


def _cpu_at(samples: list, moment: float) -> float:
    """CPU seconds at `moment`, interpolated between the samples around it."""
    before = max((s for s in samples if s[0] <= moment), default=samples[0], key=lambda s: s[0])
    after = min((s for s in samples if s[0] >= moment), default=samples[-1], key=lambda s: s[0])
    if after[0] == before[0]:
        return before[1]
    weight = (moment - before[0]) / (after[0] - before[0])
    return before[1] + weight * (after[1] - before[1])


def _numbers(metadata) -> dict:
    return {
        k: v.value
        for k, v in metadata.items()
        if isinstance(getattr(v, "value", None), int | float)
    }


def _rows(step: str, assets: dict) -> tuple[str, str]:
    """Rows in and out of a step, read from its assets' materialization metadata."""
    raw = assets.get("raw/deliveries", {})
    staged = assets.get("staged/tallies", {})
    gate = assets.get("quality/quarantine", {})
    marts = {
        k.split("/", 1)[1]: v.get("dagster/row_count", 0)
        for k, v in assets.items()
        if k.startswith("marts/")
    }
    accepted = gate.get("accepted")
    if step == "raw":
        return f"{raw.get('rows_total', 0):,} feed rows", f"{raw.get('rows_loaded', 0):,} raw rows"
    if step == "staged":
        votes = assets.get("staged/tally_votes", {}).get("dagster/row_count", 0)
        return (
            f"{staged.get('raw_rows', 0):,} raw rows",
            f"{staged.get('tallies', 0):,} tallies, {votes:,} vote rows",
        )
    if step == "gate":
        return (
            f"{gate.get('validated', 0):,} tallies",
            f"{accepted or 0:,} accepted, {gate.get('quarantined', 0):,} quarantined",
        )
    if step == "marts":
        names = ("results", "turnout", "coverage")
        rest = sum(v for k, v in marts.items() if k not in names and k not in _LATER)
        shown = ", ".join(f"{marts.get(n, 0):,} {n}" for n in names)
        others = len(marts) - len(names) - len([k for k in _LATER if k in marts])
        return f"{accepted or 0:,} accepted tallies", f"{shown}, {rest:,} in {others} others"
    if step in ("forensics", "projection"):
        return f"{accepted or 0:,} accepted tallies", f"{marts.get(step, 0):,} rows"
    total = sum(marts.values())
    return f"{total:,} mart rows", f"{len(marts)} marts copied"


_LATER = ("forensics", "projection")


def child(args: argparse.Namespace) -> int:
    """Run `tallyhouse run` in this process under the sampler; write the profile as JSON."""
    sampler = Sampler()
    sampler.sample()
    sampler.start()
    started_wall, started_cpu = time.time(), _cpu_seconds()
    from orchestration import runner
    from orchestration.cli import main as cli_main

    captured = {}
    original = runner.run_tally_job

    def capture(*a, **k):
        result = original(*a, **k)
        captured["run_id"] = result.run_id
        return result

    runner.run_tally_job = capture
    argv = ["run", "--data-dir", args.data_dir, "--landing", args.landing]
    argv += ["--quarantine-threshold", "1"]
    sys.argv = ["tallyhouse", *argv]  # as the console script: main() without argv tunes the
    code = cli_main()  # process's garbage collector as `tallyhouse run` does
    sampler.stop()
    ended_wall, ended_cpu = time.time(), _cpu_seconds()
    hwm = _status_bytes("VmHWM")
    # the run's own child processes, reaped by now: the Great Expectations worker
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)

    import dagster as dg

    starts, ends, assets, step_of = {}, {}, {}, {}
    with dg.DagsterInstance.get() as instance:
        for entry in instance.all_logs(captured["run_id"]):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = entry.timestamp
            elif event.event_type_value == "STEP_SUCCESS":
                ends[event.step_key] = entry.timestamp
            elif event.event_type_value == "ASSET_MATERIALIZATION":
                materialization = event.event_specific_data.materialization
                key = materialization.asset_key.to_user_string()
                assets[key] = _numbers(materialization.metadata)
                step_of[key] = event.step_key
    samples = sampler.samples
    steps = []
    for name, key in STEPS:
        if key not in starts or key not in ends:
            continue
        begin, end = starts[key], ends[key]
        inside = [s for s in samples if begin <= s[0] <= end]
        peak = max(inside, default=(0, 0, 0, None), key=lambda s: s[2])
        rows_in, rows_out = _rows(name, assets)
        steps.append(
            {
                "step": name,
                "wall": end - begin,
                "cpu": _cpu_at(samples, end) - _cpu_at(samples, begin),
                "peak_rss": peak[2],
                "duckdb_at_peak": peak[3],
                "rows_in": rows_in,
                "rows_out": rows_out,
            }
        )
    profile = {
        "exit_code": code,
        "wall": ended_wall - started_wall,
        "cpu": ended_cpu - started_cpu,
        "peak_rss": hwm,
        "children_cpu": reaped.ru_utime + reaped.ru_stime,
        "samples": len(samples),
        "steps": steps,
    }
    Path(args.json).write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")
    return code


# ---------------------------------------------------------------------------------------------
# The parent: generate, run children, print


def generate(tables: int, landing: Path, seed: int, drops: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "tallyhouse"), "generate", "--tables", str(tables), "--seed", str(seed)]
        + ["--drops", str(drops), "--out", str(landing)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def profile_size(tables: int, args, root: Path) -> dict:
    work = root / f"t{tables}"
    shutil.rmtree(work, ignore_errors=True)
    landing, data = work / "landing", work / "data"
    seconds = generate(tables, landing, args.seed, args.drops)
    _log(f"\n=== {tables:,} tables: generated in {seconds:.1f}s (untimed) ===")
    load_before = os.getloadavg()
    if args.memory:
        argv = [str(BIN / "tallyhouse"), "run", "--data-dir", str(data), "--landing", str(landing)]
        run = run_process(argv + ["--quarantine-threshold", "1"], work / "run.log", REPO)
    else:
        out = work / "profile.json"
        argv = [sys.executable, str(Path(__file__).resolve()), "--child"]
        argv += ["--data-dir", str(data), "--landing", str(landing), "--json", str(out)]
        outer = run_process(argv, work / "run.log", REPO)
        run = json.loads(out.read_text()) if out.exists() else {"steps": []}
        run.update({"process_" + k: v for k, v in outer.items()})
    if run.get("exit_code", run.get("process_exit_code")):
        _log((work / "run.log").read_text()[-3000:])
        raise SystemExit(f"the run at {tables:,} tables failed")
    run.update(
        tables=tables,
        load_before=[round(x, 2) for x in load_before],
        load_after=[round(x, 2) for x in os.getloadavg()],
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return run


def table(run: dict, markdown: bool) -> list[str]:
    head = ("step", "wall s", "CPU s", "peak GiB", "DuckDB GiB", "rows in", "rows out")
    rows = [
        (s["step"], f"{s['wall']:.2f}", f"{s['cpu']:.2f}", f"{s['peak_rss'] / GIB:.2f}")
        + (_gib(s.get("duckdb_at_peak")), s["rows_in"], s["rows_out"])
        for s in run["steps"]
    ]
    in_steps = sum(s["wall"] for s in run["steps"]), sum(s["cpu"] for s in run["steps"])
    worker = run.get("children_cpu", 0.0)
    rows.append(
        (
            "outside steps",
            f"{run['process_wall'] - in_steps[0]:.2f}",
            f"{run['process_cpu'] - in_steps[1] - worker:.2f}",
        )
        + ("", "", "start-up, imports, job set-up, summary", "")
    )
    if worker:  # its CPU overlaps the steps on another core; its wall is theirs
        rows.append(("GX worker", "", f"{worker:.2f}", "", "", "", "a process of its own"))
    rows.append(
        ("whole process", f"{run['process_wall']:.2f}", f"{run['process_cpu']:.2f}")
        + (f"{run['process_peak_rss'] / GIB:.2f}", "", "", "")
    )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return lines + ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(str(r[i])) for r in (head, *rows)) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i in (0, 5, 6) else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*head), "-" * (sum(widths) + 12)] + [fmt.format(*r) for r in rows]


def _gib(value: int | None) -> str:
    return "" if value is None else f"{value / GIB:.2f}"


def memory_table(runs: list[dict], markdown: bool) -> list[str]:
    head = ("tables", "wall s", "CPU s (user + sys)", "peak RSS GiB", "load before / after")
    rows = [
        (
            f"{r['tables']:,}",
            f"{r['wall']:.2f}",
            f"{r['cpu']:.2f} ({r['user']:.2f} + {r['sys']:.2f})",
            f"{r['peak_rss'] / GIB:.2f}",
            f"{r['load_before'][0]:.2f} / {r['load_after'][0]:.2f}",
        )
        for r in runs
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return lines + ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return [fmt.format(*head)] + [fmt.format(*r) for r in rows]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300000,1000000", help="comma-separated tables")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--drops", type=int, default=4, help="feed files per election")
    parser.add_argument("--memory", action="store_true", help="whole processes only, no sampler")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep everything there")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--landing", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)
    root = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="thprof-"))
    root.mkdir(parents=True, exist_ok=True)
    _log(f"{os.cpu_count()} cores; work dir {root}; uptime: {os.popen('uptime').read().strip()}")
    runs = []
    try:
        for tables in args.sizes:
            run = profile_size(tables, args, root)
            runs.append(run)
            if not args.memory:
                print(
                    f"\n{tables:,} tables (load average {run['load_before'][0]:.2f} before, "
                    f"{run['load_after'][0]:.2f} after)"
                )
                print("\n".join(table(run, args.markdown)), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.memory:
        print("\n".join(memory_table(runs, args.markdown)))
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
