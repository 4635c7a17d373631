"""The `tallyhouse` command as a user runs it: the installed console script in a process of its
own for the built-in sample, the console script's entry point in this process for the rest."""

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import SMALL_TABLES, tallyhouse_process

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI


def test_run_with_nothing_landed_runs_the_built_in_sample(tmp_path: Path):
    data = tmp_path / "data"
    done = tallyhouse_process("run", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "landing the built-in sample" in out
    assert "tallies_001.csv: loaded" in out
    assert "✓ published__marts done" in out
    assert "national result" in out and "turnout:" in out
    assert "coverage: 30,000 of 30,000 tallies counted (100.00 %)" in out
    assert f"Published marts: {data / 'marts.duckdb'}" in out
    truth = json.loads((data / "landing" / "truth.json").read_text())
    leader = max(truth["national"]["candidates"].values())
    assert f"{leader:,}" in out
    # the run is recorded on the persistent instance that `dagster dev` shows
    os.environ["DAGSTER_HOME"] = str(data / "dagster_home")
    try:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()
    finally:
        del os.environ["DAGSTER_HOME"]
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    assert "enabled: false" in (data / "dagster_home" / "dagster.yaml").read_text()


def test_generate_then_run_from_the_environment_data_dir(tmp_path: Path, tallyhouse):
    env = {"TALLYHOUSE_DATA_DIR": str(tmp_path / "d")}
    gen = tallyhouse("generate", "--tables", str(SMALL_TABLES), "--drops", "2", env=env)
    assert gen.returncode == 0, gen.stderr
    assert sorted(p.name for p in (tmp_path / "d" / "landing").glob("tallies_*")) == [
        "tallies_001.csv",
        "tallies_002.csv",
    ]
    done = tallyhouse("run", env=env)
    assert done.returncode == 0, done.stderr
    assert f"coverage: {SMALL_TABLES:,} of {SMALL_TABLES:,}" in done.stdout


def test_a_rejected_file_makes_the_run_exit_non_zero_naming_it(tmp_path: Path, tallyhouse):
    data = tmp_path / "data"
    assert tallyhouse("generate", "--tables", "500", "--data-dir", str(data)).returncode == 0
    feed = data / "landing" / "tallies_002.csv"
    feed.write_text(feed.read_text().replace("valid_votes", "valid", 1))
    (data / "landing" / "notes.txt").write_text("not a feed")
    done = tallyhouse("run", "--data-dir", str(data))
    assert done.returncode == 1
    assert "1 file(s) were rejected whole; the marts hold the rest" in done.stderr
    assert (
        "tallies_002.csv: columns no longer match the contract: missing column(s) "
        "valid_votes; unexpected column(s) valid"
    ) in done.stderr
    assert (data / "marts.duckdb").exists()
    assert "1 landing file(s) match no contract and were not loaded: notes.txt" in done.stdout
    query = f"tallyhouse query --data-dir {data} \"select * from results where level = 'state'\""
    assert query in done.stdout, "the example query reaches these marts"
