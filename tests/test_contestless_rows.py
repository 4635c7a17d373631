"""A long feed's row whose contest cannot be determined (an empty office cell): its tally is of no
contest, quarantined under E8 and listed in the quality marts, and counts in no contest's
coverage or status. It used to stop the marts step ("contests in the marts but not in the
contest list: [None]"), so publication stuck on one bad cell. Full and incremental alike, and
the incremental update equals a full rebuild of the same files."""

import shutil
from dataclasses import replace

import polars as pl
import pytest

from landing.synthetic_general import write_synthetic_general
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import assert_same_marts, mart_snapshot, published, run
from tests.test_incremental import modes, run_forced_full
from transforms.synthetic.general import generate_general

pytestmark = pytest.mark.e2e  # every test here runs the job

TABLE = "table_code"


def _without_office(rows: pl.DataFrame, nth: int) -> pl.DataFrame:
    """The rows with the `nth` one's office cell emptied."""
    return rows.with_columns(
        pl.when(pl.int_range(pl.len()) == nth)
        .then(None)
        .otherwise(pl.col("office"))
        .alias("office")
    )


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """Two drops: the first with one row of no office (a full run), the second one table of the
    first delivered again with one row of no office (an incremental run); then a forced full
    rebuild of the same files. The marts after the second run and after the rebuild."""
    root = tmp_path_factory.mktemp("contestless")
    settings = replace(Settings(root / "data"), election="general", quarantine_threshold=0.9)
    prepare_data_dir(settings)
    general = generate_general(150, contests=3, seed=7, drops=1)
    first = _without_office(general.drops[0], 5)
    table = first[TABLE][40]
    again = _without_office(first.filter(pl.col(TABLE) == table), 2)
    incoming = root / "incoming"
    write_synthetic_general(replace(general, drops=[first, again]), incoming)
    shutil.copy(incoming / "registry.csv", settings.landing)
    seen = []
    for path in sorted(incoming.glob("general_*.csv")):
        shutil.copy(path, settings.landing)
        result = run(settings)
        assert result.success
        seen.append(modes(result))
    incremental = mart_snapshot(settings)
    run_forced_full(settings)
    return settings, seen, incremental, mart_snapshot(settings)


def test_the_runs_publish_full_then_incremental(night):
    _, seen, _, _ = night
    assert seen[0]["marts"] == "full" and seen[1]["marts"] == "incremental"


def test_a_tally_of_no_contest_is_quarantined_and_counted_in_no_contest(night):
    settings = night[0]
    for mart in ("results", "turnout", "coverage", "contest_status"):
        nulls = published(settings, f"select count(*) from {mart} where contest_id is null")  # noqa: S608
        assert nulls.item() == 0, mart
    summary = published(
        settings,
        "select received, quarantined, e8 from quality_summary "
        "where contest_id is null and level = 'national'",
    )
    # one tally of no contest in each drop's file (a file's rows are its own tallies)
    assert summary.rows() == [(2, 2, 2)]
    issues = published(
        settings,
        "select count(*) from quality_issues where contest_id is null and rule_id = 'E8'",
    )
    assert issues.item() == 2


def test_the_incremental_update_equals_a_full_rebuild(night):
    _, _, incremental, full = night
    assert_same_marts(incremental, full)
