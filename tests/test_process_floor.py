"""What every `tallyhouse run` process pays whatever the size of its drop, kept small: the
event log reuses one engine per SQLite file for the run (orchestration/runner.py), the files a
drop's run skips are counted in one line (orchestration/assets/ingest.py), and the project's
sources are compiled when `uv sync` installs it (hatch_build.py). And benchmarks/drop_process.py
reads where a run's time went from Dagster's SQLite event log."""

import importlib.util
import inspect
import shutil
import sys
import time
import types
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.runner import instance_sqlite_kept_open

REPO = Path(__file__).resolve().parent.parent
LINES = 60


@dg.op
def many_lines(context) -> None:
    for line in range(LINES):
        context.log.info(f"line {line}")


@dg.job
def chatty():
    many_lines()


def test_the_replaced_method_is_dagsters_own_shape():
    """runner._event_log_engines_reused replaces SqliteEventLogStorage._connect for a run: a
    Dagster that renamed it or changed its arguments must fail here, not in a run."""
    assert list(inspect.signature(SqliteEventLogStorage._connect).parameters) == ["self", "shard"]


@pytest.mark.e2e  # runs a (one-op) Dagster job
def test_a_run_connects_to_each_event_log_file_once_and_keeps_every_event(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    opened: list[str] = []

    def count(dbapi_connection, _record) -> None:
        opened.append(dbapi_connection.execute("pragma database_list").fetchall()[0][2])

    original = SqliteEventLogStorage._connect
    sa.event.listen(sa.engine.Engine, "connect", count)
    try:
        with instance_sqlite_kept_open(home), dg.DagsterInstance.from_config(str(home)) as inst:
            assert SqliteEventLogStorage._connect is not original
            run_id = chatty.execute_in_process(instance=inst).run_id
    finally:
        sa.event.remove(sa.engine.Engine, "connect", count)
    assert SqliteEventLogStorage._connect is original, "put back when the block ends"
    event_log = [path for path in opened if "/history/runs/" in path]
    assert len(event_log) < 10, f"{len(event_log)} connections for {LINES} lines and the run"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        logged = [r.user_message for r in instance.all_logs(run_id) if r.dagster_event is None]
        assert [m for m in logged if m.startswith("line ")] == [f"line {n}" for n in range(LINES)]
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    assert not list(home.rglob("*.db-wal")), "every connection closed, the WALs folded in"


@pytest.mark.e2e  # runs the CLI
def test_a_drop_counts_the_files_it_skips_in_one_line(ran_two_drops_copy, tallyhouse):
    ran = ran_two_drops_copy
    landed = ran.settings.landing / "tallies_003.csv"
    shutil.copy(ran.held / landed.name, landed)
    done = tallyhouse("run", "--data-dir", str(ran.settings.data_dir))
    assert done.returncode == 0, done.stderr
    assert "raw__deliveries: 2 landed file(s) already delivered, skipped" in done.stdout
    assert "tallies_003.csv: loaded" in done.stdout
    assert "tallies_001.csv" not in done.stdout, "a skipped file is counted, not named"


def load_hook(monkeypatch):
    """hatch_build.py as hatchling loads it, on a stand-in for hatchling's hook interface
    (hatchling lives in the build environment, not in .venv)."""

    class BuildHookInterface:
        def __init__(self, root: Path, packages: list[str]):
            self.root = str(root)
            self.build_config = types.SimpleNamespace(packages=packages)

    interface = types.ModuleType("hatchling.builders.hooks.plugin.interface")
    interface.BuildHookInterface = BuildHookInterface
    for name in ("hatchling", "hatchling.builders", "hatchling.builders.hooks"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "hatchling.builders.hooks.plugin", types.ModuleType("p"))
    monkeypatch.setitem(sys.modules, interface.__name__, interface)
    spec = importlib.util.spec_from_file_location("hatch_build", REPO / "hatch_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CompileSources


def test_the_editable_install_compiles_the_packages_and_a_wheel_does_not(tmp_path, monkeypatch):
    hook = load_hook(monkeypatch)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("VALUE = 1\n", encoding="utf-8")
    (tmp_path / "other.py").write_text("VALUE = 2\n", encoding="utf-8")
    hook(tmp_path, ["pkg"]).initialize("standard", {})
    assert not list(tmp_path.rglob("*.pyc")), "a wheel carries sources only"
    hook(tmp_path, ["pkg"]).initialize("editable", {})
    compiled = [path.relative_to(tmp_path).parts[:2] for path in tmp_path.rglob("*.pyc")]
    assert compiled == [("pkg", "__pycache__")], "the packages, nothing else"


def test_pyproject_runs_the_hook_for_the_packages_it_ships():
    import tomllib

    hatch = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    wheel = hatch["targets"]["wheel"]
    assert "custom" in wheel["hooks"], "hatch_build.py runs when the project is installed"
    assert {"orchestration", "transforms", "warehouse"} <= set(wheel["packages"])


@pytest.mark.e2e  # runs a (one-op) Dagster job
def test_drop_process_reads_a_runs_phases_from_its_event_log(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "drop_process", REPO / "benchmarks" / "drop_process.py"
    )
    drop_process = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(drop_process)
    home = tmp_path / "data" / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    started = time.time()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        chatty.execute_in_process(instance=instance)
    ended = time.time()
    spent = drop_process.phases(tmp_path / "data", started, ended)
    assert list(spent) == ["before the run", "many_lines", "run, outside steps", "after the run"]
    assert all(value >= 0 for value in spent.values())
    assert sum(spent.values()) == pytest.approx(ended - started, abs=0.01)
