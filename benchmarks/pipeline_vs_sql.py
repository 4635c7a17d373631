"""Time the full tallyhouse pipeline against a plain DuckDB SQL script building the same marts.

For each size, a synthetic election is generated once (timed apart). Then, alternately, as
whole processes: (a) the plain SQL script (BASELINE_TEMPLATE below, with the fair results
statement: share and rank per candidate column before the unpivot) reads the landing files into
a fresh DuckDB file, and (b) `tallyhouse run --landing` builds the marts from a fresh data
directory. Wall and CPU (user + sys, os.wait4) of each. Both must give identical national and
per-state results, turnout and coverage, equal to truth.json (`--full-check`: every mart row).
`--in-process` times both in this one process instead (the first version of this benchmark);
`--baseline window` uses the first, handicapped results statement.

    .venv/bin/python benchmarks/pipeline_vs_sql.py --sizes 30000,300000,1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers.process_timing import run_process  # noqa: E402

from landing.files import write_synthetic  # noqa: E402
from transforms.synthetic.election import LEVELS, generate  # noqa: E402
from warehouse.configs import load_election  # noqa: E402

DEFAULT_SIZES = (30_000, 300_000, 1_000_000)
GOAL_SIZE, GOAL_RATIO = 1_000_000, 1.5  # issue 15: against the fair baseline
COUNTS = ("registered", "valid_votes", "null_votes", "blank_votes", "total_votes")

# The baseline: what an analyst would write in plain SQL for the same marts. It assumes the
# canonical feed layout and the five synthetic levels (checked before timing). Like the pipeline
# it lets a later file's tally of a table supersede an earlier one; unlike the pipeline it keeps
# no provenance, validates nothing (a bad cell makes a cast fail) and skips the published copy.
BASELINE_TEMPLATE = """
create temp table election as
select * from read_json(getvariable('landing') || '/election.json');

create temp table candidates as
select c.id as candidate_id, c.name as candidate_name
from (select unnest(candidates) as c from election);

create temp table sources as
select unnest(sources).id as source_id from election;

-- Staged tallies: typed, codes trimmed, missing totals filled, a later file superseding.
create temp table tallies as
with delivered as (
    select * from read_csv(
        getvariable('landing') || '/tallies_*.csv',
        header = true, filename = true,
        types = {'state_code': 'VARCHAR', 'municipality_code': 'VARCHAR',
                 'parish_code': 'VARCHAR', 'centre_code': 'VARCHAR', 'table_code': 'VARCHAR'}
    )
)
select
    coalesce((select source_id from sources limit 1), (select id from election)) as source_id,
    trim(state_code) as state_code, trim(municipality_code) as municipality_code,
    trim(parish_code) as parish_code, trim(centre_code) as centre_code,
    trim(table_code) as table_code,
    columns(* exclude (state_code, municipality_code, parish_code, centre_code, table_code,
                       filename, total_votes))::bigint,
    coalesce(total_votes::bigint,
             valid_votes::bigint + null_votes::bigint + coalesce(blank_votes::bigint, 0))
        as total_votes
from delivered
qualify row_number() over (partition by trim(table_code) order by filename desc) = 1;

-- g = grouping(state, municipality, parish, centre, table): 0 table ... 15 state, 31 national.
create temp macro level_of(g) as
    case g when 0 then 'table' when 1 then 'centre' when 3 then 'parish'
           when 7 then 'municipality' when 15 then 'state' else 'national' end;
create temp macro unit_of(g, s, m, p, c, t) as
    case g when 0 then t when 1 then c when 3 then p when 7 then m when 15 then s
           else 'national' end;
create temp macro parent_of(g, s, m, p, c) as
    case g when 0 then c when 1 then p when 3 then m when 7 then s when 15 then 'national' end;

-- Every unit of the registry at every level: name, parent, number of expected tallies.
create temp table units as
select
    level_of(g) as level,
    unit_of(g, state_code, municipality_code, parish_code, centre_code, table_code) as unit_code,
    case g when 0 then table_name when 1 then centre_name when 3 then parish_name
           when 7 then municipality_name when 15 then state_name
           else (select name from election) end as unit_name,
    expected
from (
    select
        grouping(state_code, municipality_code, parish_code, centre_code, table_code) as g,
        state_code, municipality_code, parish_code, centre_code, table_code,
        any_value(state_name) as state_name, any_value(municipality_name) as municipality_name,
        any_value(parish_name) as parish_name, any_value(centre_name) as centre_name,
        any_value(table_name) as table_name, count(*) as expected
    from read_csv(getvariable('landing') || '/registry.csv', header = true, all_varchar = true)
    group by rollup (state_code, municipality_code, parish_code, centre_code, table_code)
);

-- One pass up the geography, wide (a column per candidate), for all three marts.
create temp table rolled as
select
    source_id, level_of(g) as level,
    unit_of(g, state_code, municipality_code, parish_code, centre_code, table_code) as unit_code,
    parent_of(g, state_code, municipality_code, parish_code, centre_code) as parent_code,
    columns(* exclude (g, state_code, municipality_code, parish_code, centre_code, table_code,
                       source_id))
from (
    select
        source_id,
        grouping(state_code, municipality_code, parish_code, centre_code, table_code) as g,
        state_code, municipality_code, parish_code, centre_code, table_code,
        count(*) as received,
        -- a sum over an unknown value is unknown, not a partial sum
        case when count(registered) = count(*) then sum(registered) end::bigint as registered,
        case when count(valid_votes) = count(*) then sum(valid_votes) end::bigint as valid_votes,
        case when count(null_votes) = count(*) then sum(null_votes) end::bigint as null_votes,
        case when count(blank_votes) = count(*) then sum(blank_votes) end::bigint as blank_votes,
        case when count(total_votes) = count(*) then sum(total_votes) end::bigint as total_votes,
        sum(columns(* exclude (source_id, state_code, municipality_code, parish_code,
                               centre_code, table_code, registered, valid_votes, null_votes,
                               blank_votes, total_votes)))::bigint
    from tallies
    group by source_id,
        rollup (state_code, municipality_code, parish_code, centre_code, table_code)
);

{results}
create table turnout as
select
    source_id, level, unit_code, u.unit_name, parent_code,
    registered, valid_votes, null_votes, blank_votes, total_votes,
    case when registered > 0 then total_votes / registered end as turnout
from rolled
left join units u using (level, unit_code);

create table coverage as
with all_sources as (
    select source_id from tallies union select source_id from sources
), joined as (
    select
        source_id, level, unit_code, u.unit_name, u.expected,
        coalesce(r.received, 0) as received
    from (all_sources cross join units u)
    full join rolled r using (source_id, level, unit_code)
)
select
    source_id, level, unit_code, unit_name, expected, received, received as counted,
    case when expected > 0 then received * 100.0::double / expected end as percent_reporting
from joined;
"""

# The handicapped first baseline: share and rank by window functions over the long rows (15M at
# 1M tables, about 60 % of the script's time). Kept to compare with earlier figures
# (`--baseline window`).
WINDOW_RESULTS = """create table results as
with named as (
    select
        r.* exclude (received, registered, valid_votes, null_votes, blank_votes, total_votes),
        u.unit_name
    from rolled r
    left join units u using (level, unit_code)
), votes as (
    unpivot named
    on columns(* exclude (source_id, level, unit_code, unit_name, parent_code))
    into name candidate_id value votes
)
select
    source_id, level, unit_code, unit_name, parent_code, candidate_id, c.candidate_name,
    votes,
    case when sum(votes) over unit > 0 then votes / sum(votes) over unit end as share,
    (rank() over (unit order by votes desc))::integer as rank
from votes
join candidates c using (candidate_id)
window unit as (partition by source_id, level, unit_code);
"""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fair_results(candidate_ids: list[str]) -> str:
    """The results statement an analyst would write knowing the candidates (as dbt's Jinja
    would generate it): share and rank computed per candidate column on the wide rows (one row
    per unit), then one UNPIVOT of votes, share and rank together. Identifiers come from the
    election's configuration, quoted."""
    cols = [_quoted(c) for c in candidate_ids]
    total = " + ".join(f"coalesce({c}, 0)" for c in cols)
    per_candidate = []
    for i, c in enumerate(cols):
        above = " + ".join(f"({o} > {c})::integer" for j, o in enumerate(cols) if j != i)
        per_candidate.append(
            f"{c} as {_quoted('v_' + candidate_ids[i])}, "
            f"case when candidate_total > 0 then {c} / candidate_total end "
            f"as {_quoted('s_' + candidate_ids[i])}, "
            f"(1 + {above or '0'})::integer as {_quoted('r_' + candidate_ids[i])}"
        )
    unpivot = ", ".join(
        f"({_quoted('v_' + c)}, {_quoted('s_' + c)}, {_quoted('r_' + c)}) as {_quoted(c)}"
        for c in candidate_ids
    )
    return f"""create table results as
with named as (
    select r.source_id, r.level, r.unit_code, u.unit_name, r.parent_code,
        {", ".join("r." + c for c in cols)}, {total} as candidate_total
    from rolled r
    left join units u using (level, unit_code)
), wide as (
    select source_id, level, unit_code, unit_name, parent_code,
        {(", " + chr(10) + "        ").join(per_candidate)}
    from named
), long as (
    unpivot wide on {unpivot}
    into name candidate_id value votes, share, rank
)
select
    source_id, level, unit_code, unit_name, parent_code, candidate_id, c.candidate_name,
    votes, share, rank
from long
join candidates c using (candidate_id);
"""


def baseline_sql(landing: Path, kind: str = "fair") -> str:
    """The whole script: the fair results statement for the election in landing/election.json,
    or the window one."""
    if kind == "window":
        return BASELINE_TEMPLATE.replace("{results}", WINDOW_RESULTS)
    election = json.loads((landing / "election.json").read_text(encoding="utf-8"))
    ids = [c["id"] for c in election["candidates"]]
    return BASELINE_TEMPLATE.replace("{results}", fair_results(ids))


def _log(message: str) -> None:
    print(message, flush=True)


def revision() -> str:
    """The project's git commit, marked when the working tree has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{commit} + uncommitted changes" if git("status", "--porcelain") else commit


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)


# ---------------------------------------------------------------------------------------------
# The two contenders


def land(sample, landing: Path) -> None:
    """The generator's files, plus election.json for the baseline (the sample's configuration,
    which the pipeline reads from elections/sample; no contract matches the JSON file)."""
    write_synthetic(sample, landing)
    config = load_election("sample").election.to_dict()
    (landing / "election.json").write_text(json.dumps(config), encoding="utf-8")


def run_baseline(landing: Path, target: Path, kind: str = "fair") -> float:
    """Run the baseline script into a fresh DuckDB file; return the seconds from connect to
    close."""
    script = baseline_sql(landing, kind)
    target.unlink(missing_ok=True)
    Path(f"{target}.wal").unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(target))
    try:
        con.execute("set variable landing = ?", [str(landing)])
        con.execute(script)
    finally:
        con.close()
    return time.perf_counter() - started


def import_pipeline() -> tuple[SimpleNamespace, dict[str, float]]:
    """Import Dagster, the pipeline's modules and Great Expectations (which the quality gate
    imports lazily, on its first run in a process); return them and the seconds each took."""
    started = time.perf_counter()
    dg = importlib.import_module("dagster")
    definitions = importlib.import_module("orchestration.definitions")
    settings = importlib.import_module("orchestration.settings")
    seconds = {"dagster + pipeline modules": time.perf_counter() - started}
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module("great_expectations")
        importlib.import_module("great_expectations.expectations")
    seconds["great_expectations"] = time.perf_counter() - started
    return SimpleNamespace(dg=dg, definitions=definitions, settings=settings), seconds


def run_pipeline(mods: SimpleNamespace, landing_files: list[Path], data_dir: Path) -> dict:
    """Land hard links of the files in a fresh data dir (untimed), then time the whole job."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    settings = mods.settings.load_settings(data_dir)
    if hasattr(settings, "settle_seconds"):  # the files are whole: no settling wait in the timing
        settings = dataclasses.replace(settings, settle_seconds=0)
    mods.settings.prepare_data_dir(settings)
    for path in landing_files:
        os.link(path, settings.landing / path.name)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    started = time.perf_counter()
    job = mods.definitions.build_definitions(settings).resolve_job_def(mods.definitions.TALLY_JOB)
    with mods.dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance, raise_on_error=True, run_config={"loggers": {"console": {}}}
        )
    elapsed = time.perf_counter() - started
    steps = {
        event.step_key: event.event_specific_data.duration_ms / 1000
        for event in result.all_events
        if event.event_type_value == "STEP_SUCCESS"
    }
    return {"seconds": elapsed, "steps": steps, "published": settings.published}


# ---------------------------------------------------------------------------------------------
# Checking that both agree, and agree with truth.json


def top_totals(path: Path) -> dict:
    """National and per-state figures of a marts file, as plain Python values."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        top = "level in ('national', 'state')"
        votes = con.execute(
            f"select level, unit_code, candidate_id, votes from results where {top}"
        ).fetchall()
        turnout = con.execute(
            f"select level, unit_code, {', '.join(COUNTS)} from turnout where {top}"
        ).fetchall()
        coverage = con.execute(
            f"select level, unit_code, expected, counted from coverage where {top}"
        ).fetchall()
    finally:
        con.close()
    return {
        "votes": {(lv, u, c): int(v) for lv, u, c, v in votes},
        "turnout": {(lv, u): tuple(rest) for lv, u, *rest in turnout},
        "coverage": {(lv, u): (e, c) for lv, u, e, c in coverage},
    }


def _diff(name: str, a: dict, b: dict, other: str, limit: int = 5) -> list[str]:
    keys = sorted(set(a) | set(b), key=str)
    bad = [k for k in keys if a.get(k) != b.get(k)]
    return [f"{name} {k}: pipeline {a.get(k)} vs {other} {b.get(k)}" for k in bad[:limit]] + (
        [f"{name}: {len(bad) - limit} more differences"] if len(bad) > limit else []
    )


def truth_totals(truth: dict, registry_rows: int, tables_per_state: dict) -> dict:
    votes, turnout, coverage = {}, {}, {}
    units = [(("national", "national"), truth["national"])]
    units += [(("state", code), totals) for code, totals in truth["states"].items()]
    for key, totals in units:
        for candidate, n in totals["candidates"].items():
            votes[(*key, candidate)] = n
        turnout[key] = tuple(totals[c] for c in COUNTS)
        expected = registry_rows if key[0] == "national" else tables_per_state[key[1]]
        coverage[key] = (expected, totals["tallies"])
    return {"votes": votes, "turnout": turnout, "coverage": coverage}


def check_agreement(pipeline_marts: Path, sql_marts: Path, truth: dict) -> list[str]:
    pipeline, sql = top_totals(pipeline_marts), top_totals(sql_marts)
    problems = []
    for part in ("votes", "turnout", "coverage"):
        problems += _diff(part, pipeline[part], sql[part], "sql")
        problems += _diff(part, pipeline[part], truth[part], "truth.json")
    return problems


NAMES = {"p": "pipeline", "s": "sql"}


def full_comparison(pipeline_marts: Path, sql_marts: Path) -> list[str]:
    """Every row of every mart, both ways (EXCEPT ALL); shares compared to 1e-12."""
    con = duckdb.connect()
    problems = []
    try:
        con.execute("attach ? as p (read_only)", [str(pipeline_marts)])
        con.execute("attach ? as s (read_only)", [str(sql_marts)])
        for table in ("results", "turnout", "coverage"):
            columns = {
                db: [
                    r[0]
                    for r in con.execute(
                        "select column_name from information_schema.columns "
                        "where table_catalog = ? and table_name = ? order by ordinal_position",
                        [db, table],
                    ).fetchall()
                ]
                for db in ("p", "s")
            }
            cols = [c for c in columns["p"] if c in columns["s"]]
            # the pipeline's own columns (contest_id, units without a list) are not compared
            if extra := [c for c in columns["s"] if c not in columns["p"]]:
                problems.append(f"{table}: columns only in sql: {', '.join(extra)}")
            exprs = ", ".join(
                f"round({c}, 12)" if c in ("share", "turnout", "percent_reporting") else c
                for c in cols
            )
            for a, b in (("p", "s"), ("s", "p")):
                n = con.execute(
                    f"select count(*) from (select {exprs} from {a}.{table} "
                    f"except all select {exprs} from {b}.{table})"
                ).fetchall()[0][0]
                if n:
                    problems.append(f"{table}: {n:,} rows of {NAMES[a]} not in {NAMES[b]}")
    finally:
        con.close()
    return problems


# ---------------------------------------------------------------------------------------------
# The benchmark


def bench_size(tables: int, args, mods, root: Path) -> dict:
    work = root / f"t{tables}"
    landing = work / "landing"
    if work.exists():
        shutil.rmtree(work)
    _log(f"\n=== {tables:,} tables ===")
    started = time.perf_counter()
    sample = generate(tables, seed=args.seed, drops=args.drops)
    generated = time.perf_counter() - started
    land(sample, landing)
    gen_seconds = time.perf_counter() - started
    election = sample.election
    if tuple(election.levels) != LEVELS:
        raise SystemExit(f"BASELINE_TEMPLATE assumes levels {LEVELS}, got {election.levels}")
    registry_rows = sample.registry.height
    per_state = dict(
        sample.registry.group_by("state_code").len().select("state_code", "len").iter_rows()
    )
    truth = truth_totals(sample.truth, registry_rows, per_state)
    del sample
    gc.collect()
    landing_files = sorted(p for p in landing.iterdir() if p.is_file())
    size_mb = sum(p.stat().st_size for p in landing_files) / 1e6
    _log(
        f"generated in {generated:.1f}s, written in {gen_seconds - generated:.1f}s "
        f"({len(landing_files)} files, {size_mb:,.0f} MB)"
    )

    sql_runs, pipe_runs = [], []
    for attempt in range(args.repeat):
        # Alternate who goes first, so neither always gets the colder cache.
        order = ("sql", "pipeline") if attempt % 2 == 0 else ("pipeline", "sql")
        for who in order:
            gc.collect()
            tag = f"[{attempt + 1}/{args.repeat}]"
            if who == "sql":
                run = time_baseline(landing, work, args)
                sql_runs.append(run)
                _log(f"{tag} plain SQL ({args.baseline}): {_shown(run)}")
            else:
                run = time_pipeline(mods, landing, landing_files, work / "pipeline", args)
                pipe_runs.append(run)
                _log(f"{tag} pipeline: {_shown(run)}")
                if run["steps"]:
                    steps = ", ".join(f"{k} {v:.2f}s" for k, v in run["steps"].items())
                    overhead = run["wall"] - sum(run["steps"].values())
                    _log(f"{tag}   ({steps}; outside steps {overhead:.2f}s)")
        published = work / "pipeline" / "marts.duckdb"
        problems = check_agreement(published, work / "sql_marts.duckdb", truth)
        if args.full_check:
            problems += full_comparison(published, work / "sql_marts.duckdb")
        if problems:
            raise SystemExit("MISMATCH:\n" + "\n".join(problems))
        _log(
            "both agree on national and per-state totals, and with truth.json"
            + (" (all mart rows identical)" if args.full_check else "")
        )
    load = os.getloadavg()
    _log(f"load average now {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)")
    if not args.keep:
        shutil.rmtree(work)
    best_pipe = min(pipe_runs, key=lambda r: r["wall"])
    best_sql = min(sql_runs, key=lambda r: r["wall"])
    paired = [p["wall"] / q["wall"] for p, q in zip(pipe_runs, sql_runs, strict=True)]
    paired_cpu = [p["cpu"] / q["cpu"] for p, q in zip(pipe_runs, sql_runs, strict=True)]
    return {
        "tables": tables,
        "landing_mb": round(size_mb, 1),
        "generate_seconds": round(gen_seconds, 3),
        "pipeline_seconds": round(best_pipe["wall"], 3),
        "sql_seconds": round(best_sql["wall"], 3),
        "ratio": round(best_pipe["wall"] / best_sql["wall"], 3),
        "cpu_ratio": round(min(r["cpu"] for r in pipe_runs) / min(r["cpu"] for r in sql_runs), 3),
        "paired_ratios": [round(x, 3) for x in paired],
        "paired_cpu_ratios": [round(x, 3) for x in paired_cpu],
        "pipeline_runs": [_rounded(r) for r in pipe_runs],
        "sql_runs": [_rounded(r) for r in sql_runs],
        "pipeline_steps": {k: round(v, 3) for k, v in best_pipe["steps"].items()},
        "peak_rss_gib_so_far": round(peak_rss_gib(), 2),
        "load_average_after": [round(x, 2) for x in load],
    }


def _shown(run: dict) -> str:
    peak = f", peak {run['peak_rss'] / 2**30:.2f} GiB" if run.get("peak_rss") else ""
    return f"{run['wall']:.2f}s wall, {run['cpu']:.2f}s CPU{peak}"


def _rounded(run: dict) -> dict:
    return {k: round(v, 3) for k, v in run.items() if isinstance(v, float)}


def time_baseline(landing: Path, work: Path, args) -> dict:
    """The plain SQL script: a whole process (this file, --baseline-only), or in this one."""
    target = work / "sql_marts.duckdb"
    if args.in_process:
        cpu = time.process_time()
        wall = run_baseline(landing, target, args.baseline)
        return {"wall": wall, "cpu": time.process_time() - cpu, "steps": {}}
    argv = [sys.executable, str(Path(__file__).resolve()), "--baseline-only"]
    argv += [str(landing), str(target), "--baseline", args.baseline]
    run = run_process(argv, work / "sql.log")
    if run["exit_code"]:
        raise SystemExit(f"the baseline failed: {(work / 'sql.log').read_text()[-2000:]}")
    return {**run, "steps": {}}


def time_pipeline(mods, landing: Path, landing_files: list[Path], data_dir: Path, args) -> dict:
    """The pipeline: a whole `tallyhouse run --landing` process, or the job in this one."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    if args.in_process:
        cpu = time.process_time()
        run = run_pipeline(mods, landing_files, data_dir)
        return {"wall": run["seconds"], "cpu": time.process_time() - cpu, "steps": run["steps"]}
    argv = [str(Path(sys.executable).parent / "tallyhouse"), "run", "--data-dir", str(data_dir)]
    argv += ["--landing", str(landing)]
    log = data_dir.parent / "pipeline.log"
    run = run_process(argv, log)
    if run["exit_code"]:
        raise SystemExit(f"the pipeline failed: {log.read_text()[-2000:]}")
    return {**run, "steps": {}}


def warm_up(mods, root: Path, args) -> float:
    """One small untimed run of each, so lazy imports inside Dagster and DuckDB are done."""
    started = time.perf_counter()
    landing = root / "warmup" / "landing"
    land(generate(500, seed=args.seed, drops=2), landing)
    run_baseline(landing, root / "warmup" / "sql_marts.duckdb", args.baseline)
    files = sorted(p for p in landing.iterdir() if p.is_file())
    run_pipeline(mods, files, root / "warmup" / "pipeline")
    shutil.rmtree(root / "warmup")
    return time.perf_counter() - started


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated numbers of tables (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--drops", type=int, default=4, help="feed files per election")
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternating runs of each per size; best is kept"
    )
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep everything there")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    parser.add_argument(
        "--full-check", action="store_true", help="also compare every row of all three marts"
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    parser.add_argument(
        "--baseline",
        choices=("fair", "window"),
        default="fair",
        help="fair: share and rank per candidate column before the unpivot (default); window: "
        "the first baseline, window functions over the long rows",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="time both in this process (the first version of this benchmark) instead of as "
        "whole processes",
    )
    parser.add_argument(
        "--baseline-only", nargs=2, metavar=("LANDING", "TARGET"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.repeat < 1 or not args.sizes or min(args.sizes) < 1:
        parser.error("--repeat and every size must be at least 1")
    return args


def _dagster() -> str:
    from importlib.metadata import version

    return version("dagster")


def print_table(rows: list[dict]) -> None:
    _log("")
    header = (
        f"{'tables':>10}  {'generate s':>10}  {'pipeline s':>10}  {'SQL s':>8}  {'ratio':>6}"
        f"  {'CPU ratio':>9}  paired wall ratios"
    )
    _log(header)
    _log("-" * len(header))
    for r in rows:
        paired = ", ".join(f"{x:.2f}" for x in r["paired_ratios"])
        _log(
            f"{r['tables']:>10,}  {r['generate_seconds']:>10.2f}  {r['pipeline_seconds']:>10.2f}"
            f"  {r['sql_seconds']:>8.2f}  {r['ratio']:>6.2f}  {r['cpu_ratio']:>9.2f}  {paired}"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline_only:
        landing, target = (Path(p) for p in args.baseline_only)
        seconds = run_baseline(landing, target, args.baseline)
        _log(f"plain SQL ({args.baseline}): {seconds:.2f}s")
        return 0
    root = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="thbench-"))
    root.mkdir(parents=True, exist_ok=True)
    if args.in_process:
        mods, import_seconds = import_pipeline()
    else:  # each process imports what it needs, and that is timed
        mods, import_seconds = SimpleNamespace(dg=SimpleNamespace(__version__=_dagster())), {}
    _log(
        f"tallyhouse {revision()}; duckdb {duckdb.__version__}, dagster {mods.dg.__version__}, "
        f"{os.cpu_count()} cores; work dir {root}; load average {os.getloadavg()[0]:.2f}"
    )
    mode = "in this process" if args.in_process else "whole processes (start-up included)"
    _log(f"baseline: {args.baseline}; timing {mode}")
    if import_seconds:
        shown = ", ".join(f"{name} {sec:.2f}s" for name, sec in import_seconds.items())
        _log(f"one-time imports (not counted): {shown}")
    warmup_seconds = None
    if args.in_process and not args.no_warmup:
        warmup_seconds = warm_up(mods, root, args)
        _log(f"untimed warm-up run (500 tables, both): {warmup_seconds:.2f}s")
    rows = []
    try:
        for tables in args.sizes:
            rows.append(bench_size(tables, args, mods, root))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print_table(rows)
    goal = next((r for r in rows if r["tables"] == GOAL_SIZE), None)
    if goal is None:
        _log(f"goal: no {GOAL_SIZE:,}-table run, so the {GOAL_RATIO:g}x goal was not checked")
    else:
        verdict = "MEETS" if goal["ratio"] <= GOAL_RATIO else "MISSES"
        _log(
            f"goal: at {GOAL_SIZE:,} tables the pipeline takes {goal['ratio']:.2f}x the plain SQL"
            f" time: {verdict} the {GOAL_RATIO:g}x goal"
        )
    if len(args.sizes) > 1 or args.repeat > 1:
        ratios = [r["ratio"] for r in rows]
        _log(f"median ratio over sizes: {statistics.median(ratios):.2f}")
    _log(f"peak memory of this process: {peak_rss_gib():.2f} GiB")
    if args.json:
        figures = {
            "import_seconds": {k: round(v, 3) for k, v in import_seconds.items()},
            "warmup_seconds": warmup_seconds and round(warmup_seconds, 3),
            "revision": revision(),
            "seed": args.seed,
            "drops": args.drops,
            "repeat": args.repeat,
            "cores": os.cpu_count(),
            "duckdb": duckdb.__version__,
            "dagster": mods.dg.__version__,
            "goal": {"tables": GOAL_SIZE, "max_ratio": GOAL_RATIO},
            "baseline": args.baseline,
            "in_process": args.in_process,
            "sizes": rows,
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        _log(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
