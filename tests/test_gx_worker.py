"""The Great Expectations worker (expectations/gx_worker.py): the same verdicts as validating in
the gate's own process, an engine error still fails loudly, a failed worker leaves the gate to
validate itself, and no worker outlives its run."""

import json
import sys
import time
from pathlib import Path

import pytest

from expectations import gx_worker
from expectations.gx_worker import GxWorker, HeldByWorker, keep_result, running
from expectations.results_store import GateRun, gx_dir
from expectations.rules import RULES, RULES_BY_ID
from expectations.suites import EngineError
from tests.test_gx_results import AT, faulty  # noqa: F401  (the fixture)


@pytest.fixture(scope="module")
def worker():
    """One worker for the module's tests (each start imports GX: seconds)."""
    with running() as started:
        yield started


def worker_validate(evidence, rules, name="all"):
    return gx_worker.validate_here_or_in_worker(evidence, rules, name)


def same_failures(one, other) -> bool:
    return one.checked == other.checked and {
        rule: ids.to_list() for rule, ids in one.failing.items()
    } == {rule: ids.to_list() for rule, ids in other.failing.items()}


def kept_counts(data_dir: Path) -> dict[str, int]:
    """Per rule, the failing count of the one result kept under `data_dir`."""
    (path,) = (gx_dir(data_dir) / "uncommitted" / "validations").rglob("*.json")
    kept = json.loads(path.read_text())
    return {
        item["expectation_config"]["meta"]["rule_id"]: item["result"].get("unexpected_count", 0)
        for item in kept["results"]
    }


def test_the_worker_finds_what_the_gate_would_and_keeps_the_same_result(
    faulty,  # noqa: F811
    worker,
    tmp_path,
):
    evidence, here = faulty
    there = worker_validate(evidence, RULES)
    assert same_failures(there, here) and there.failing
    assert there.validation == HeldByWorker(worker)
    keep_result(tmp_path / "worker", there.validation, GateRun("run-1", "full", 1), AT)
    keep_result(tmp_path / "here", here.validation, GateRun("run-1", "full", 1), AT)
    assert kept_counts(tmp_path / "worker") == kept_counts(tmp_path / "here")
    assert any(kept_counts(tmp_path / "here").values())


def test_an_exception_inside_gx_in_the_worker_is_an_engine_error(faulty, worker):  # noqa: F811
    evidence, _ = faulty
    broken = RULES_BY_ID["E3"].__class__(
        "E3",
        "error",
        "broken on purpose",
        (
            (
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "unit_path", "column_B": "registered"},
            ),
        ),
    )
    with pytest.raises(EngineError, match="raised inside Great Expectations"):
        worker_validate(evidence, (broken,), "broken")
    assert worker.process.poll() is None  # the worker goes on: an engine error is an answer


def test_a_worker_that_failed_leaves_the_gate_to_validate_itself(
    faulty,  # noqa: F811
    worker,
    monkeypatch,
):
    evidence, here = faulty

    def dies_at_once(label=""):
        return GxWorker(
            gx_worker.subprocess.Popen(
                [sys.executable, "-c", "pass"],
                stdin=gx_worker.subprocess.PIPE,
                stdout=gx_worker.subprocess.PIPE,
            )
        )

    monkeypatch.setattr(GxWorker, "start", staticmethod(dies_at_once))
    with running() as dead:
        again = worker_validate(evidence, RULES)
    assert same_failures(again, here)
    assert not isinstance(again.validation, HeldByWorker)
    assert dead.ready is False and gx_worker._current is worker  # the outer one is back


def test_nothing_to_judge_never_asks_the_worker(faulty, worker):  # noqa: F811
    evidence, _ = faulty
    failures = worker_validate(evidence.clear(), RULES)
    assert failures.validation is None and not failures.failing and failures.checked
    with running(start=False) as none:
        assert none is None and gx_worker._current is None


def test_the_worker_is_killed_when_the_block_ends_however_it_ends():
    with pytest.raises(RuntimeError, match="the run failed"), running() as worker:
        raise RuntimeError("the run failed")
    assert worker.process.poll() is not None


def worker_processes(label: str) -> list[int]:
    """The pids of GX workers whose command line names `label`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"expectations.gx_worker" in words and label.encode() in words:
            found.append(int(cmdline.parent.name))
    return found


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_a_first_run_has_a_worker_and_none_outlives_it(tmp_path, tallyhouse):
    """The run is the installed console script in a process of its own (one that has not
    imported GX: a worker saves it the import); generating before it and the run after it,
    which finds nothing new, are the same commands in this process."""
    from tests.conftest import LANDED_NOW

    data_dir = str(tmp_path / "data")
    made = tallyhouse("generate", "--tables", "300", "--data-dir", data_dir)
    assert made.returncode == 0, made.stderr
    script = Path(sys.executable).parent / "tallyhouse"
    run = gx_worker.subprocess.Popen(
        [str(script), "run", "--data-dir", data_dir],
        stdout=gx_worker.subprocess.PIPE,
        stderr=gx_worker.subprocess.PIPE,
        env={**__import__("os").environ, **LANDED_NOW, "TALLYHOUSE_GX_WORKER": "on"},
    )
    seen = set()
    while run.poll() is None:
        seen.update(worker_processes(data_dir))
        time.sleep(0.05)
    out, err = run.communicate()
    assert run.returncode == 0, err.decode()[-3000:]
    assert seen, "a first run validates in a worker"
    assert not worker_processes(data_dir)
    assert (gx_dir(Path(data_dir)) / "uncommitted" / "validations").is_dir()
    again = tallyhouse("run", "--data-dir", data_dir)
    assert again.returncode == 0 and "nothing new" in again.stdout


def test_a_process_that_has_imported_gx_would_gain_nothing_from_a_worker():
    """A test session or a long-lived caller: validating here costs no import (a fresh
    `tallyhouse run` process still starts one: the first-run test above)."""
    import great_expectations  # noqa: F401

    assert not gx_worker.saves_an_import()


def test_the_worker_is_on_unless_the_environment_turns_it_off():
    from orchestration.settings import load_settings

    assert load_settings("/tmp/x", env={}).gx_worker
    assert load_settings("/tmp/x", env={"TALLYHOUSE_GX_WORKER": " ON "}).gx_worker
    assert not load_settings("/tmp/x", env={"TALLYHOUSE_GX_WORKER": "off"}).gx_worker
    with pytest.raises(ValueError, match="TALLYHOUSE_GX_WORKER must be on or off"):
        load_settings("/tmp/x", env={"TALLYHOUSE_GX_WORKER": "maybe\x1b[31m"})
