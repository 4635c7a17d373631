"""Ballot positions per contest and district: a contest elected per state with other candidates
in each state stages, at a unit, only the lines of its own state's ballot; the quarantine names
a cell's candidate through the unit's district; and a source above the polling units is
reconciled candidate by candidate, whatever slot each district gave a candidate. Pure."""

from pathlib import Path

import polars as pl

from tests.test_wide_contests import _staged
from transforms.contests import slot_view
from transforms.model import Candidate, Election, Source
from transforms.reconciliation import compare, reconcile, reconciliation_lines
from warehouse.configs import load_election, shipped_elections

WIDE = shipped_elections() / "wide_general" / "sample" / "stations_1.csv"


def _governor(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    config = load_election("wide_general")
    tallies, votes = _staged(path, config.contracts[0], config.election)
    return tallies.filter(contest_id="governor"), votes.filter(contest_id="governor")


def test_a_unit_stages_only_the_lines_of_its_own_district():
    _, votes = _governor(WIDE)
    by_state = (
        votes.group_by("tally_code")
        .agg(pl.col("candidate_id").sort(), pl.col("votes").null_count().alias("empty"))
        .sort("tally_code")
    )
    # stations 1-2 vote in S1 (XAVIER, YOLANDA), 3-5 in S2 (WALTER, ZOE): no line of the
    # other state's candidates, which a position per contest gave every unit (null)
    lines = {code: tuple(ids) for code, ids, _ in by_state.iter_rows()}
    s1, s2 = ("XAVIER", "YOLANDA"), ("WALTER", "ZOE")
    assert lines == {"1": s1, "2": s1, "3": s2, "4": s2, "5": s2}
    assert by_state["empty"].sum() == 0


def test_an_empty_cell_is_named_by_the_candidate_of_its_district(tmp_path):
    """Station 3 (S2) lacks ZOE's cell: ZOE is the second line of S2's ballot, while the
    contest's second line over both states is XAVIER; the evidence names ZOE."""
    rows = WIDE.read_text().splitlines()
    header = rows[0].split(",")
    cells = rows[3].split(",")
    assert cells[1] == "3"
    cells[header.index("GOV_ZOE")] = ""
    path = tmp_path / "stations_1.csv"
    path.write_text("\n".join([*rows[:3], ",".join(cells), *rows[4:]]) + "\n")
    tallies, votes = _governor(path)
    notes = dict(tallies.select("tally_code", "missing_or_unparsable").iter_rows())
    assert notes["3"] == "ZOE=''"
    assert [notes[c] for c in ("1", "2", "4", "5")] == [None] * 4
    zoe = votes.filter(tally_code="3", candidate_id="ZOE")["votes"].to_list()
    assert zoe == [None]


def test_a_ward_source_is_reconciled_candidate_by_candidate_across_districts():
    """Two precincts of ward w1 in two districts of one contest: ANA and CARLA hold the first
    slot of their districts' ballots. The ward's sheet says DORA 2 where the precincts give 1;
    every other candidate agrees (summing by slot would have added ANA and CARLA)."""
    base = Election(
        "e",
        "E",
        ("ward", "precinct"),
        (Candidate("p001", "p001"),),  # slot_view gives it a candidate per line
        sources=(Source("precincts", "official"), Source("wards", "official", level="ward")),
    )
    election = slot_view(base, 4)
    lines = pl.DataFrame(
        {
            "contest_id": ["council"] * 4,
            "line": ["p001", "p002", "p003", "p004"],
            "candidate_id": ["ANA", "BETO", "CARLA", "DORA"],
            "candidate_name": ["Ana", "Beto", "Carla", "Dora"],
        }
    )
    tallies = pl.DataFrame(
        {
            "tally_id": [1, 2, 3],
            "source_id": ["precincts", "precincts", "wards"],
            "contest_id": ["council"] * 3,
            "tally_code": ["p1", "p2", "w1"],
            "ward_code": ["w1", "w1", "w1"],
            "precinct_code": ["p1", "p2", None],
        }
    )
    votes = pl.DataFrame(
        {
            "tally_id": [1, 1, 2, 2, 3, 3, 3, 3],
            "candidate_id": ["ANA", "BETO", "CARLA", "DORA", "ANA", "BETO", "CARLA", "DORA"],
            "votes": [5, 3, 7, 1, 5, 3, 7, 2],
        }
    )
    compared = compare(tallies, votes, election, lines)
    found = reconciliation_lines(compared, election, lines)
    assert found.select("unit_code", "candidate_id", "line", "votes_a", "votes_b").rows() == [
        ("w1", "ANA", "p001", 5, 5),
        ("w1", "BETO", "p002", 3, 3),
        ("w1", "CARLA", "p003", 7, 7),
        ("w1", "DORA", "p004", 1, 2),
    ]
    (unit,) = reconcile(compared, election, lines).iter_rows(named=True)
    assert (unit["status"], unit["differing_candidates"], unit["delta_p004"]) == ("differ", 1, 1)
