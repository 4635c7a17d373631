"""The reliability suite, small: runs killed at random recover with no cleanup and equal a clean
run (benchmarks/chaos.py), and mutated real feeds end as named rejections or quarantines with
every row accounted for (benchmarks/fuzz_feeds.py). Plus the defects the full suite found."""

import importlib.util
import sys
from pathlib import Path

import pytest

from landing.files import FileRejected, read_delimited, read_feed
from tests.conftest import SHARED_VE2024
from warehouse.configs import load_election

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _benchmark(name: str, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def _sample_contract():
    [contract] = load_election("sample", None).contracts
    return contract


def _feed(path: Path, columns: list[str], rows: list[list[str]]) -> Path:
    lines = [",".join(columns), *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_field_longer_than_any_tally_field_rejects_its_file_naming_row_and_field(tmp_path):
    # found by the fuzz run: a 1-4 MB field became a code or a count, quarantined with the
    # whole value as evidence (8 MB in quality.quarantine and quality.alerts, 180 MB of marts)
    contract = _sample_contract()
    ones = ["1"] * len(contract.columns)
    huge = [*ones[:3], "9" * 5_000, *ones[4:]]
    path = _feed(tmp_path / "tallies_001.csv", contract.columns, [ones, ones, huge])
    with pytest.raises(FileRejected) as rejected:
        read_feed(path, contract)
    assert rejected.value.reason == (
        f"row 3, field {contract.columns[3]}: 5,000 bytes, more than any field may hold (4,096)"
    )
    at_limit = [*ones[:3], "9" * 4_096, *ones[4:]]
    path = _feed(tmp_path / "tallies_002.csv", contract.columns, [ones, at_limit])
    assert read_feed(path, contract).height == 2, "a long field within the limit is read"


def test_a_registry_with_a_huge_field_is_refused_too(tmp_path):
    path = _feed(tmp_path / "registry.csv", ["code", "name"], [["01", "x" * 10_000]])
    with pytest.raises(FileRejected, match=r"row 1, field name: 10,000 bytes"):
        read_delimited(path)


@pytest.mark.e2e
@pytest.mark.reliability
def test_runs_killed_at_random_recover_and_equal_a_clean_run(monkeypatch, capsys):
    chaos = _benchmark("chaos", monkeypatch)
    code = chaos.main(["--kills", "2", "--tables", "600", "--seed", "5"])
    out = capsys.readouterr().out
    assert "2 kills in" in out and "recoveries (next run exit 0, no cleanup): 2 of 2" in out
    assert code == 0, out


@pytest.mark.e2e
@pytest.mark.reliability
@pytest.mark.skipif(
    not SHARED_VE2024.is_dir(), reason=f"the shared Venezuelan feeds are not in {SHARED_VE2024}"
)
def test_mutated_real_feeds_are_named_rejections_or_quarantines(monkeypatch, capsys):
    fuzz = _benchmark("fuzz_feeds", monkeypatch)
    code = fuzz.main(["--mutations", "30", "--batch", "30", "--seed", "7"])
    out = capsys.readouterr().out
    assert "30 mutated files in 1 runs" in out
    assert code == 0, out
