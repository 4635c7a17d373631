"""Dagster's own `dg` in this repository: `[tool.dg]` in pyproject.toml makes it a project whose
definitions load (`dg check defs`); outside it, dg refuses in one line that says where to run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # dg loads the definitions in a process of its own

REPO = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).with_name("dg")


def dg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if not DG.exists():
        pytest.skip(f"dg is not installed in {DG.parent} (the dev group: uv sync --frozen)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALLYHOUSE_", "DAGSTER_"))}
    return subprocess.run(
        [str(DG), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_dg_check_defs_loads_the_definitions_in_the_repository():
    done = dg("check", "defs", cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "All definitions loaded successfully." in done.stdout


def test_dg_outside_the_repository_says_where_to_run_it(tmp_path):
    done = dg("check", "defs", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("This command must be run inside a Dagster workspace or project")
    launched = dg("launch", "--assets", "*", cwd=tmp_path)
    assert launched.returncode == 1 and launched.stderr.count("\n") == 1, launched.stderr


def test_pyproject_names_the_definitions_module():
    import tomllib

    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]
    assert tool["dg"]["directory_type"] == "project"
    assert tool["dg"]["project"]["code_location_target_module"] == "orchestration.definitions"
    assert tool["dagster"]["module_name"] == "orchestration.definitions"
    # the name `-m orchestration.definitions` gives (tallyhouse ui, the services): one sensor state
    assert tool["dg"]["project"]["code_location_name"] == "orchestration.definitions"
