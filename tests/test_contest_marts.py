"""Projection, forensics and announced totals of a general election, contest by contest: the
pure pieces (transforms/projection/contests.py, transforms/forensics/contests.py, the announced
bulletins' contest in transforms/verification.py and transforms/contract_models.py)."""

import re

import numpy as np
import polars as pl
import pytest

from transforms.contract_models import ContractError, parse_announced
from transforms.forensics.contests import contest_forensics
from transforms.model import Candidate, Contest, Election
from transforms.projection.contests import project_contests
from transforms.verification import announced_vs_tallied

LEVELS = ("state", "table")
GENERAL = Election(
    id="gen",
    name="General",
    levels=LEVELS,
    candidates=(),
    contests=(
        Contest("mayor", "Mayor", district="state"),
        Contest("chief", "Chief", candidates=(Candidate("A", "Ana"), Candidate("B", "Beto"))),
    ),
    district_levels=(("ward", "Ward"),),
)
LINES = pl.DataFrame(
    {
        "contest_id": ["chief", "chief", "mayor", "mayor", "mayor", "mayor", "council"],
        "candidate_id": ["A", "B", "Xa", "Ya", "Xb", "Yb", "Q"],
        "candidate_name": ["Ana", "Beto", "Xa", "Ya", "Xb", "Yb", "Q"],
    }
)


def _tallies(contest: str, level: str | None, states: list[str], district=None) -> pl.DataFrame:
    """One tally per table of these states (state s holds tables s.1 … s.n)."""
    codes = [f"{s}.{i}" for s in states for i in range(10)]
    rng = np.random.default_rng(len(contest))
    return pl.DataFrame(
        {
            "source_id": "s",
            "contest_id": contest,
            "contest_district_level": level,
            "contest_district": district
            if level not in LEVELS
            else [c.split(".")[0] for c in codes],
            "tally_code": codes,
            "state_code": [c.split(".")[0] for c in codes],
            "table_code": codes,
            "registered": rng.integers(300, 400, len(codes)),
            "valid_votes": 0,
            "null_votes": 0,
            "blank_votes": 0,
            "total_votes": None,
            "vote_for": 1,
        },
        schema_overrides={
            "contest_district_level": pl.String,
            "contest_district": pl.String,
            "total_votes": pl.Int64,
        },
    )


def _election_night() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """chief on every ballot, a mayor per state (X and Y in each), a council ward of its own;
    every tally's votes drawn, valid = their sum."""
    frames = [
        _tallies("chief", None, ["01", "02", "03"]),
        _tallies("mayor", "state", ["01", "02"]),
        _tallies("council", "ward", ["03"], district="w1"),
    ]
    tallies = pl.concat(frames).with_row_index("tally_id").with_columns(pl.col("tally_id"))
    rng = np.random.default_rng(5)
    rows = []
    for t in tallies.iter_rows(named=True):
        names = {
            "chief": ["A", "B"],
            "mayor": ["Xa", "Ya"] if t["state_code"] == "01" else ["Xb", "Yb"],
            "council": ["Q"],
        }[t["contest_id"]]
        for name in names:
            rows.append((t["tally_id"], name, int(rng.integers(20, 150))))
    votes = pl.DataFrame(
        rows,
        schema={"tally_id": pl.UInt32, "candidate_id": pl.String, "votes": pl.Int64},
        orient="row",
    )
    valid = votes.group_by("tally_id").agg(pl.col("votes").sum().alias("valid_votes"))
    tallies = tallies.drop("valid_votes").join(valid, on="tally_id")
    units = pl.DataFrame(
        {
            "level": ["national", "state", "state", "state"],
            "unit_code": ["national", "01", "02", "03"],
            "expected": [30, 10, 10, 10],
        }
    )
    return tallies, votes, units


def test_every_tally_in_the_projection_is_the_count_contest_by_contest_and_district_by_district():
    tallies, votes, units = _election_night()
    mart = project_contests(tallies, votes, LINES, GENERAL, None, units)
    counted = votes.join(tallies.select("tally_id", "contest_id"), on="tally_id")
    truth = counted.group_by("contest_id", "candidate_id").agg(pl.col("votes").sum())
    got = mart.select("contest_id", "candidate_id", "counted_votes")
    assert got.sort(pl.all()).rows() == truth.sort(pl.all()).rows()
    known = mart.filter(pl.col("contest_id") != "council")
    assert (known["projected_votes"] == known["counted_votes"]).all()
    assert (known["tallies_counted"] == known["tallies_expected"]).all()
    mayor = mart.filter(contest_id="mayor")
    assert mayor["tallies_expected"].to_list() == [10] * 4  # a state's own tables
    assert mayor["method"].str.ends_with("within state 01").sum() == 2
    assert mayor.filter(unit_code="01")["level"].to_list() == ["state", "state"]
    assert set(mart.filter(contest_id="chief")["unit_code"]) == {"national"}
    in_01 = mayor.filter(pl.col("candidate_id").is_in(["Xa", "Ya"]))
    assert in_01["projected_share"].sum() == pytest.approx(1.0)  # of the district's valid votes
    # a ward of its own the registry does not code: no expected number, nothing projected
    council = mart.filter(contest_id="council").row(0, named=True)
    assert council["projected_votes"] is None and council["tallies_expected"] is None


def test_a_missing_share_is_projected_within_the_contest_and_its_district():
    tallies, votes, units = _election_night()
    kept = tallies.filter(~pl.col("tally_code").str.ends_with(".9"))  # a table per state gone
    mart = project_contests(kept, votes, LINES, GENERAL, None, units)
    chief = mart.filter(contest_id="chief")
    assert chief["tallies_counted"].to_list() == [27, 27]
    assert chief["tallies_expected"].to_list() == [30, 30]
    full = votes.join(tallies.filter(contest_id="chief").select("tally_id"), on="tally_id")
    final = dict(full.group_by("candidate_id").agg(pl.col("votes").sum()).iter_rows())
    for row in chief.iter_rows(named=True):
        assert row["counted_votes"] < row["projected_votes"] < row["worst_case_max"]
        assert row["projected_votes"] == pytest.approx(final[row["candidate_id"]], rel=0.1)
    mayor = mart.filter(contest_id="mayor")
    assert mayor["tallies_counted"].to_list() == [9] * 4
    assert mayor["tallies_expected"].to_list() == [10] * 4


def test_forensics_screen_each_contest_with_enough_tallies_and_skip_the_others():
    tallies, votes, _ = _election_night()
    few = tallies.filter((pl.col("contest_id") != "mayor") | (pl.col("state_code") == "01"))
    mart = contest_forensics(few, votes, LINES, GENERAL)  # mayor: 10 tallies, council: 10
    assert set(mart["contest_id"]) == {"chief"}
    assert set(mart.filter(pl.col("candidate_id").is_not_null())["candidate_id"]) == {"A", "B"}
    national = mart.filter(check_id="F3", level="national")
    assert national["n"].to_list() == [30]
    assert contest_forensics(few, votes, LINES, GENERAL, minimum=10)["contest_id"].n_unique() == 3
    assert contest_forensics(few.clear(), votes, LINES, GENERAL).is_empty()


def _national(contest: str, votes: dict, expected: int, counted: int, marks: int):
    results = pl.DataFrame(
        {
            "source_id": "s",
            "contest_id": contest,
            "candidate_id": list(votes),
            "candidate_name": list(votes),
            "votes": list(votes.values()),
        }
    )
    coverage = pl.DataFrame(
        {"source_id": ["s"], "contest_id": [contest], "expected": [expected], "counted": [counted]}
    )
    ballots = pl.DataFrame({"source_id": ["s"], "contest_id": [contest], "total_votes": [marks]})
    return results, coverage, ballots


def test_a_bulletin_is_set_against_its_own_contest_and_bound_by_ballots_of_vote_for_n():
    chief = _national("chief", {"A": 300, "B": 200}, 10, 5, 500)
    # vote for 2: 5 counted tallies cast 250 ballots (500 marks), 5 uncounted hold ~250 more
    senate = _national("senate", {"P": 240, "Q": 230, "R": 30}, 10, 5, 500)
    frames = [pl.concat([a, b]) for a, b in zip(chief, senate, strict=True)]
    announced = {
        "bulletin": [
            {"id": "c", "contest": "chief", "votes": {"A": 300, "B": 200}},
            {"id": "s", "contest": "senate", "votes": {"P": 480, "Q": 460}},
            {"id": "s2", "contest": "senate", "votes": {"P": 500}},
        ]
    }
    out = announced_vs_tallied(announced, *frames, GENERAL, None, {"senate": 2})
    assert out["contest_id"].to_list() == ["chief", "chief", "senate", "senate", "senate"]
    assert out.filter(contest_id="chief")["difference"].to_list() == [0, 0]
    senate = out.filter(pl.col("contest_id") == "senate")
    assert senate["uncounted_capacity"].to_list() == [250] * 3  # ballots, not marks
    # 240 and 230 more: each within 250 ballots; together 470, within what 250 ballots give
    # two candidates at once (2 × 250), not one
    assert senate.filter(bulletin_id="s")["possible"].to_list() == [True, True]
    assert senate.filter(bulletin_id="s")["bulletin_possible"].to_list() == [True, True]
    assert senate.filter(bulletin_id="s2")["possible"].to_list() == [False]  # 260 > 250 ballots


def test_an_announced_bulletin_names_its_contest_in_a_general_election():
    good = {"bulletin": [{"id": "b", "contest": "chief", "votes": {"A": 1}}]}
    assert parse_announced(good, GENERAL) == good
    discovered = Election(id="d", name="D", levels=LEVELS, candidates=(), discovers_contests=True)
    free = {"bulletin": [{"id": "b", "contest": "mayor-x", "votes": {"Any Label": 1}}]}
    assert parse_announced(free, discovered) == free
    for bulletin, message in [
        ({"id": "b", "votes": {"A": 1}}, "bulletin[0].contest: required in a general election"),
        ({"id": "b", "contest": "nope", "votes": {"A": 1}}, "unknown contest 'nope'"),
        ({"id": "b", "contest": "chief", "votes": {"Z": 1}}, "unknown candidate(s) Z"),
    ]:
        with pytest.raises(ContractError, match=re.escape(message)):
            parse_announced({"bulletin": [bulletin]}, GENERAL)


def test_an_election_of_one_contest_keeps_its_announced_file_and_may_name_its_contest():
    one = Election(id="one", name="One", levels=LEVELS, candidates=(Candidate("A", "Ana"),))
    plain = {"bulletin": [{"id": "b", "votes": {"A": 1}}]}
    assert parse_announced(plain, one) == plain
    named = {"bulletin": [{"id": "b", "contest": "one", "votes": {"A": 1}}]}
    assert parse_announced(named, one) == named
    with pytest.raises(ContractError, match="not this election's contest"):
        parse_announced({"bulletin": [{"id": "b", "contest": "two", "votes": {"A": 1}}]}, one)
