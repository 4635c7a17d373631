"""A general election's forensics and projection marts on election night: a drop moves the
kept state of each contest it touches (the others' rows stay as they were), and the published
marts equal a full rebuild of the same files, bit for bit: drops that amend tallies, one that
quarantines two tables (their accepted tallies go), and one that corrects a single contest."""

import shutil
from dataclasses import replace

import polars as pl
import pytest

from landing.synthetic_general import write_synthetic_general
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import assert_same_marts, mart_snapshot, run
from tests.test_general_incremental import _tables, _with_amendments
from tests.test_incremental import modes, run_forced_full
from transforms.synthetic.general import generate_general

pytestmark = pytest.mark.e2e  # every test here runs the job

FOLLOWERS = ("forensics", "projection")
ONE_CONTEST = "governor"


def _with_one_contest_corrected(general):
    """A fifth drop: four tables of the first drop again, only their governor's rows: three
    with the first line one vote up (amendments), one without its first line (quarantined
    under E8, so fewer tallies count that line in its state)."""
    first = general.drops[0]
    rows = _tables(general, first, 4, skip=10).filter(pl.col("office") == "GOVERNOR")
    last_table = rows["table_code"].unique(maintain_order=True)[-1]
    line = pl.int_range(pl.len()).over("table_code") == 0
    corrected = rows.with_columns(
        pl.when(line).then(pl.col("votes") + 1).otherwise(pl.col("votes")).alias("votes")
    ).filter(~(line & (pl.col("table_code") == last_table)))
    return replace(general, drops=[*general.drops, corrected])


def _reason(result, mart: str) -> str:
    return next(
        e.event_specific_data.materialization.metadata["reason"].value
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key.path == ["marts", mart]
    )


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A general election of 5 contests landed in 5 drops, the job run after each (the marts
    after each kept); then a forced full rebuild of the same files."""
    root = tmp_path_factory.mktemp("general_forensics")
    settings = replace(Settings(root / "data"), election="general", quarantine_threshold=0.5)
    prepare_data_dir(settings)
    general = _with_amendments(generate_general(600, contests=5, seed=5, drops=4))
    general = _with_one_contest_corrected(general)
    incoming = root / "incoming"
    write_synthetic_general(general, incoming)
    shutil.copy(incoming / "registry.csv", settings.landing)
    seen, marts = [], []
    for path in sorted(incoming.glob("general_*.csv")):
        shutil.copy(path, settings.landing)
        result = run(settings)
        assert result.success
        seen.append({**modes(result), **{f"{m} reason": _reason(result, m) for m in FOLLOWERS}})
        marts.append(mart_snapshot(settings))
    full_modes = run_forced_full(settings)
    return seen, marts, full_modes, mart_snapshot(settings)


def test_later_drops_move_the_kept_state(night):
    seen, _, full_modes, _ = night
    for step in FOLLOWERS:
        assert [s[step] for s in seen] == ["full", "full", *["incremental"] * 3], step
    # the fourth drop moves two contests' shares across F2's 5 % (their main candidates): the
    # centres where those candidates have a count are examined again, the rest still moved
    assert seen[3]["forensics reason"] == (
        "applying the last change; "
        + "; ".join(
            f"contest {c}: the drop changed which candidates are main (F2 shares), every "
            "centre where they have a count examined again"
            for c in ("governor", "senator-vote-for-2")
        )
    )
    assert all(full_modes[step] == "full" for step in FOLLOWERS)


def test_a_district_whose_line_may_stop_is_projected_again_from_its_tallies(night):
    """The projection moves each contest-and-district's sums by the drop, unless fewer tallies
    count one of its lines (the last quarantines a governor's table lacking its first line):
    that district is computed again from all its tallies (a line no tally counts has no row)."""
    seen = night[0]
    assert [s["projection reason"] for s in seen[2:4]] == ["applying the last change"] * 2
    assert seen[4]["projection reason"] == (
        "applying the last change; contest governor in 03 computed again from all its "
        "tallies: fewer tallies count one of its lines (it may stop)"
    )


def test_forensics_and_projection_equal_a_full_rebuild(night):
    _, marts, _, full = night
    for step in FOLLOWERS:
        assert marts[-1][step].height, step
        assert marts[-1][step].equals(full[step]), step
    assert_same_marts(marts[-1], full)


def test_a_drop_of_one_contest_leaves_the_others_rows(night):
    _, marts, _, _ = night
    before, after = (m["forensics"] for m in marts[-2:])
    others = pl.col("contest_id") != ONE_CONTEST
    assert before.filter(others).equals(after.filter(others))
    assert before.filter(others).height and after.filter(~others).height
