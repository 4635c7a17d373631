"""The real DC 2016 general election (../shared/data/us_dc2016): 308 contests, districts that do
not nest, a vote-for-2 contest, write-ins, over and under votes, bare-CR line ends."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import published, run

SHARED_DC = Path(__file__).resolve().parents[2] / "shared" / "data" / "us_dc2016"
PRECINCT = "20161108__dc__general__precinct.csv"
WARD, CITY = "20161108__dc__general__ward.csv", "20161108__dc__general__district.csv"

pytestmark = [
    pytest.mark.e2e,  # every test here runs the job
    pytest.mark.skipif(
        not (SHARED_DC / PRECINCT).is_file(),
        reason=f"the real DC 2016 feeds are not at {SHARED_DC} (a fresh clone has no ../shared): "
        "these tests need them",
    ),
]

# ../shared/data/us_dc2016/README.md: the figures a correct pipeline reproduces
FIGURES = {
    "president": {
        "Hillary Clinton - Tim Kaine": 282_830,
        "Donald J. Trump - Michael R. Pence": 12_723,
        "Gary Johnson - Bill Weld": 4_906,
        "Jill Stein - Ajamu Baraka": 4_258,
        "_other": 6_551,
    },
    "delegate": {
        "Eleanor Holmes Norton": 265_178,
        "Martin Moulton": 18_713,
        "Natale (Lino) Stracuzzi": 14_336,
        "_other": 2_679,
    },
    "council-at-large": {
        "Robert White": 233_983,
        "David Grosso": 108_745,
        "G. Lee Aikin": 29_165,
        "Carolina Celnik": 28_823,
        "John C. Cheeks": 24_714,
        "Matthew Klokel": 14_178,
        "_other": 3_536,
    },
}
OVER_UNDER = {
    "president": (243, 1_064),
    "delegate": (171, 11_498),
    "council-at-large": (162, 178_827),
}


@pytest.fixture(scope="module")
def dc(tmp_path_factory):
    from orchestration.settings import Settings, prepare_data_dir

    tmp = tmp_path_factory.mktemp("dc")
    landing = tmp / "landing"
    landing.mkdir()
    # the ward and city-wide files too: sources above the precincts, reconciled, never counted
    # (every figure below is the precinct file's alone)
    for name in (PRECINCT, WARD, CITY):
        shutil.copyfile(SHARED_DC / name, landing / name)  # landing refuses symlinks
    settings = replace(Settings(tmp / "data"), election="us_dc2016", landing_dir=landing)
    prepare_data_dir(settings)
    assert run(settings).success
    return settings


def test_every_contest_precinct_and_ward_is_counted(dc):
    counts = published(
        dc,
        "select count(distinct contest_id) contests, "
        "count(distinct unit_code) filter (where level = 'precinct') precincts, "
        "count(distinct unit_code) filter (where level = 'ward') wards from results",
    ).row(0)
    assert counts == (308, 143, 8)
    quarantined = published(dc, "select count(*) from quality_issues where severity = 'error'")
    assert quarantined.item() == 0


@pytest.mark.parametrize("contest", sorted(FIGURES))
def test_the_city_wide_figures_are_reproduced_exactly(dc, contest):
    rows = published(
        dc,
        "select candidate_id, votes from results where level = 'national' and contest_id = ?",
        [contest],
    )
    assert dict(rows.iter_rows()) == FIGURES[contest]
    over, under = OVER_UNDER[contest]
    turnout = published(
        dc,
        "select null_votes, blank_votes from turnout where level = 'national' and contest_id = ?",
        [contest],
    ).row(0)
    assert turnout == (over, under)


def test_the_vote_for_2_contest_ranks_its_two_winners(dc):
    top = published(
        dc,
        "select candidate_id from results where level = 'national' "
        "and contest_id = 'council-at-large' and rank <= 2 order by rank",
    )
    assert top["candidate_id"].to_list() == ["Robert White", "David Grosso"]


def test_a_district_that_does_not_nest_rolls_up_from_its_precincts(dc):
    """An ANC single-member district spans precincts (and wards): its row equals the sum of
    its precinct rows, and 296 such districts are published at their own level."""
    districts = published(dc, "select count(distinct contest_id) from results where level = 'smd'")
    assert districts.item() == 296
    check = published(
        dc,
        "with p as (select contest_id, candidate_id, sum(votes) v from results "
        "where level = 'precinct' group by all), "
        "d as (select contest_id, candidate_id, votes from results where level = 'smd') "
        "select count(*) filter (where p.v <> d.votes), count(*) from d join p using "
        "(contest_id, candidate_id)",
    ).row(0)
    assert check[0] == 0 and check[1] > 296
    spanning = published(
        dc,
        "select count(*) from (select contest_id from results where level = 'precinct' "
        "and contest_id like 'anc-%' group by contest_id "
        "having count(distinct unit_code) > 1)",
    )
    assert spanning.item() == 179


def test_contest_status_decides_by_arithmetic_only(dc):
    """Every precinct is counted (143 expected): the city-wide contests are decided, with the
    vote-for-2 council's two winners; an ANC district, whose expected precincts no registry
    lists, is only leading."""
    rows = published(
        dc,
        "select contest_id, leaders, decided, status from contest_status "
        "where contest_id in ('president', 'council-at-large', 'delegate') order by 1",
    )
    assert rows.rows() == [
        ("council-at-large", ["Robert White", "David Grosso"], True, "decided"),
        ("delegate", ["Eleanor Holmes Norton"], True, "decided"),
        ("president", ["Hillary Clinton - Tim Kaine"], True, "decided"),
    ]
    smd = published(
        dc,
        "select count(*), count(*) filter (where decided) from contest_status where level = 'smd'",
    ).row(0)
    assert smd == (296, 0)


def test_results_of_one_contest_per_ward_equal_the_ward_file(dc):
    """`tallyhouse results --contest` reads one contest: ward 1's at-large council, as the
    DC ward file gives it (precinct rows summed by ward, README: 262 of 262 rows)."""
    from warehouse.read_marts import group_units, open_published, unit_results

    with open_published(dc.published) as con:
        found = unit_results(con, "ward", unit="1", contest="council-at-large")
    (unit,) = group_units(found)
    assert {r["candidate_name"]: r["votes"] for r in unit} == {
        "Robert White": 30_813,
        "David Grosso": 17_230,
        "G. Lee Aikin": 4_617,
        "Carolina Celnik": 3_052,
        "John C. Cheeks": 2_483,
        "Matthew Klokel": 1_849,
        "Other candidates (not declared)": 411,
    }
    # turnout joined on the contest too: ballots, the ward's 80,704 marks (lines, over and
    # under votes included) of a vote-for-2 contest over 2
    assert {r["total_votes"] for r in unit} == {80_704 // 2}


def _lines_per_status(dc, pair: str) -> dict[str, int]:
    rows = published(
        dc,
        f"select status, count(*) from reconciliation_lines where {pair} group by 1",
    )
    return dict(rows.iter_rows())


def test_the_precinct_file_rolled_up_to_the_wards_equals_the_ward_file(dc):
    """README: the precinct rows summed by ward equal every row of the ward file (262 of 262),
    candidates, write-ins, over and under votes alike; per contest, all 40 (contest, ward)
    units agree."""
    pair = "source_a = 'precinct' and source_b = 'ward'"
    assert _lines_per_status(dc, pair) == {"agree": 262}
    levels = published(dc, f"select distinct level from reconciliation where {pair}")
    assert levels["level"].to_list() == ["ward"]
    summary = published(
        dc,
        "select sum(agree), sum(differ + only_in_a + only_in_b), count(distinct contest_id) "
        f"from reconciliation_summary where {pair} and level = 'national'",
    ).row(0)
    assert summary == (40, 0, 12)


def test_the_precinct_file_over_the_city_equals_the_city_wide_file(dc):
    """README: 66 of 66 rows of the city-wide file, once `AT-LARGE` and `AT - LARGE` are one
    contest (its aliases): the at-large council is compared, not left in one source only."""
    for other in ("precinct", "ward"):
        pair = f"source_a = 'city' and source_b = '{other}'"
        assert _lines_per_status(dc, pair) == {"agree": 66}
    council = published(
        dc,
        "select candidate_id, votes_a from reconciliation_lines where source_a = 'city' "
        "and source_b = 'precinct' and contest_id = 'council-at-large' and candidate_id = ?",
        ["Robert White"],
    )
    assert council.rows() == [("Robert White", FIGURES["council-at-large"]["Robert White"])]


def test_the_ward_and_city_files_are_not_units_of_the_results(dc):
    """Their tallies are staged (marked by their source's level) but only reconciled: results,
    coverage and quality count the precinct file alone, and no registry-type rule fires."""
    sources = published(
        dc,
        "select distinct source_id from results union select distinct source_id from coverage "
        "union select distinct source_id from turnout union select distinct source_id "
        "from contest_status",
    )
    assert sources["source_id"].to_list() == ["precinct"]
    issues = published(dc, "select count(*) from quality_issues where source_id <> 'precinct'")
    assert issues.item() == 0


def test_check_lists_the_contests_it_discovers(tmp_path):
    """`tallyhouse check` on the DC precinct file: every label is a candidate of its contest
    (or an aliased count), the contests it discovers are listed, declared ones first."""
    from landing.dry_run import dry_run
    from warehouse.configs import load_election

    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copyfile(SHARED_DC / PRECINCT, landing / PRECINCT)  # landing refuses symlinks
    report = dry_run(load_election("us_dc2016"), landing)
    (check,) = report.files
    assert check.error is None and report.clean
    assert all(label.candidate_id is not None for label in check.labels)
    ids = [cid for cid, _, _ in check.contests]
    assert ids[:4] == ["council-at-large", "delegate", "president", "school-board-at-large"]
    assert ("smd" in {level for _, _, level in check.contests}) and len(ids) > 20


@pytest.mark.usefixtures("vega_bundle_once")
def test_the_report_lists_every_contest_and_the_president_in_full(dc, tmp_path):
    """The report of the DC run: the declared contests in full, the president first with its
    figures, and every one of the 308 contests either in full or in the searchable table."""
    import html
    import re

    from reporting.html.write import write_report
    from warehouse.configs import load_election

    declared = tuple(c.id for c in load_election("us_dc2016").election.contests)
    page = write_report(dc.published, tmp_path / "report.html", featured=declared).path
    text = page.read_text(encoding="utf-8")
    full = re.findall(r'<section id="(contest-\d+)"><h2>(.*?)</h2>', text)
    assert [html.unescape(title) for _, title in full] == [
        "Electors of President and Vice President",
        "Delegate to the U.S. House of Representatives",
        "At-large member of the Council (vote for 2)",
        "At-large member of the State Board of Education",
    ]
    president = text.split('<section id="contest-1">', 1)[1].split("</section>", 1)[0]
    for name, votes in FIGURES["president"].items():
        if name != "_other":
            assert f">{html.escape(name)}</td>" in president and f">{votes:,}<" in president
    table = text.split('<table id="contest-table">', 1)[1].split("</table>", 1)[0]
    ids = {
        html.unescape(cells[1])
        for cells in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
        for cells in [re.findall(r"<td[^>]*>(.*?)</td>", cells)]
    }
    assert len(ids) == 304 and not ids & set(declared)
    assert len(ids) + len(full) == 308
    assert "Every other contest (304)" in text
