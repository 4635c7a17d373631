"""A generated general election whose registry lists each table's contests, with three tallies
for a legislative contest not on their table's ballot and 15 % of the tables not reported: E6
quarantines exactly those three, coverage counts each contest over the tables where it is on
the ballot, and contest_status bounds what is still to come by the registered voters of those
tables, deciding exactly where the margin exceeds it."""

import json
from dataclasses import replace

import polars as pl
import pytest

from landing.synthetic_general import write_synthetic_general
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import published, run
from transforms.synthetic.general import contest_id, generate_general

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def general(tmp_path_factory):
    settings = replace(Settings(tmp_path_factory.mktemp("ballots") / "data"), election="general")
    prepare_data_dir(settings)
    election = generate_general(
        600, contests=6, seed=3, drops=2, reporting=0.85, list_ballots=True, off_ballot=3
    )
    write_synthetic_general(election, settings.landing)
    assert run(settings).success
    truth = json.loads((settings.landing / "truth.json").read_text())
    return settings, truth, election


def _ballots(election) -> pl.DataFrame:
    """table_code, contest_id, registered and the table's codes: the registry's ballots, read
    from the generator's registry (not through the pipeline)."""
    return (
        election.registry.with_columns(pl.col("contests").str.split(";"))
        .explode("contests")
        .rename({"contests": "contest_id"})
    )


def _delivered(election, truth) -> pl.DataFrame:
    """table_code, contest_id of every tally delivered and on its table's ballot."""
    off = {(f["table_code"], f["contest_id"]) for f in truth["off_ballot"]}
    rows = set()
    for drop in election.drops:
        pairs = drop.select(pl.col("table_code", "office", "district").cast(pl.String)).unique()
        for table, office, district in pairs.iter_rows():
            rows.add((table, contest_id(office, district)))
    return pl.DataFrame(sorted(rows - off), schema=["table_code", "contest_id"], orient="row")


def test_e6_quarantines_exactly_the_tallies_of_a_contest_not_on_the_ballot(general):
    settings, truth, _ = general
    expected = {(f["table_code"], f["contest_id"], f["file"]) for f in truth["off_ballot"]}
    assert len(expected) == 3
    errors = published(
        settings,
        "select rule_id, tally_code, contest_id, file_name, source_row, observed "
        "from quality_issues where severity = 'error'",
    )
    assert set(errors["rule_id"]) == {"E6"}
    assert {(r[1], r[2], r[3]) for r in errors.iter_rows()} == expected
    assert errors["source_row"].is_not_null().all()
    assert errors["observed"].str.contains("not on the unit's ballot").all()
    quarantined = published(
        settings,
        "select contest_id, sum(quarantined) from quality_summary where level = 'national' "
        "group by 1 having sum(quarantined) > 0",
    )
    assert dict(quarantined.iter_rows()) == dict(
        pl.DataFrame([f["contest_id"] for f in truth["off_ballot"]], schema=["c"])
        .group_by("c")
        .len()
        .iter_rows()
    )


def test_coverage_counts_each_contest_over_the_tables_where_it_is_on_the_ballot(general):
    settings, truth, election = general
    ballots = _ballots(election)
    delivered = set(_delivered(election, truth).iter_rows())  # (table_code, contest_id)
    # the coverage rows read once, the tables split by state once (a query or a filter for
    # each of the hundred units cost seconds)
    coverage = published(
        settings, "select contest_id, level, unit_code, expected, counted from coverage"
    )
    rows = {(c, level, unit): (e, n) for c, level, unit, e, n in coverage.iter_rows()}
    checked = 0
    for cid, contest in truth["contests"].items():
        mine = ballots.filter(contest_id=cid)
        units = [("national", "national", mine)]
        level = contest["district"]
        if level == "district":
            (code,) = mine["district_code"].unique().to_list()
            units.append(("district", code, mine))
        for (state,), tables in mine.partition_by("state_code", as_dict=True).items():
            units.append(("state", state, tables))
        for lvl, code, tables in units:
            counted = sum((table, cid) in delivered for table in tables["table_code"])
            assert rows[(cid, lvl, code)] == (tables.height, counted), (cid, lvl, code)
            checked += 1
    assert checked > 50
    # a legislative contest lists only the units of its district
    ld = [c for c, v in truth["contests"].items() if v["district"] == "district"]
    states = published(
        settings,
        "select count(*) from coverage where contest_id = ? and level = 'state' and expected > 0",
        [ld[0]],
    ).item()
    assert states == ballots.filter(contest_id=ld[0])["state_code"].n_unique()


def test_contest_status_bounds_what_is_left_by_the_registry_and_decides_by_it(general):
    settings, truth, election = general
    ballots = _ballots(election)
    delivered = _delivered(election, truth)
    status = published(
        settings,
        "select contest_id, level, unit_code, margin, last_winner_votes, other_votes, "
        "outstanding_ballots, vote_for, decided from contest_status",
    )
    decided_by_bound = undecided = 0
    for row in status.iter_rows(named=True):
        level, code = row["level"], row["unit_code"]
        tables = ballots.filter(contest_id=row["contest_id"])
        if level != "national":
            column = "district_code" if level == "district" else f"{level}_code"
            tables = tables.filter(pl.col(column) == code)
        left = tables.join(
            delivered.filter(contest_id=row["contest_id"]), on="table_code", how="anti"
        )["registered"].sum()
        assert row["outstanding_ballots"] == left, row
        gain = row["vote_for"] * left  # one line of a vote-for-N tally: up to N × registered
        should = row["margin"] > gain and row["last_winner_votes"] - row["other_votes"] > gain
        assert row["decided"] is should, row
        decided_by_bound += should and left > 0
        undecided += not should
    assert decided_by_bound > 0 and undecided > 0


def test_turnout_of_the_vote_for_2_contest_counts_ballots(general):
    settings, truth, _ = general
    two = next(c for c, v in truth["contests"].items() if v["vote_for"] == 2)
    rows = published(
        settings,
        "select contest_id, total_votes, turnout from turnout where level = 'national' "
        "and contest_id in (?, 'president') order by contest_id",
        [two],
    )
    (president, pres_turnout), (senator, senator_turnout) = [(r[1], r[2]) for r in rows.iter_rows()]
    # every table votes in both, with the same ballots: the same ballots counted
    assert senator == president
    assert senator_turnout == pres_turnout < 1
