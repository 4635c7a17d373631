"""Election night: amendments keep every version, history grows one snapshot per good run, and
a generated night can be replayed."""

from dataclasses import replace

import pytest

from landing.files import replay, write_synthetic
from tests.conftest import published, run
from transforms.synthetic.election import generate
from transforms.synthetic.faults import inject_faults


@pytest.mark.e2e
def test_an_amendment_supersedes_and_both_versions_are_kept(settings):
    sample = inject_faults(generate(600, seed=31, drops=3), {"W3": 0.01}, seed=31)
    write_synthetic(sample, settings.landing)
    assert run(settings).success
    amended = {f["tally_code"] for f in sample.truth["faults"]}
    rows = published(settings, "select * from amendments")
    assert set(rows["tally_code"]) == amended
    assert set(rows["status"]) == {"superseded"}
    assert set(rows["superseded_by_file"]) == {"tallies_003.csv"}
    assert (rows["new_total_votes"] == rows["total_votes"] - 1).all()
    for tally in amended:
        counted = published(
            settings,
            "select sum(votes) from results where level = 'table' and unit_code = ?",
            [tally],
        ).item()
        new_valid = rows.filter(tally_code=tally)["new_valid_votes"].item()
        assert counted == new_valid, "the marts count the amended version"


@pytest.mark.e2e
def test_results_history_gains_one_snapshot_per_successful_run_only(settings):
    write_synthetic(generate(800, seed=32, drops=2), settings.landing)
    second = settings.landing / "tallies_002.csv"
    second.rename(settings.data_dir / "tallies_002.csv")  # held back for the second run
    assert run(settings).success
    (settings.data_dir / "tallies_002.csv").rename(second)
    assert run(settings).success
    assert run(settings).success, "nothing new: no snapshot (tests/test_noop_run.py)"
    bad = inject_faults(generate(200, seed=33, drops=1), {"E3": 0.2}, seed=33)
    bad.drops[0].write_csv(settings.landing / "tallies_900.csv")
    assert not run(settings).success, "the quarantine threshold blocks this run"
    history = published(
        settings,
        "select run_id, deliveries, last_file, level, count(*) n from results_history group by all",
    )
    runs = history.select("run_id", "deliveries", "last_file").unique()
    assert runs.height == 2
    assert set(runs["last_file"]) == {"tallies_001.csv", "tallies_002.csv"}
    assert set(history["level"]) == {"national", "state"}
    assert run(replace(settings, quarantine_threshold=1.0)).success
    after = published(
        settings, "select distinct run_id, deliveries, last_file from results_history"
    )
    assert after.height == 3 and after["deliveries"].max() == 3


def test_replay_drops_the_registry_first_then_each_file_at_the_pace(tmp_path):
    generated = tmp_path / "night"
    write_synthetic(generate(300, seed=34, drops=3), generated)
    landing = tmp_path / "landing"
    pauses, order = [], []
    dropped = replay(
        generated,
        landing,
        7.5,
        sleep=pauses.append,
        announce=lambda p: order.append(sorted(x.name for x in landing.iterdir())),
    )
    assert [p.name for p in dropped] == [
        "registry.csv",
        "tallies_001.csv",
        "tallies_002.csv",
        "tallies_003.csv",
    ]
    assert pauses == [7.5, 7.5, 7.5]
    assert order[1] == ["registry.csv", "tallies_001.csv"], "one whole file at a time"
    assert not (landing / "truth.json").exists()
