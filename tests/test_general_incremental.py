"""Incremental refresh of a general election: a drop restages and judges only the polling units it
touches (every contest of each) and updates the published marts by its difference, which equal a
full rebuild of the same files, bit for bit; a drop that brings contest lines never seen before
is staged whole; a correction that stops a line at a unit (a tally quarantined) removes its rows
there without a full build.

The forensics and projection marts on election night: a drop moves the kept state of each
contest it touches (the others' rows stay as they were), and the published marts equal a full
rebuild of the same files, bit for bit: drops that amend tallies, one that quarantines two
tables (their accepted tallies go), and one that corrects a single contest.

One night serves every test here (a general election's run costs seconds): its first four drops
are compared with a full rebuild of a copy of them, all five with a full rebuild after."""

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
    "staged.ballot_counts": None,
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


def _full_rebuild_of_a_copy(settings, root):
    """A forced full rebuild of a copy of the data directory (this one goes on): its modes,
    its staged and quality tables, its marts and its settings."""
    copied = replace(settings, data_dir=root / "full_of_four")
    shutil.copytree(settings.data_dir, copied.data_dir)
    full_modes = run_forced_full(copied)
    return copied, full_modes, (_kept(copied), mart_snapshot(copied))


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A general election of 5 contests landed in 5 drops, the job run after each: how each
    run went and the marts after it. After the fourth, the staged, quality and published
    tables, and the same after a forced full rebuild of a copy of the data directory; after
    the fifth, a forced full rebuild of the same files."""
    root = tmp_path_factory.mktemp("general_incremental")
    settings = replace(Settings(root / "data"), election="general", quarantine_threshold=0.5)
    prepare_data_dir(settings)
    general = _with_amendments(generate_general(600, contests=5, seed=5, drops=4))
    general = _with_one_contest_corrected(general)
    incoming = root / "incoming"
    write_synthetic_general(general, incoming)
    shutil.copy(incoming / "registry.csv", settings.landing)
    seen, marts, of_four = [], [], None
    for path in sorted(incoming.glob("general_*.csv")):
        if len(seen) == 4:
            incremental = (_kept(settings), marts[-1])
            of_four = (*_full_rebuild_of_a_copy(settings, root), incremental)
        shutil.copy(path, settings.landing)  # one drop after the other, the job after each
        result = run(settings)
        assert result.success
        seen.append(
            {
                **modes(result),
                "reason": _reason(result),
                "marts_reason": _reason(result, ["marts", "results"]),
                **{f"{m} reason": _reason(result, ["marts", m]) for m in FOLLOWERS},
            }
        )
        marts.append(mart_snapshot(settings))
    full_modes = run_forced_full(settings)
    return of_four, seen, marts, full_modes, mart_snapshot(settings)


@pytest.fixture(scope="module")
def one_by_one(night):
    """The first four drops of the night, one by one, then a forced full rebuild of them: the
    rebuilt data directory's settings, how each run went, the full rebuild's modes, the
    staged, quality and published tables after the fourth drop and after the rebuild."""
    (settings, full_modes, full, incremental), seen = night[0], night[1]
    return settings, seen[:4], full_modes, incremental, full


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


def test_later_drops_move_the_kept_state(night):
    seen, full_modes = night[1], night[3]
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
    seen = night[1]
    assert [s["projection reason"] for s in seen[2:4]] == ["applying the last change"] * 2
    assert seen[4]["projection reason"] == (
        "applying the last change; contest governor in 03 computed again from all its "
        "tallies: fewer tallies count one of its lines (it may stop)"
    )


def test_forensics_and_projection_equal_a_full_rebuild(night):
    marts, full = night[2], night[4]
    for step in FOLLOWERS:
        assert marts[-1][step].height, step
        assert marts[-1][step].equals(full[step]), step
    assert_same_marts(marts[-1], full)


def test_a_drop_of_one_contest_leaves_the_others_rows(night):
    marts = night[2]
    before, after = (m["forensics"] for m in marts[-2:])
    others = pl.col("contest_id") != ONE_CONTEST
    assert before.filter(others).equals(after.filter(others))
    assert before.filter(others).height and after.filter(~others).height
