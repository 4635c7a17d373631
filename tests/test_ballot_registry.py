"""A registry that lists the contests on each unit's ballot (transforms/ballots.py): the ballot
half of rule E6, expected tallies per contest, and the registry's bound on the ballots still to
come in contest_status. Hand-made frames; tests/test_ballot_registry_e2e.py runs a generated
election through the job."""

import polars as pl
import pytest

from expectations.evidence import build_evidence
from expectations.rules import RULES, applicable, for_policy
from expectations.suites import validate
from tests.test_contest_status import contests, coverage, results, turnout
from transforms.ballots import (
    OFF_BALLOT,
    ballot_pairs,
    expected_in_districts,
    expected_per_unit,
    off_ballot,
    own_districts,
)
from transforms.contest_status import contest_status, uncounted_registered
from transforms.model import Contest, Election

ELECTION = Election(
    id="gen",
    name="General",
    levels=("ward", "precinct"),
    candidates=(),
    contests=(Contest("president", "President of the Republic", aliases=("PRESIDENT",)),),
    discovers_contests=True,
    district_levels=(("smd", "Single-member district"),),
)


def registry(*rows) -> pl.DataFrame:
    """rows: (ward, precinct, registered, contests) as a registry file gives them (text)."""
    return pl.DataFrame(
        [(w, f"Ward {w}", p, f"Precinct {p}", r, c) for w, p, r, c in rows],
        schema={
            "ward_code": pl.String,
            "ward_name": pl.String,
            "precinct_code": pl.String,
            "precinct_name": pl.String,
            "registered": pl.String,
            "contests": pl.String,
        },
        orient="row",
    )


REGISTRY = registry(
    ("1", "P1", "100", "PRESIDENT; SMD 1A"),
    ("1", "P2", "120", "President of the Republic;smd-1a ;Ward 1 Member"),
    ("2", "P3", "50", "president;SMD 2A"),
    ("2", "P4", "80", ""),
)


def test_a_registry_without_the_column_lists_no_ballots():
    assert ballot_pairs(REGISTRY.drop("contests"), ELECTION) is None
    assert ballot_pairs(None, ELECTION) is None


def test_labels_name_declared_contests_by_slug_and_others_by_their_own_slug():
    pairs = ballot_pairs(REGISTRY, ELECTION)
    found = {(r["tally_code"], r["contest_id"]) for r in pairs.iter_rows(named=True)}
    assert found == {
        ("P1", "president"),  # by alias
        ("P1", "smd-1a"),  # a discovered contest's id: the slug of its label
        ("P2", "president"),  # by name
        ("P2", "smd-1a"),  # spelt otherwise, the same slug
        ("P2", "ward-1-member"),
        ("P3", "president"),  # by id
        ("P3", "smd-2a"),
    }  # P4's empty cell: no contest on its ballot
    assert pairs.filter(tally_code="P2")["registered"].unique().to_list() == [120]
    assert pairs.filter(tally_code="P3")["ward_code"].unique().to_list() == ["2"]


def test_off_ballot_names_only_a_contest_missing_from_a_listed_units_ballot():
    tallies = pl.DataFrame(
        {
            "tally_id": [1, 2, 3, 4, 5, 6],
            "tally_code": ["P1", "P1", "P3", "P4", "P9", None],
            "contest_id": ["smd-1a", "smd-2a", "president", "president", "smd-2a", "smd-2a"],
        }
    )
    found = off_ballot(tallies, REGISTRY, ELECTION)
    flagged = dict(found.filter(pl.col(OFF_BALLOT).is_not_null()).iter_rows())
    # P9 is unknown to the registry (E6's other half), a tally without a code is E8's
    assert flagged == {
        2: "smd-2a not on the unit's ballot: president; smd-1a",
        4: "president not on the unit's ballot: (none)",
    }


def _tallies(rows) -> pl.DataFrame:
    """rows: (tally_id, ward, precinct, contest_id, vote_for, registered, valid, null, blank,
    total): staged tallies with what the evidence reads."""
    frame = pl.DataFrame(
        rows,
        schema={
            "tally_id": pl.Int64,
            "ward_code": pl.String,
            "precinct_code": pl.String,
            "contest_id": pl.String,
            "vote_for": pl.Int64,
            "registered": pl.Int64,
            "valid_votes": pl.Int64,
            "null_votes": pl.Int64,
            "blank_votes": pl.Int64,
            "total_votes": pl.Int64,
        },
        orient="row",
    )
    return frame.with_columns(
        pl.lit("s").alias("source_id"),
        pl.col("precinct_code").alias("tally_code"),
        pl.col("valid_votes").alias("candidate_sum"),
        (pl.col("valid_votes") // 2).alias("top_candidate_votes"),
        pl.lit(None, pl.Int64).alias("previous_total_votes"),
    )


def _failing(tallies: pl.DataFrame, rule_ids, lists_ballots=True, registry_frame=REGISTRY):
    evidence = build_evidence(tallies, ELECTION, registry_frame)
    rules = applicable(for_policy(RULES, ELECTION.quality), True, lists_ballots)
    chosen = tuple(r for r in rules if r.id in rule_ids)
    failures = validate(evidence, chosen, "t")
    return {rule: sorted(failures.ids(rule).to_list()) for rule in rule_ids}


def test_e6_breaks_exactly_on_the_tally_of_a_contest_not_on_the_units_ballot():
    tallies = _tallies(
        [
            (1, "1", "P1", "president", 1, 100, 60, 1, 1, None),
            (2, "1", "P1", "smd-1a", 1, 100, 50, 0, 12, None),
            (3, "1", "P1", "smd-2a", 1, 100, 40, 0, 0, None),  # P3's district, not P1's
            (4, "1", "P2", "ward-1-member", 1, 120, 70, 0, 0, None),
            (5, "2", "P3", "smd-2a", 1, 50, 30, 0, 0, None),
            (6, "2", "P4", "president", 1, 80, 30, 0, 0, None),  # P4 votes in no contest
        ]
    )
    assert _failing(tallies, ["E6"]) == {"E6": [3, 6]}
    e6 = next(r for r in applicable(RULES, True, True) if r.id == "E6")
    assert OFF_BALLOT in e6.observed and "ballot" in e6.description
    # a registry that lists no ballots judges none (and the catalogue's E6 is as it was)
    assert _failing(tallies, ["E6"], False, REGISTRY.drop("contests")) == {"E6": []}
    assert applicable(RULES, True) == RULES


def test_the_rules_judge_a_vote_for_2_contest_by_its_ballots():
    """A vote-for-2 contest's lines (under votes included) are 2 marks a ballot: E4 holds them
    to 2 × the declared ballots, E2 to 2 × the registered voters, W1 judges ballots."""
    tallies = _tallies(
        [
            # 100 ballots declared: 180 marks + 20 blank = 200 = 2 × 100
            (1, "1", "P1", "president", 2, 150, 180, 0, 20, 100),
            # 2 marks too many for 100 ballots
            (2, "1", "P2", "president", 2, 150, 182, 0, 20, 100),
            # no declared ballots: 200 marks are 100 ballots, within 100 registered
            (3, "2", "P3", "president", 2, 100, 200, 0, 0, None),
            # 202 marks are 101 ballots: more than the 100 registered
            (4, "2", "P4", "president", 2, 100, 202, 0, 0, None),
            # 190 marks are 95 ballots of 100 registered: 95 %, W1's threshold
            (5, "2", "P5", "president", 2, 100, 190, 0, 0, None),
        ]
    )
    assert _failing(tallies, ["E2", "E4", "W1"], False, None) == {
        "E2": [4],
        "E4": [2],
        "W1": [3, 5],
    }


def test_expected_tallies_per_contest_count_the_units_where_it_is_on_the_ballot():
    pairs = ballot_pairs(REGISTRY, ELECTION)
    received = pl.DataFrame(
        {
            "contest_id": ["smd-1a", "smd-1a", "smd-2a", "president"],
            "contest_district_level": ["smd", "smd", "smd", None],
            "contest_district": ["1A", "1A", "2A", None],
        }
    )
    districts = own_districts(received, pairs, ELECTION)
    expected = expected_per_unit(pairs, districts, ELECTION)
    got = {(r[0], r[1], r[2]): r[3] for r in expected.iter_rows()}
    assert got == {
        ("president", "ward", "1"): 2,
        ("president", "ward", "2"): 1,  # P4 does not vote for president
        ("president", "precinct", "P1"): 1,
        ("president", "precinct", "P2"): 1,
        ("president", "precinct", "P3"): 1,
        ("president", "national", "national"): 3,
        ("smd-1a", "ward", "1"): 2,
        ("smd-1a", "precinct", "P1"): 1,
        ("smd-1a", "precinct", "P2"): 1,
        ("smd-1a", "national", "national"): 2,
        ("smd-1a", "smd", "1A"): 2,
        ("smd-2a", "ward", "2"): 1,
        ("smd-2a", "precinct", "P3"): 1,
        ("smd-2a", "national", "national"): 1,
        ("smd-2a", "smd", "2A"): 1,
        ("ward-1-member", "ward", "1"): 1,
        ("ward-1-member", "precinct", "P2"): 1,
        ("ward-1-member", "national", "national"): 1,
    }


def test_a_contest_in_several_districts_of_its_own_needs_the_registry_to_place_its_units():
    """`assembly` is one contest elected in two districts of its own level: which district a
    unit is in comes only from the registry's `smd_code`; without it, no district row."""
    listing = registry(
        ("1", "P1", "100", "assembly"),
        ("1", "P2", "120", "assembly"),
        ("2", "P3", "50", "assembly"),
    )
    received = pl.DataFrame(
        {
            "contest_id": ["assembly", "assembly"],
            "contest_district_level": ["smd", "smd"],
            "contest_district": ["1A", "2A"],
        }
    )
    assert own_districts(received, ballot_pairs(listing, ELECTION), ELECTION).is_empty()
    placed = listing.with_columns(pl.Series("smd_code", ["1A", "1A", "2A"]))
    found = own_districts(received, ballot_pairs(placed, ELECTION), ELECTION)
    assert sorted(found.select("tally_code", "unit_code", "registered").iter_rows()) == [
        ("P1", "1A", 100),
        ("P2", "1A", 120),
        ("P3", "2A", 50),
    ]
    expected = expected_per_unit(ballot_pairs(placed, ELECTION), found, ELECTION)
    assert sorted(expected.filter(level="smd").select("unit_code", "expected").iter_rows()) == [
        ("1A", 2),
        ("2A", 1),
    ]


# --- contest_status with the registry's bound -----------------------------------------------

SMD = contests(("smd-1a", 1, 1, "smd"), ("president", 1, 1, None))
BIG = registry(
    ("1", "P1", "100", "president;smd-1a"),
    ("1", "P2", "120", "president;smd-1a"),
    ("2", "P3", "500", "president"),  # votes for president, not in SMD 1A
)


def _status_with_registry(votes: dict, counted_precincts: list[str]) -> dict:
    """smd-1a's status in district 1A with P1 counted (votes), from the registry's bound."""
    pairs = ballot_pairs(BIG, ELECTION)
    received = pl.DataFrame(
        {
            "contest_id": ["smd-1a"],
            "contest_district_level": ["smd"],
            "contest_district": ["1A"],
        }
    )
    expected = expected_in_districts(
        pairs,
        SMD.select("contest_id", "district_level"),
        own_districts(received, pairs, ELECTION),
        ELECTION,
    )
    counted = pl.DataFrame(
        {
            "source_id": "s",
            "contest_id": "smd-1a",
            "tally_code": counted_precincts,
        }
    )
    bound = uncounted_registered(expected, counted, ["s"])
    where = ("s", "smd-1a", "smd", "1A")
    out = contest_status(
        results(*[(*where, c, v) for c, v in votes.items()]),
        coverage((*where, 2, len(counted_precincts))),
        turnout((*where, sum(votes.values()))),
        SMD,
        bound,
    )
    return out.filter(contest_id="smd-1a").to_dicts()[0]


def test_the_registry_bound_counts_only_the_units_where_the_contest_is_on_the_ballot():
    # P2's 120 registered voters are all that is left of SMD 1A; P3's 500 vote elsewhere
    row = _status_with_registry({"a": 90, "b": 9}, ["P1"])
    assert (row["margin"], row["outstanding_ballots"]) == (81, 120)
    assert (row["decided"], row["status"]) == (False, "leading")
    row = _status_with_registry({"a": 95, "b": 0, "c": 0}, ["P1"])
    assert row["outstanding_ballots"] == 120 and not row["decided"]
    row = _status_with_registry({"a": 99, "b": 0, "_other": 0}, ["P1"])
    assert not row["decided"]  # 99 ≤ 120


@pytest.mark.parametrize("a, b, decided", [(130, 9, True), (129, 9, False), (130, 10, False)])
def test_a_margin_beyond_the_registered_voters_still_to_report_decides(a, b, decided):
    row = _status_with_registry({"a": a, "b": b}, ["P1"])
    assert row["outstanding_ballots"] == 120
    assert row["outstanding_basis"] == "registered voters of uncounted units"
    assert row["decided"] is decided


def test_with_every_ballot_unit_counted_the_contest_is_decided_by_any_lead():
    row = _status_with_registry({"a": 3, "b": 2}, ["P1", "P2"])
    assert (row["outstanding_ballots"], row["decided"]) == (0, True)


# --- the generator ----------------------------------------------------------------------------


def test_the_generated_registry_lists_exactly_the_contests_each_table_reports():
    from transforms.synthetic.general import contest_id, generate_general

    general = generate_general(300, contests=6, seed=5, drops=2, list_ballots=True)
    listed = {
        (t, c)
        for t, cs in general.registry.select("table_code", "contests").iter_rows()
        for c in cs.split(";")
    }
    feed = pl.concat(general.drops).select(
        pl.col("table_code", "office", "district").cast(pl.String)
    )
    reported = {(t, contest_id(o, d)) for t, o, d in feed.unique().iter_rows()}
    assert listed == reported
    assert "contests" not in generate_general(300, contests=6, seed=5, drops=2).registry.columns


def test_off_ballot_tallies_are_added_apart_from_the_truth():
    from transforms.synthetic.general import generate_general

    plain = generate_general(300, contests=6, seed=5, drops=2, list_ballots=True)
    faulty = generate_general(300, contests=6, seed=5, drops=2, list_ballots=True, off_ballot=2)
    assert faulty.truth["contests"] == plain.truth["contests"]
    listed = dict(faulty.registry.select("table_code", "contests").iter_rows())
    for fault in faulty.truth["off_ballot"]:
        assert fault["contest_id"] not in listed[fault["table_code"]].split(";")
    added = sum(d.height for d in faulty.drops) - sum(d.height for d in plain.drops)
    assert added > 0
    with pytest.raises(ValueError, match="two legislative districts"):
        generate_general(300, contests=3, seed=5, drops=2, off_ballot=1)
