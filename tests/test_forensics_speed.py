"""A general election's forensics and projection full builds read each contest's votes on their
own (warehouse/contest_votes.py: votes of tallies they do not examine among them) and F2 groups
its rows on a hash of their key: the same states, bit for bit, as reading every vote of the
accepted tallies and sorting on the key's strings; the projection pivots a group's votes on
their candidate ids and names the columns by slot after. Pure."""

import polars as pl

from tests.test_general_forensics_speed import ELECTION, _district_contest
from transforms.forensics import centres
from transforms.forensics.contests import contest_states, contest_views, states_by_contest
from transforms.projection.contests import (
    GROUP,
    CastVotes,
    Group,
    _contest_view,
    _wide,
    with_districts,
)


def _votes_by_contest(tallies: pl.DataFrame, votes: pl.DataFrame):
    """votes_of as the warehouse gives it: every vote of a contest's tallies, those of the
    tallies left out of `tallies` (quarantined, of a canvass) included."""
    every = _district_contest()[0]
    contest_of = votes.join(every.select("tally_id", "contest_id"), on="tally_id")
    return lambda contest: contest_of.filter(contest_id=contest).drop("contest_id")


def _examined(tallies: pl.DataFrame) -> pl.DataFrame:
    """Some tallies left out, as the quarantine leaves them out."""
    return tallies.filter(pl.col("tally_id") % 7 != 0)


def test_states_from_each_contests_votes_are_the_same():
    tallies, votes, lines = _district_contest()
    views = contest_views(lines, ELECTION)
    kept = _examined(tallies)
    split = states_by_contest(kept, _votes_by_contest(tallies, votes), views)
    whole = contest_states(kept, votes, views)
    assert whole.outliers.height  # the planted outliers are found
    for name, frame in whole.frames().items():
        assert split.frames()[name].equals(frame), name


def test_cast_votes_read_by_contest_are_split_as_every_vote_was():
    tallies, votes, _ = _district_contest()
    kept = with_districts(_examined(tallies))
    whole = CastVotes(votes, kept)
    split = CastVotes.by_contest(kept, _votes_by_contest(tallies, votes))
    assert set(split._split) == set(whole._split)
    order = ["tally_id", "candidate_id"]
    for key in whole._split:
        assert split.of(key).sort(order).equals(whole.of(key).sort(order)), key
    assert split.present.sort(pl.all()).equals(whole.present.sort(pl.all()))
    assert split.of(("nowhere", None)).is_empty()
    nothing = CastVotes.by_contest(kept.clear(), _votes_by_contest(tallies, votes))
    assert nothing.present.is_empty() and nothing.of(("senate", "01")).is_empty()
    assert nothing.present.columns == [*GROUP, "candidate_id"]


def _measures(seed: int = 3) -> pl.DataFrame:
    """F2's measures of many small centres (ties included), as centre_measures gives them."""
    rows = []
    for i in range(4000):
        centre = f"c{i // 6:03d}"
        value = 0.99 if i % 60 == 0 else 0.5 + (i * 37 % 11) / 200  # a few far from their centre
        rows.append(("official", f"{centre}.{i % 6}", "01", centre, value, 300))
    measures = pl.DataFrame(
        rows, schema=["source_id", "tally_code", "state", "centre", "value", "size"], orient="row"
    )
    turnout = measures.with_columns(
        pl.lit("turnout").alias("measure"), pl.lit(None, pl.String).alias("candidate_id")
    )
    share = measures.with_columns(
        pl.lit("share").alias("measure"), pl.lit("p001").alias("candidate_id")
    )
    return pl.concat([turnout, share]).sample(fraction=1.0, shuffle=True, seed=seed)


def _by_strings(eligible: pl.DataFrame) -> pl.DataFrame:
    return eligible.sort([*centres.KEY, "value", "tally_code"])


def test_f2_grouped_on_a_hash_flags_as_the_string_sort(monkeypatch):
    measures = _measures()
    order = [*centres.KEY, "tally_code"]
    hashed = centres.centre_outliers(measures).sort(order, nulls_last=True)
    assert hashed["flagged"].any() and not hashed["flagged"].all()
    monkeypatch.setattr(centres, "_grouped_by_value", _by_strings)
    assert hashed.equals(centres.centre_outliers(measures).sort(order, nulls_last=True))


def test_f2_sorts_on_the_key_when_two_groups_hashes_meet(monkeypatch):
    measures = _measures()
    order = [*centres.KEY, "tally_code"]
    expected = centres.centre_outliers(measures).sort(order, nulls_last=True)
    runs = iter([1, 2])  # the hash's runs fewer than the key's: two groups interleaved
    monkeypatch.setattr(centres, "_runs", lambda frame, columns: next(runs))
    assert centres.centre_outliers(measures).sort(order, nulls_last=True).equals(expected)


def test_runs_count_changes_of_any_column():
    frame = pl.DataFrame({"a": ["x", "x", "y", "y", "x"], "b": [1, 2, 2, 2, 2]})
    assert centres._runs(frame, ["a"]) == 3
    assert centres._runs(frame, ["a", "b"]) == 4
    assert centres._runs(frame.clear(), ["a"]) == 0


def _group(ids: list[str]) -> Group:
    return Group("c", None, None, None, ids, _contest_view(ELECTION, ids, None))


def test_votes_pivoted_on_their_ids_land_on_their_lines_slots():
    swapped = _group(["p002", "p001", "x"])  # ids that are other lines' slots
    votes = pl.DataFrame(
        {
            "tally_id": [1, 1, 2, 3],
            "candidate_id": ["p002", "p001", "p001", "x"],
            "votes": [5, 6, 7, 8],
        }
    )
    wide = _wide(votes, swapped)
    assert wide.columns == ["tally_id", "p001", "p002", "p003"]
    assert wide.sort("tally_id").rows() == [(1, 5, 6, None), (2, None, 7, None), (3, None, None, 8)]
    index = _group(["tally_id", "b"])  # a line named as the pivot's index column
    votes = votes.with_columns(pl.col("candidate_id").replace({"p002": "tally_id", "p001": "b"}))
    assert _wide(votes.filter(pl.col("candidate_id") != "x"), index).sort("tally_id").rows() == [
        (1, 5, 6),
        (2, None, 7),
    ]
