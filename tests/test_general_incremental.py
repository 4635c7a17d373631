"""Incremental refresh of a general election: a drop restages and judges only the polling units it
touches (every contest of each) and updates the published marts by its difference, which equal a
full rebuild of the same files, bit for bit; a drop that brings contest lines never seen before
is staged whole; a correction that stops a line at a unit (a tally quarantined) removes its rows
there without a full build."""

import shutil
from dataclasses import replace

import polars as pl
import pytest

from landing.synthetic_general import write_synthetic_general
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import assert_same_marts, mart_snapshot, run
from tests.test_incremental import modes, run_forced_full
from transforms.synthetic.general import generate_general
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # every test here runs the job

KEYS = ["state_code", "municipality_code", "parish_code", "centre_code", "table_code"]
# staged and quality tables compared between the two ways (run ids and times aside)
KEPT = {
    "staged.tallies": None,
    "staged.tally_votes": None,
    "staged.tally_versions": None,
    "staged.contests": None,
    "staged.contest_lines": None,
    "staged.ballot_positions": None,
    "quality.quarantine": ["tally_id", "rule_ids"],
    "quality.issues": ["tally_id", "rule_id", "severity"],
}


def _tables(general, drop: pl.DataFrame, count: int, skip: int = 0) -> pl.DataFrame:
    """The rows of `count` tables of `drop` (after the first `skip`)."""
    tables = drop.select(KEYS).unique(maintain_order=True).slice(skip, count)
    return drop.join(tables, on=KEYS, how="semi")


def _with_amendments(general):
    """The third drop takes two tables of the first without a candidate's line (missing:
    quarantined under E8, so their lines stop at their units: their rows there go, the rows
    above stay while other tallies give the lines); the last amends
    five tables of the first by one vote on their first line (W3), which the marts take as a
    difference."""
    first = general.drops[0]
    amended = _tables(general, first, 5).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("votes") + 1)
        .otherwise(pl.col("votes"))
        .alias("votes")
    )
    lacking = _tables(general, first, 2, skip=5)
    lacking = lacking.filter(pl.int_range(pl.len()) != 0)
    third = pl.concat([general.drops[2], lacking], how="vertical_relaxed")
    last = pl.concat([general.drops[-1], amended], how="vertical_relaxed")
    return replace(general, drops=[*general.drops[:2], third, last])


def _reason(result, key: list[str] = ["staged", "tallies"]) -> str:  # noqa: B006
    return next(
        e.event_specific_data.materialization.metadata["reason"].value
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.path == key
    )


def _kept(settings) -> dict[str, pl.DataFrame]:
    with connect(settings.warehouse, read_only=True) as con:
        frames = {}
        for table, columns in KEPT.items():
            frame = con.sql(f"select * from {table}").pl()  # noqa: S608 (constants)
            frame = frame.select(columns) if columns else frame
            frames[table] = frame.sort(frame.columns, nulls_last=True)
    return frames


@pytest.fixture(scope="module")
def one_by_one(tmp_path_factory):
    """A general election of 5 contests landed in 4 drops, the job run after each; the staged,
    quality and published tables after the last; then the same after a forced full rebuild."""
    root = tmp_path_factory.mktemp("general_incremental")
    settings = replace(Settings(root / "data"), election="general", quarantine_threshold=0.5)
    prepare_data_dir(settings)
    general = _with_amendments(generate_general(600, contests=5, seed=5, drops=4))
    incoming = root / "incoming"
    write_synthetic_general(general, incoming)
    shutil.copy(incoming / "registry.csv", settings.landing)
    seen = []
    for path in sorted(incoming.glob("general_*.csv")):
        shutil.copy(path, settings.landing)  # one drop after the other, the job after each
        result = run(settings)
        assert result.success
        seen.append(
            {
                **modes(result),
                "reason": _reason(result),
                "marts_reason": _reason(result, ["marts", "results"]),
            }
        )
    incremental = (_kept(settings), mart_snapshot(settings))
    full_modes = run_forced_full(settings)
    full = (_kept(settings), mart_snapshot(settings))
    return settings, seen, full_modes, incremental, full


def test_drops_are_staged_and_judged_incrementally(one_by_one):
    _, seen, full_modes, _, _ = one_by_one
    assert seen[0]["staged"] == "full" and seen[0]["quality"] == "full"
    # the second drop gives candidates of districts the first did not reach: staged whole
    assert (seen[1]["staged"], seen[1]["quality"]) == ("full", "full")
    assert seen[1]["reason"] == "full instead: the drop brings new contest lines"
    later = [(s["staged"], s["quality"], s["marts"]) for s in seen[2:]]
    assert later == [("incremental",) * 3] * 2
    assert [s["marts_reason"] for s in seen[2:]] == [
        "applying the last drop to the published marts"
    ] * 2
    assert full_modes["staged"] == full_modes["quality"] == "full"


def test_the_drops_amended_and_quarantined(one_by_one):
    settings = one_by_one[0]
    with connect(settings.published, read_only=True) as con:
        amended = con.sql("select count(distinct tally_code) from amendments").fetchall()[0][0]
        rules = {r[0] for r in con.sql("select distinct rule_id from quality_issues").fetchall()}
    assert amended >= 7 and {"E8", "W3"} <= rules


def test_staged_and_quality_tables_equal_a_full_staging(one_by_one):
    _, _, _, (kept, _), (kept_full, _) = one_by_one
    for table, frame in kept.items():
        assert frame.height, table
        assert frame.equals(kept_full[table]), table


def test_published_marts_equal_a_full_rebuild(one_by_one):
    _, _, _, (_, marts), (_, marts_full) = one_by_one
    assert marts["results"].height and marts["contest_status"].height
    assert_same_marts(marts, marts_full)


def test_a_unit_whose_tallies_are_all_quarantined_loses_its_results(one_by_one):
    """The third drop quarantines the one table of a centre that had results: the update takes
    the centre's rows away (and the equality above says nothing else went)."""
    settings = one_by_one[0]
    with connect(settings.published, read_only=True) as con:
        emptied = con.sql(
            "select source_id, contest_id, level, unit_code from quality_summary "
            "where level = 'centre' and received > 0 and accepted = 0"
        ).pl()
        left = con.sql(
            "select count(*) from results r semi join emptied e on r.source_id = e.source_id "
            "and r.contest_id = e.contest_id and r.level = e.level and r.unit_code = e.unit_code"
        ).fetchall()[0][0]
    assert emptied.height and left == 0
