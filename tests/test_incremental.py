"""Incremental refresh: a drop restages, revalidates and republishes only what it touches, and
the marts come out identical to a full build over the same files."""

import shutil
from dataclasses import replace

import dagster as dg
import polars as pl
import pytest

from landing.files import write_synthetic
from orchestration.runner import run_tally_job
from orchestration.sensors import FULL_TAG
from tests.conftest import assert_same_marts, mart_snapshot, run
from transforms.synthetic.election import generate
from transforms.synthetic.faults import inject_faults
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI

STEPS = {  # an asset each step materializes, named as `modes` reports it
    ("staged", "tallies"): "staged",
    ("quality", "quarantine"): "quality",
    ("marts", "results"): "marts",
    ("marts", "projection"): "projection",
    ("marts", "forensics"): "forensics",
}


def modes(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """How each step ran: 'full' or 'incremental', from its materialization metadata."""
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        step = STEPS.get(tuple(materialization.asset_key.path))
        if step and "mode" in materialization.metadata:
            found[step] = materialization.metadata["mode"].value
    return found


def land_one_by_one(settings, drops, held):
    """Move the drops back into landing one at a time, running the job after each."""
    seen = []
    for path in drops:
        shutil.move(held / path.name, path)
        result = run(settings)
        assert result.success
        seen.append(modes(result))
    return seen


def hold_back(settings, tmp_path):
    drops = sorted(settings.landing.glob("tallies_*.csv"))
    held = tmp_path / "held"
    held.mkdir()
    for path in drops:
        shutil.move(path, held / path.name)
    return drops, held


def test_faulty_drops_with_amendments_one_by_one_equal_a_full_build(settings, tmp_path):
    settings = replace(settings, quarantine_threshold=0.5)
    # quarantines (E1, E2, E5, E8), flags (W1) and amendments (W3) all change between drops
    rates = {"E1": 0.01, "E2": 0.01, "E5": 0.01, "E8": 0.01, "W1": 0.01, "W3": 0.02}
    sample = inject_faults(generate(1_500, seed=41, drops=4), rates, seed=41)
    write_synthetic(sample, settings.landing)
    drops, held = hold_back(settings, tmp_path)
    seen = land_one_by_one(settings, drops, held)
    assert seen[0] == dict.fromkeys(STEPS.values(), "full")
    incremental = dict.fromkeys(STEPS.values(), "incremental")
    assert seen[1:] == [incremental] * 3
    one_by_one = mart_snapshot(settings)
    with connect(settings.published, read_only=True) as con:
        amended = con.sql("select count(*) from amendments").fetchall()[0][0]
        issues = con.sql("select count(distinct rule_id) from quality_issues").fetchall()[0][0]
    assert amended > 0 and issues >= 5, "the drops really amended and quarantined tallies"

    full = run_forced_full(settings)
    assert full == dict.fromkeys(STEPS.values(), "full")
    assert_same_marts(mart_snapshot(settings), one_by_one)


def run_forced_full(settings) -> dict[str, str]:
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_tally_job(settings, instance, show_progress=False, tags={FULL_TAG: "true"})
    assert result.success
    return modes(result)


def test_a_drop_only_restages_and_validates_its_own_units(ran_two_drops_copy):
    settings, held = ran_two_drops_copy.settings, ran_two_drops_copy.held  # 2 of 3 drops run
    drop = settings.landing / "tallies_003.csv"
    shutil.move(held / drop.name, drop)
    result = run(settings)
    assert result.success
    staged = next(
        e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.path == ["staged", "tallies"]
    )
    with connect(settings.warehouse, read_only=True) as con:
        last = con.sql(
            "select row_count from raw.deliveries where file_name = ?", params=[drop.name]
        ).fetchall()[0][0]
    assert staged["tallies"].value == last
    assert staged["raw_rows"].value == last, "earlier files' rows were not read again"


def test_published_marts_of_another_lineage_force_a_full_build(ran_two_drops_copy, tmp_path):
    settings = ran_two_drops_copy.settings  # run once already
    stale = tmp_path / "stale.duckdb"
    shutil.copy(settings.published, stale)
    # a drop moves the warehouse on a generation; then an older published copy comes back
    drop = "tallies_003.csv"
    shutil.move(ran_two_drops_copy.held / drop, settings.landing / drop)
    assert modes(run(settings))["marts"] == "incremental"
    shutil.copy(stale, settings.published)
    result = run(settings)
    assert result.success
    assert modes(result)["marts"] == "full"


def test_a_tally_moved_to_another_parent_gives_the_marts_of_a_full_build(settings, tmp_path):
    """A drop re-delivers a table under another parish (E6 quarantines it) and another table
    under another centre: the units' old and new paths differ, which a difference cannot
    express, so the marts rebuild, and equal a forced full rebuild."""
    settings = replace(settings, quarantine_threshold=1.0)
    sample = generate(300, seed=11, drops=2)
    write_synthetic(sample, settings.landing)
    (settings.landing / "tallies_002.csv").unlink()
    assert run(settings).success
    first = sample.drops[0]
    moved = first.head(2).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(first["parish_code"][-1]))
        .otherwise(pl.col("parish_code"))
        .alias("parish_code"),
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit(first["centre_code"][-1]))
        .otherwise(pl.col("centre_code"))
        .alias("centre_code"),
    )
    moved.write_csv(settings.landing / "tallies_101.csv")
    result = run(settings)
    assert result.success
    assert modes(result)["staged"] == "incremental"
    incremental = mart_snapshot(settings)
    run_forced_full(settings)
    assert_same_marts(mart_snapshot(settings), incremental)
