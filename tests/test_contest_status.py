"""marts.contest_status from hand-built marts: leaders, margins, the outstanding-ballot bound and
`decided` (docs/contest-status.md), and the run summary's newly decided districts."""

import polars as pl
import pytest

from transforms.contest_status import (
    ALL_COUNTED,
    CONTEST_STATUS_SCHEMA,
    UNCOUNTED_REGISTERED,
    contest_status,
    newly_decided,
    uncounted_registered,
)

KEYS = ["source_id", "contest_id", "level", "unit_code"]


def contests(*rows) -> pl.DataFrame:
    """rows: (contest_id, seats, vote_for, district_level)."""
    return pl.DataFrame(
        [(c, c.upper(), s, v, d) for c, s, v, d in rows],
        schema={
            "contest_id": pl.String,
            "contest_name": pl.String,
            "seats": pl.Int64,
            "vote_for": pl.Int64,
            "district_level": pl.String,
        },
        orient="row",
    )


def results(*rows) -> pl.DataFrame:
    """rows: (source_id, contest_id, level, unit_code, candidate_id, votes), as the mart holds
    them: share of the unit's valid votes, rank among declared candidates, null for `_other`."""
    frame = pl.DataFrame(
        rows,
        schema={
            "source_id": pl.String,
            "contest_id": pl.String,
            "level": pl.String,
            "unit_code": pl.String,
            "candidate_id": pl.String,
            "votes": pl.Int64,
        },
        orient="row",
    )
    declared = pl.col("candidate_id") != "_other"
    return frame.select(
        *KEYS,
        pl.col("unit_code").str.to_uppercase().alias("unit_name"),
        pl.lit(None, pl.String).alias("parent_code"),
        "candidate_id",
        ("Name " + pl.col("candidate_id")).alias("candidate_name"),
        "votes",
        (pl.col("votes") / pl.col("votes").sum().over(KEYS)).alias("share"),
        pl.when(declared)
        .then(
            pl.when(declared)
            .then(pl.col("votes"))
            .rank("min", descending=True)
            .over(KEYS)
            .cast(pl.Int32)
        )
        .alias("rank"),
    )


def coverage(*rows) -> pl.DataFrame:
    """rows: (source_id, contest_id, level, unit_code, expected, counted)."""
    frame = pl.DataFrame(
        rows,
        schema={
            "source_id": pl.String,
            "contest_id": pl.String,
            "level": pl.String,
            "unit_code": pl.String,
            "expected": pl.Int64,
            "counted": pl.Int64,
        },
        orient="row",
    )
    return frame.select(
        *KEYS,
        pl.col("unit_code").str.to_uppercase().alias("unit_name"),
        "expected",
        pl.col("counted").alias("received"),
        "counted",
        (pl.col("counted") * 100.0 / pl.col("expected")).alias("percent_reporting"),
    )


def turnout(*rows) -> pl.DataFrame:
    """rows: (source_id, contest_id, level, unit_code, total_votes)."""
    frame = pl.DataFrame(
        rows,
        schema={
            "source_id": pl.String,
            "contest_id": pl.String,
            "level": pl.String,
            "unit_code": pl.String,
            "total_votes": pl.Int64,
        },
        orient="row",
    )
    nothing = pl.lit(None, pl.Int64)
    return frame.select(
        *KEYS,
        pl.col("unit_code").str.to_uppercase().alias("unit_name"),
        pl.lit(None, pl.String).alias("parent_code"),
        nothing.alias("registered"),
        pl.col("total_votes").alias("valid_votes"),
        pl.lit(0, pl.Int64).alias("null_votes"),
        pl.lit(0, pl.Int64).alias("blank_votes"),
        "total_votes",
        pl.lit(None, pl.Float64).alias("turnout"),
        pl.lit(0, pl.Int64).alias("units_without_list"),
        pl.lit(0, pl.Int64).alias("votes_without_list"),
    )


def bound(*rows) -> pl.DataFrame:
    """rows: (source_id, contest_id, level, unit_code, uncounted_registered)."""
    return pl.DataFrame(
        rows,
        schema={**dict.fromkeys(KEYS, pl.String), "uncounted_registered": pl.Int64},
        orient="row",
    )


def national(source, contest, votes: dict, expected, counted, left=None):
    """The marts of one national contest in one source: votes per candidate, coverage, and the
    registered voters of its uncounted units (left)."""
    where = (source, contest, "national", "national")
    return (
        [(*where, c, v) for c, v in votes.items()],
        [(*where, expected, counted)],
        [(*where, sum(votes.values()))],
        [(*where, left)] if left is not None else [],
    )


def status(contest_list, *marts):
    """contest_status over several national() results concatenated."""
    res, cov, turn, left = ([], [], [], [])
    for r, c, t, b in marts:
        res += r
        cov += c
        turn += t
        left += b
    return contest_status(
        results(*res), coverage(*cov), turnout(*turn), contest_list, bound(*left) if left else None
    )


def one(frame: pl.DataFrame, **where) -> dict:
    rows = frame.filter(**where).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


PRESIDENT = contests(("pres", 1, 1, None))
COUNCIL = contests(("council", 2, 2, None))


def test_a_vote_for_1_contest_is_decided_when_the_margin_exceeds_the_uncounted_voters():
    out = status(PRESIDENT, national("s1", "pres", {"a": 600, "b": 300, "_other": 50}, 10, 8, 299))
    assert out.schema == pl.Schema(CONTEST_STATUS_SCHEMA)
    assert out.to_dicts() == [
        {
            "source_id": "s1",
            "contest_id": "pres",
            "contest_name": "PRES",
            "level": "national",
            "unit_code": "national",
            "unit_name": "NATIONAL",
            "seats": 1,
            "vote_for": 1,
            "counted": 8,
            "expected": 10,
            "ballots_counted": 950,
            "leaders": ["a"],
            "leader_names": ["Name a"],
            "last_winner_votes": 600,
            "first_loser_votes": 300,
            "margin": 300,
            "other_votes": 50,
            "outstanding_ballots": 299,
            "outstanding_basis": UNCOUNTED_REGISTERED,
            "decided": True,
            "status": "decided",
        }
    ]


def test_a_vote_for_1_contest_whose_margin_the_uncounted_voters_could_close_is_not_decided():
    # 300 uncounted voters all for b: 600 − 600, a tie; not decided
    out = status(PRESIDENT, national("s1", "pres", {"a": 600, "b": 300, "_other": 50}, 10, 8, 300))
    row = one(out)
    assert (row["margin"], row["outstanding_ballots"]) == (300, 300)
    assert (row["decided"], row["status"], row["leaders"]) == (False, "leading", ["a"])


@pytest.mark.parametrize(
    ("left", "decided", "status_text"), [(4, True, "decided"), (5, False, "leading")]
)
def test_a_vote_for_2_contest_is_decided_at_its_second_seat(left, decided, status_text):
    """A late vote-for-2 tally's one line may hold 2 × its registered voters (rule E2 holds
    the lines' sum over 2): a margin of 10 decides with 4 voters left, not with 5."""
    votes = {"a": 500, "b": 410, "c": 400, "d": 100, "_other": 20}
    row = one(status(COUNCIL, national("s1", "council", votes, 5, 4, left)))
    assert (row["seats"], row["vote_for"]) == (2, 2)
    assert row["leaders"] == ["a", "b"]
    assert row["leader_names"] == ["Name a", "Name b"]
    assert (row["last_winner_votes"], row["first_loser_votes"], row["margin"]) == (410, 400, 10)
    assert (row["outstanding_ballots"], row["decided"], row["status"]) == (
        left,
        decided,
        status_text,
    )


def test_a_tie_at_the_seat_boundary_is_never_decided_even_when_everything_is_counted():
    row = one(status(PRESIDENT, national("s1", "pres", {"b": 100, "a": 100}, 3, 3)))
    assert row["leaders"] == ["a"]  # one of the tied, by candidate_id
    assert (row["last_winner_votes"], row["first_loser_votes"], row["margin"]) == (100, 100, 0)
    assert (row["outstanding_ballots"], row["outstanding_basis"]) == (0, ALL_COUNTED)
    assert (row["decided"], row["status"]) == (False, "tied")


def test_a_tie_between_two_winners_is_no_tie_at_the_boundary():
    row = one(status(COUNCIL, national("s1", "council", {"a": 50, "b": 50, "c": 10}, 3, 3)))
    assert (row["leaders"], row["margin"], row["decided"], row["status"]) == (
        ["a", "b"],
        40,
        True,
        "decided",
    )


def test_a_district_contest_has_one_row_per_district_of_its_level():
    ward = contests(("ward_council", 1, 1, "ward"))
    res = results(
        ("s1", "ward_council", "ward", "w1", "a", 70),
        ("s1", "ward_council", "ward", "w1", "b", 20),
        ("s1", "ward_council", "ward", "w2", "c", 30),
        ("s1", "ward_council", "ward", "w2", "d", 25),
        # the rollup's other levels: not districts of this contest
        ("s1", "ward_council", "national", "national", "a", 70),
        ("s1", "ward_council", "national", "national", "c", 30),
        ("s1", "ward_council", "precinct", "p1", "a", 70),
    )
    cov = coverage(
        ("s1", "ward_council", "ward", "w1", 2, 2),
        ("s1", "ward_council", "ward", "w2", 3, 1),
        ("s1", "ward_council", "national", "national", 5, 3),
        ("s1", "ward_council", "precinct", "p1", 1, 1),
    )
    turn = turnout(
        ("s1", "ward_council", "ward", "w1", 95), ("s1", "ward_council", "ward", "w2", 60)
    )
    out = contest_status(res, cov, turn, ward)
    assert out.select("level", "unit_code", "unit_name").rows() == [
        ("ward", "w1", "W1"),
        ("ward", "w2", "W2"),
    ]
    w1, w2 = out.to_dicts()
    assert (w1["leaders"], w1["margin"], w1["counted"], w1["expected"]) == (["a"], 50, 2, 2)
    assert (w1["ballots_counted"], w1["outstanding_ballots"]) == (95, 0)
    assert (w1["decided"], w1["status"]) == (True, "decided")
    # w2: 2 tallies left and no registry to bound their ballots
    assert (w2["leaders"], w2["margin"], w2["counted"], w2["expected"]) == (["c"], 5, 1, 3)
    assert (w2["outstanding_ballots"], w2["outstanding_basis"]) == (None, None)
    assert (w2["decided"], w2["status"]) == (False, "leading")


def test_a_district_with_nothing_counted_yet_has_no_votes_and_no_leaders():
    ward = contests(("ward_council", 1, 1, "ward"))
    out = contest_status(
        results(("s1", "ward_council", "ward", "w1", "a", 7)),
        coverage(
            ("s1", "ward_council", "ward", "w1", 1, 1), ("s1", "ward_council", "ward", "w2", 4, 0)
        ),
        turnout(("s1", "ward_council", "ward", "w1", 7)),
        ward,
        bound(("s1", "ward_council", "ward", "w2", 400)),
    )
    row = one(out, unit_code="w2")
    assert (row["leaders"], row["leader_names"]) == ([], [])
    assert (row["last_winner_votes"], row["first_loser_votes"], row["margin"]) == (0, 0, 0)
    assert (row["counted"], row["ballots_counted"], row["outstanding_ballots"]) == (0, None, 400)
    assert (row["decided"], row["status"]) == (False, "no votes")
    # the only candidate, all counted: decided (no loser: 0)
    assert one(out, unit_code="w1")["status"] == "decided"


def test_unknown_outstanding_ballots_never_decide_however_large_the_margin():
    # no expected number of tallies (no registry) and no bound
    row = one(status(PRESIDENT, national("s1", "pres", {"a": 10_000, "b": 1}, None, 40)))
    assert (row["expected"], row["margin"], row["outstanding_ballots"]) == (None, 9_999, None)
    assert (row["decided"], row["status"]) == (False, "leading")
    # expected known but tallies missing, and no registered voters for them
    row = one(status(PRESIDENT, national("s1", "pres", {"a": 10_000, "b": 1}, 41, 40)))
    assert (row["outstanding_ballots"], row["decided"]) == (None, False)


def test_everything_counted_leaves_no_outstanding_ballots_and_any_lead_decides():
    # the bound given for the source is ignored: nothing is left to arrive
    row = one(status(PRESIDENT, national("s1", "pres", {"a": 501, "b": 500}, 4, 4, 10_000)))
    assert (row["outstanding_ballots"], row["outstanding_basis"]) == (0, ALL_COUNTED)
    assert (row["margin"], row["decided"], row["status"]) == (1, True, "decided")


def test_more_tallies_counted_than_expected_is_not_everything_counted():
    # the expected number is no catalogue of the tallies: one of the 4 may be missing still
    row = one(status(PRESIDENT, national("s1", "pres", {"a": 501, "b": 500}, 4, 5)))
    assert (row["outstanding_ballots"], row["outstanding_basis"]) == (None, None)
    assert (row["decided"], row["status"]) == (False, "leading")
    # the registry's units not counted still bound it
    row = one(status(PRESIDENT, national("s1", "pres", {"a": 501, "b": 500}, 4, 5, 0)))
    assert (row["outstanding_ballots"], row["outstanding_basis"]) == (0, UNCOUNTED_REGISTERED)
    assert (row["decided"], row["status"]) == (True, "decided")


def test_the_other_line_is_never_a_leader_and_may_be_one_undeclared_challenger():
    # write-ins outpoll the declared candidates: one write-in candidate may hold all 900
    row = one(status(PRESIDENT, national("s1", "pres", {"a": 50, "b": 40, "_other": 900}, 2, 2)))
    assert (row["leaders"], row["other_votes"], row["margin"]) == (["a"], 900, 10)
    assert (row["decided"], row["status"]) == (False, "leading")
    # write-ins below the last winner: decided, whatever their number
    row = one(status(PRESIDENT, national("s1", "pres", {"a": 100, "b": 10, "_other": 30}, 2, 2)))
    assert (row["leaders"], row["decided"]) == (["a"], True)
    # the outstanding ballots count against the write-ins too: 100 − 30 = 70, not > 70
    row = one(
        status(PRESIDENT, national("s1", "pres", {"a": 100, "b": 10, "_other": 30}, 3, 2, 70))
    )
    assert (row["margin"], row["outstanding_ballots"], row["decided"]) == (90, 70, False)


def test_a_seat_no_declared_candidate_holds_is_not_won():
    # one declared candidate for two seats: the second seat may go to a write-in
    row = one(status(COUNCIL, national("s1", "council", {"a": 50, "_other": 80}, 1, 1)))
    assert row["leaders"] == ["a"]
    assert (row["last_winner_votes"], row["first_loser_votes"], row["margin"]) == (0, 0, 0)
    assert (row["decided"], row["status"]) == (False, "leading")


def test_a_candidate_without_a_vote_leads_nothing():
    row = one(status(COUNCIL, national("s1", "council", {"a": 10, "b": 0, "c": 0}, 5, 1, 999)))
    assert row["leaders"] == ["a"]
    assert (row["last_winner_votes"], row["first_loser_votes"]) == (0, 0)
    assert (row["decided"], row["status"]) == (False, "tied")


def test_sources_are_kept_apart():
    out = status(
        PRESIDENT,
        national("official", "pres", {"a": 600, "b": 300}, 10, 10),
        national("observer", "pres", {"a": 200, "b": 210}, 10, 3, 1_000),
    )
    assert out["source_id"].to_list() == ["observer", "official"]
    observer, official = out.to_dicts()
    assert (official["leaders"], official["margin"], official["ballots_counted"]) == (
        ["a"],
        300,
        900,
    )
    assert (official["outstanding_ballots"], official["decided"]) == (0, True)
    assert (observer["leaders"], observer["margin"], observer["ballots_counted"]) == (
        ["b"],
        10,
        410,
    )
    assert (observer["outstanding_ballots"], observer["decided"]) == (1_000, False)


def test_several_contests_each_at_their_own_district_level():
    both = contests(("pres", 1, 1, None), ("council", 2, 2, None), ("ward_council", 1, 1, "ward"))
    res = [
        *national("s1", "pres", {"a": 9, "b": 1}, 2, 2)[0],
        *national("s1", "council", {"c": 9, "d": 8, "e": 1}, 2, 2)[0],
        ("s1", "ward_council", "ward", "w1", "f", 3),
        ("s1", "ward_council", "national", "national", "f", 3),
    ]
    cov = [("s1", c, "national", "national", 2, 2) for c in ("pres", "council", "ward_council")] + [
        ("s1", "ward_council", "ward", "w1", 2, 2),
        ("s1", "pres", "ward", "w1", 2, 2),
    ]
    out = contest_status(results(*res), coverage(*cov), turnout(), both)
    assert out.select("contest_id", "level", "unit_code", "leaders", "status").rows() == [
        ("council", "national", "national", ["c", "d"], "decided"),
        ("pres", "national", "national", ["a"], "decided"),
        ("ward_council", "ward", "w1", ["f"], "decided"),
    ]


def test_nothing_in_gives_the_empty_mart():
    none = contest_status(results(), coverage(), turnout(), PRESIDENT)
    assert none.height == 0
    assert none.schema == pl.Schema(CONTEST_STATUS_SCHEMA)


def test_a_contest_missing_from_the_list_or_without_seats_is_refused():
    marts = national("s1", "mayor", {"a": 1}, 1, 1)
    with pytest.raises(ValueError, match=r"not in the contest list: \['mayor'\]"):
        status(PRESIDENT, marts)
    with pytest.raises(ValueError, match=r"seats ≥ 1 .*pres \(seats 0, vote_for 1\)"):
        status(contests(("pres", 0, 1, None)), national("s1", "pres", {"a": 1}, 1, 1))


def test_uncounted_registered_sums_the_registered_voters_of_the_units_not_counted():
    expected = pl.DataFrame(
        [
            ("pres", "national", "national", "t1", 100),
            ("pres", "national", "national", "t2", 200),
            ("pres", "national", "national", "t3", None),  # a unit without a list
            ("mayor", "ward", "w1", "t1", 100),
            ("mayor", "ward", "w1", "t2", 200),
            ("mayor", "ward", "w2", "t4", 0),  # a unit without a list, as the registry has it
            ("mayor", "ward", "w2", "t5", 50),
        ],
        schema=["contest_id", "level", "unit_code", "tally_code", "registered"],
        orient="row",
    )
    counted = pl.DataFrame(
        [
            ("s1", "pres", "t3"),
            ("s1", "pres", "t1"),
            ("s1", "mayor", "t1"),
            ("s1", "mayor", "t2"),
            ("s1", "mayor", "t4"),
            ("s2", "mayor", "t5"),
            ("s2", "pres", "t9"),  # not expected: no effect
        ],
        schema=["source_id", "contest_id", "tally_code"],
        orient="row",
    )
    out = uncounted_registered(expected, counted, sources=["s1", "s2", "s3"])
    assert out.rows() == [
        ("s1", "mayor", "ward", "w1", 0),  # all counted
        ("s1", "mayor", "ward", "w2", 50),  # t5 left
        ("s1", "pres", "national", "national", 200),  # t2 left
        ("s2", "mayor", "ward", "w1", 300),  # nothing counted
        ("s2", "mayor", "ward", "w2", None),  # t4 left: no list, its ballots unbounded
        ("s2", "pres", "national", "national", None),  # t3 left, its voters unknown
        ("s3", "mayor", "ward", "w1", 300),  # a source with nothing counted at all
        ("s3", "mayor", "ward", "w2", None),
        ("s3", "pres", "national", "national", None),
    ]
    assert uncounted_registered(expected, counted)["source_id"].unique().sort().to_list() == [
        "s1",
        "s2",
    ]
    assert out.columns == [*KEYS, "uncounted_registered"]


def test_newly_decided_lists_what_was_not_decided_in_the_previous_run():
    def run(left_a, left_b, votes_b=None):
        return status(
            contests(("pres", 1, 1, None), ("mayor", 1, 1, None)),
            national("s1", "pres", {"a": 600, "b": 300}, 10, 8, left_a),
            national("s1", "mayor", votes_b or {"c": 100, "d": 50}, 10, 8, left_b),
        )

    first = run(100, 1_000)  # pres decided, mayor not
    assert newly_decided(None, first)["contest_id"].to_list() == ["pres"]
    second = run(100, 10)  # mayor decided now too
    new = newly_decided(first, second)
    assert new.columns == list(CONTEST_STATUS_SCHEMA)
    assert new.select("contest_id", "leaders").rows() == [("mayor", ["c"])]
    assert newly_decided(second, second).height == 0
    # decided in both but for another leader (a correction to counted tallies): listed again
    third = run(100, 10, {"c": 50, "d": 100})
    assert newly_decided(second, third).select("contest_id", "leaders").rows() == [("mayor", ["d"])]
    # no longer decided: not newly decided
    assert newly_decided(third, run(100, 1_000, {"c": 50, "d": 100})).height == 0


def test_the_run_summary_names_newly_decided_contests_escaped(capsys):
    from reporting.terminal.run_summary import _print_newly_decided

    row = {c: None for c in CONTEST_STATUS_SCHEMA}
    row |= {
        "source_id": "s",
        "contest_id": "mayor",
        "contest_name": "Mayor\x1b[31m",
        "level": "national",
        "unit_code": "national",
        "unit_name": "Nation",
        "leaders": ["a"],
        "leader_names": ["Ann\nBo"],
        "decided": True,
        "status": "decided",
    }
    current = pl.DataFrame([row], schema=CONTEST_STATUS_SCHEMA)
    _print_newly_decided(None, current)
    out = capsys.readouterr().out
    assert "Newly decided since the previous publication: 1" in out
    assert "\x1b" not in out and "Ann\\nBo" in out
    _print_newly_decided(current, current)
    assert capsys.readouterr().out == ""
