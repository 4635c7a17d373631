"""How much the quality gate adds to a full run, on an election with injected faults.

    .venv/bin/python benchmarks/validation_overhead.py --tables 1000000 --faults 0.01

Generates the election (untimed), runs the whole job in-process once untimed on a small election
(so Dagster's and Great Expectations' imports are paid), then times the full job and reads the
quality gate's own step time from Dagster's events. Prints the share the gate adds to the rest of
the run, against the 25 % goal, and checks that the quarantine equals the injected faults. Also
prints the gate's CPU time (the whole process's, from the gate planning its work to its
materializations: the steps run one at a time) and, where the gate keeps GX validation results,
the time that took.
"""

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import dagster as dg

import expectations.suites  # noqa: F401  (the gate imports GX lazily; pay it before timing)
from landing.files import write_synthetic
from orchestration.runner import run_tally_job
from orchestration.settings import load_settings, prepare_data_dir
from transforms.synthetic.election import generate
from transforms.synthetic.faults import FAULT_RULES, inject_faults
from warehouse.db import connect

GATE_STEP, GOAL = "quality_gate", 0.25
GATE_CLOCKS: dict[str, float] = {}


def _clocked(name: str, function, *, until_return: bool = False):
    """`function`, noting the process CPU and wall clocks when called (or when it returns)."""

    def clocked(*args, **kwargs):
        if not until_return:
            GATE_CLOCKS[name] = (time.process_time(), time.perf_counter())
        out = function(*args, **kwargs)
        if until_return:
            GATE_CLOCKS[name] = (time.process_time(), time.perf_counter())
        return out

    return clocked


def clock_the_gate() -> None:
    """Note the clocks when the gate starts planning, when it yields its materializations, and
    around keeping the GX results (when this tree keeps them)."""
    import orchestration.assets.quality as gate

    gate.plan_gate = _clocked("start", gate.plan_gate)
    gate._materializations = _clocked("end", gate._materializations)
    if hasattr(gate, "keep"):
        gate.keep = _clocked("keep_end", _clocked("keep_start", gate.keep), until_return=True)


def gate_clocks() -> dict[str, float]:
    cpu = GATE_CLOCKS["end"][0] - GATE_CLOCKS["start"][0]
    wall = GATE_CLOCKS["end"][1] - GATE_CLOCKS["start"][1]
    keep = (
        GATE_CLOCKS["keep_end"][1] - GATE_CLOCKS["keep_start"][1]
        if "keep_end" in GATE_CLOCKS
        else 0
    )
    return {"cpu": cpu, "wall": wall, "keep": keep}


def timed_run(data_dir: Path, tables: int, rate: float, seed: int) -> tuple[dict, float, dict]:
    settings = replace(load_settings(data_dir), quarantine_threshold=1.0, settle_seconds=0)
    prepare_data_dir(settings)
    sample = inject_faults(generate(tables, seed=seed), {r: rate for r in FAULT_RULES}, seed)
    write_synthetic(sample, settings.landing)
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = run_tally_job(settings, instance, show_progress=False)
        seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"run failed at {tables:,} tables")
    steps = {
        e.step_key: e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.event_type_value == "STEP_SUCCESS"
    }
    return steps, seconds, sample.truth


def quarantine_matches(data_dir: Path, truth: dict) -> bool:
    with connect(data_dir / "warehouse.duckdb", read_only=True) as con:
        held = con.sql("select tally_code, rule_ids from quality.quarantine").fetchall()
    got = {(t, r) for t, ids in held for r in ids.split(",")}
    want = {(f["tally_code"], f["rule"]) for f in truth["faults"] if f["rule"].startswith("E")}
    return got == want


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1_000_000)
    parser.add_argument("--faults", type=float, default=0.01, help="rate per rule")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="thval-"))
    clock_the_gate()
    try:
        timed_run(root / "warmup", 500, args.faults, args.seed)
        GATE_CLOCKS.clear()
        steps, seconds, truth = timed_run(root / "run", args.tables, args.faults, args.seed)
        clocks = gate_clocks()
        exact = quarantine_matches(root / "run", truth)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    gate = steps[GATE_STEP]
    rest = seconds - gate
    share = gate / rest
    print(
        f"{args.tables:,} tables, {args.faults:.1%} of tallies breaking each of "
        f"{len(FAULT_RULES)} rules ({len(truth['faults']):,} faults)"
    )
    print("steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in steps.items()))
    print(f"full run {seconds:.2f}s; quality gate {gate:.2f}s; the rest {rest:.2f}s")
    print(
        f"gate body: {clocks['wall']:.2f}s wall, {clocks['cpu']:.2f}s CPU; "
        f"keeping the GX results {clocks['keep']:.3f}s"
    )
    verdict = "MEETS" if share <= GOAL else "MISSES"
    print(f"validation adds {share:.1%} to the rest of the pipeline: {verdict} the {GOAL:.0%} goal")
    print(f"quarantine equals the injected error faults exactly: {exact}")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
