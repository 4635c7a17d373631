"""`tallyhouse check`: the dry run (landing.dry_run) and its printing, in memory; the command
itself, end to end, writes nothing and exits 0 clean, 1 when something would be rejected or
quarantined, 2 on a configuration error."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from landing.dry_run import dry_run
from landing.files import write_synthetic
from reporting.terminal.check import format_check
from tests.test_contracts import CONTRACT_TOML, ELECTION_TOML, FEED
from transforms.synthetic.election import generate
from transforms.synthetic.faults import inject_faults, parse_rates
from transforms.text import escaped, one_line
from warehouse.configs import load_election


def mini_elections(tmp_path: Path, feed: str = FEED, name: str = "obs_1.txt") -> tuple[Path, Path]:
    """The docs' observer example: (elections folder, landing folder with the feed)."""
    elections = tmp_path / "elections"
    (elections / "mini" / "contracts").mkdir(parents=True)
    (elections / "mini" / "election.toml").write_text(ELECTION_TOML)
    (elections / "mini" / "contracts" / "observers.toml").write_text(CONTRACT_TOML)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / name).write_bytes(feed.encode("latin-1"))
    return elections, landing


def test_a_clean_sample_is_ok_and_lists_files_no_contract_matches(tmp_path):
    write_synthetic(generate(400, seed=3, drops=2), tmp_path)
    (tmp_path / "notes.txt").write_text("not a feed")  # truth.json is ignored by election.toml
    report = dry_run(load_election("sample"), tmp_path, rows=150)
    assert report.exit_code == 0 and report.clean
    assert [f.file_name for f in report.files] == ["tallies_001.csv", "tallies_002.csv"]
    first = report.files[0]
    assert first.contract_id == "sample" and first.rows_read == 150 and first.more_rows
    assert first.tallies == 150 and first.breaches == ()
    assert [level for level, _ in first.units] == [
        "state",
        "municipality",
        "parish",
        "centre",
        "table",
    ]
    assert dict(first.units)["table"] == 150
    assert dict(first.counts)["valid_votes"] == ("valid_votes",)
    assert report.registry == "registry.csv" and report.registry_rows == 400
    assert report.unmatched == ("notes.txt",)
    text = "\n".join(format_check(report))
    assert (
        "notes.txt" in text
        and "match no contract" in text
        and text.endswith("no sampled tally breaks an error rule.")
    )


def test_broken_rules_are_named_with_file_row_and_value(tmp_path):
    faulty = inject_faults(generate(600, seed=5, drops=1), parse_rates("E2=0.05,E8=0.05"), seed=1)
    write_synthetic(faulty, tmp_path)
    report = dry_run(load_election("sample"), tmp_path, rows=1000)
    assert report.exit_code == 1
    (check,) = report.files
    breaches = {b.rule_id: b for b in check.breaches}
    assert {"E2", "E8"} <= set(breaches)
    assert check.quarantined >= max(breaches["E2"].tallies, breaches["E8"].tallies)
    example = breaches["E2"].examples[0]
    assert example.source_row >= 1 and "votes_cast_at_least=" in example.observed
    text = "\n".join(format_check(report))
    assert f"tallies_001.csv row {example.source_row:,}" in text
    assert "NOT CLEAN" in text


def test_a_long_feed_lists_its_labels_and_those_no_alias_maps(tmp_path):
    feed = FEED + "20-7;Reg. Sur;CARLA \x1b[31mR.;4;1;2;0\n"
    elections, landing = mini_elections(tmp_path, feed)
    report = dry_run(load_election("mini", elections), landing)
    (check,) = report.files
    assert check.rows_excluded == 1
    labels = {lb.text: lb.candidate_id for lb in check.labels}
    assert labels["ANA P."] == "A" and labels["BETO Q."] == "B"
    assert labels["CARLA \x1b[31mR."] is None
    assert check.error is not None and "CARLA" in check.error
    assert report.exit_code == 1
    text = "\n".join(format_check(report))
    assert "\x1b" not in text, "a label's escape code reaches the terminal escaped"
    assert "labels no alias maps: CARLA \\x1b[31mR. (1 rows)" in text
    assert "WOULD BE REJECTED" in text


def test_a_long_feed_sample_leaves_out_the_tally_it_may_cut(tmp_path):
    elections, landing = mini_elections(tmp_path)
    # 5 data rows: two tallies and the first row of 10-2; the subtotal row is never reached
    report = dry_run(load_election("mini", elections), landing, rows=3)
    (check,) = report.files
    assert check.more_rows and check.cut_rows == 1
    assert check.tallies == 1 and check.breaches == (), "no false E8 for the cut tally"
    assert report.exit_code == 0


def test_any_failure_in_one_file_is_a_rejection_not_a_crash(tmp_path, monkeypatch):
    write_synthetic(generate(200, seed=3, drops=2), tmp_path)
    import landing.files as module  # where the dry run maps a file by its contract

    real = module.apply_contract

    def boom(frame, contract, election):
        if frame.height and frame["source_row"].max() and "c01" in frame.columns:
            if module_state["calls"] == 0:
                module_state["calls"] += 1
                raise RuntimeError("engine exploded\n" + "x" * 2000)
        return real(frame, contract, election)

    module_state = {"calls": 0}
    monkeypatch.setattr(module, "apply_contract", boom)
    report = dry_run(load_election("sample"), tmp_path, rows=100)
    first, second = report.files
    assert first.error.startswith("tallies_001.csv: could not be loaded (RuntimeError: engine")
    assert len(first.error) <= 500 and "\n" not in first.error
    assert second.error is None and second.tallies == 100
    assert report.exit_code == 1


def test_two_contracts_claiming_one_file_is_a_configuration_error(tmp_path):
    elections, landing = mini_elections(tmp_path)
    second = CONTRACT_TOML.replace('id = "observers"', 'id = "again"', 1)
    (elections / "mini" / "contracts" / "again.toml").write_text(second)
    with pytest.raises(ValueError, match="matches both contract"):
        dry_run(load_election("mini", elections), landing)


def test_text_from_files_is_escaped_and_bounded():
    assert escaped("a\x1b[2Jb\r\n\u202e") == "a\\x1b[2Jb\\r\\n\\u202e"
    assert len(escaped("x" * 1000)) == 80 and escaped("x" * 1000).endswith("…")
    line = one_line("first\nsecond\t\x07" + "y" * 900)
    assert line.startswith("first\\nsecond\\t\\x07") and len(line) == 500
    assert one_line("candidate 'BETO  Q'") == "candidate 'BETO  Q'", "spaces are evidence"


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        + str(p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.e2e
def test_check_writes_nothing_and_exits_by_verdict(tmp_path, monkeypatch, capsys):
    from orchestration.cli import main

    landing = tmp_path / "landing"
    write_synthetic(generate(300, seed=3, drops=1), landing)
    monkeypatch.chdir(tmp_path)  # the default data directory would be ./data
    for var in ("TALLYHOUSE_DATA_DIR", "TALLYHOUSE_ELECTION", "DAGSTER_HOME"):
        monkeypatch.delenv(var, raising=False)
    before = _tree(tmp_path)
    assert main(["check", "--landing", str(landing), "--rows", "50"]) == 0
    out = capsys.readouterr().out
    assert "tallies_001.csv  (contract sample, source sample)" in out
    assert "rows read: 50 (the file goes on)" in out
    assert _tree(tmp_path) == before, "check wrote or touched a file"
    assert not (tmp_path / "data").exists()
    # a feed that breaks an error rule: exit 1
    feed = landing / "tallies_001.csv"
    lines = feed.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("valid_votes")] = "many"
    feed.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    assert main(["check", "--landing", str(landing), "--rows", "50"]) == 1
    out = capsys.readouterr().out
    assert "E8" in out and "tallies_001.csv row 1, tally" in out
    assert not (tmp_path / "data").exists()
