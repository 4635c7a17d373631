"""How a drop moves a general election's forensic state, contest by contest
(transforms/forensics/contest_delta.py), on small frames: the moved state gives the mart a
computation afresh gives, the other contests' rows stay as they were, a change of main
candidates sends every centre where they have a count to be examined again, and a source above
the polling units (a canvass) is left out as the full build leaves it."""

import polars as pl
import pytest

from tests.test_contest_marts import GENERAL, LINES, _election_night
from transforms.delta import NeedsFullBuild
from transforms.forensics.contest_delta import (
    centre_column,
    centres_to_examine,
    examined_state,
    moved_contests,
)
from transforms.forensics.contests import contest_mart, contest_states, contest_views
from transforms.model import Candidate, Election

VIEWS = contest_views(LINES, GENERAL)
DROPPED = (pl.col("contest_id") == "chief") & (pl.col("state_code") == "03")


def _accepted_of_centres(tallies: pl.DataFrame, votes: pl.DataFrame, centres: pl.DataFrame):
    """What warehouse.forensic_state.read_accepted_of_contest_centres reads: the tallies of
    these centres (the state, the level above the tables) of these contests."""
    wanted = centres.rename({"centre": "state_code"})
    own = tallies.join(wanted, on=["contest_id", "source_id", "state_code"], how="semi")
    return own, votes.join(own.select("tally_id"), on="tally_id", how="semi")


def _centres_counting(tallies: pl.DataFrame, votes: pl.DataFrame, lines: pl.DataFrame):
    """What warehouse.forensic_state.read_centres_counting reads: the centres where one of these
    lines (contest_id, source_id, candidate_id) has a count."""
    cast = votes.filter(pl.col("votes").is_not_null()).join(tallies, on="tally_id")
    return (
        cast.join(lines, on=["contest_id", "source_id", "candidate_id"], how="semi")
        .select("contest_id", "source_id", pl.col("state_code").alias("centre"))
        .unique()
    )


def _moved(old, tallies, votes, sides, higher_sources=()):
    """The drop applied as the asset applies it, the warehouse's reads made on `tallies` (every
    accepted tally after the drop) and `votes`."""
    side_votes = tuple(votes.join(s.select("tally_id"), on="tally_id", how="semi") for s in sides)
    moves = moved_contests(old, sides, side_votes, VIEWS, higher_sources)
    counting = _centres_counting(tallies, votes, moves.main)
    centres = centres_to_examine(moves, counting, GENERAL)
    return moves, examined_state(
        old, moves, centres, *_accepted_of_centres(tallies, votes, centres)
    )


def state_canvass(tallies: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A canvass of the chief contest in state 03 (source `canvass`, above the polling units:
    a state's tally) and its long votes."""
    canvass = (
        tallies.filter(DROPPED)
        .head(1)
        .with_columns(source_id=pl.lit("canvass"), tally_id=pl.lit(999, pl.UInt32))
    )
    votes = pl.DataFrame(
        {"tally_id": [999, 999], "candidate_id": ["A", "B"], "votes": [900, 800]},
        schema={"tally_id": pl.UInt32, "candidate_id": pl.String, "votes": pl.Int64},
    )
    return canvass, votes


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(pl.all(), nulls_last=True)


def _assert_same_mart(state, fresh) -> None:
    assert _sorted(contest_mart(state, VIEWS)).equals(_sorted(contest_mart(fresh, VIEWS)))


def test_a_drop_of_one_contest_moves_its_state_and_leaves_the_others():
    tallies, votes, _ = _election_night()
    first = tallies.filter(~DROPPED)
    old = contest_states(first, votes, VIEWS)
    moves, state = _moved(old, tallies, votes, (first.clear(), tallies.filter(DROPPED)))
    assert list(moves.contests) == ["chief"] and moves.main.is_empty() and moves.reason == ""
    fresh = contest_states(tallies, votes, VIEWS)
    _assert_same_mart(state, fresh)
    for name, frame in state.frames().items():
        assert _sorted(frame).equals(_sorted(fresh.frames()[name])), name
        others = pl.col("contest_id") != "chief"
        kept = old.frames()[name].filter(others)
        assert _sorted(frame.filter(others)).equals(_sorted(kept)), name


def test_a_candidate_becoming_main_has_every_centre_where_it_counts_examined_again():
    """B has one vote a table until the drop gives it 200 in each table of state 03: past F2's
    5 % of the chief contest, so the centres of states 01 and 02, untouched, are examined too."""
    tallies, votes, _ = _election_night()
    chief_b = pl.col("candidate_id") == "B"
    in_03 = pl.col("tally_id").is_in(tallies.filter(DROPPED)["tally_id"].implode())
    votes = votes.with_columns(
        pl.when(chief_b)
        .then(pl.when(in_03).then(200).otherwise(1))
        .otherwise("votes")
        .alias("votes")
    )
    valid = votes.group_by("tally_id").agg(pl.col("votes").sum().alias("valid_votes"))
    tallies = tallies.drop("valid_votes").join(valid, on="tally_id")
    first = tallies.filter(~DROPPED)
    old = contest_states(first, votes, VIEWS)
    moves, state = _moved(old, tallies, votes, (first.clear(), tallies.filter(DROPPED)))
    assert moves.main.select("contest_id", "candidate_id").rows() == [("chief", "B")]
    assert moves.reason == (
        "contest chief: the drop changed which candidates are main (F2 shares), every centre "
        "where they have a count examined again"
    )
    counting = _centres_counting(tallies, votes, moves.main)
    examined = centres_to_examine(moves, counting, GENERAL)
    assert examined.filter(contest_id="chief")["centre"].to_list() == ["01", "02", "03"]
    _assert_same_mart(state, contest_states(tallies, votes, VIEWS))


def test_a_canvass_above_the_polling_units_is_left_out_of_the_moved_state():
    """A state-level canvass of the chief contest arrives with the drop: reconciled, never
    screened, so the moved state is the one without it (as the full build's)."""
    tallies, votes, _ = _election_night()
    first = tallies.filter(~DROPPED)
    old = contest_states(first, votes, VIEWS)
    canvass, canvass_votes = state_canvass(tallies)
    drop = pl.concat([tallies.filter(DROPPED), canvass])
    every, with_canvass = pl.concat([tallies, canvass]), pl.concat([votes, canvass_votes])
    sides = (first.clear(), drop)
    _, guarded = _moved(old, every, with_canvass, sides, higher_sources=["canvass"])
    _, unguarded = _moved(old, every, with_canvass, sides)
    fresh = contest_states(tallies, votes, VIEWS)
    for name, frame in guarded.frames().items():
        assert "canvass" not in frame["source_id"].to_list(), name
        assert _sorted(frame).equals(_sorted(fresh.frames()[name])), name
    assert "canvass" in unguarded.units["source_id"].to_list()  # what the guard keeps out


def test_a_contest_without_kept_state_asks_for_a_full_build():
    tallies, votes, _ = _election_night()
    old = contest_states(tallies.filter(pl.col("contest_id") != "council"), votes, VIEWS)
    council = tallies.filter(contest_id="council")
    with pytest.raises(NeedsFullBuild, match="contest council has no kept state"):
        moved_contests(old, (council.clear(), council), (votes, votes), VIEWS)


def test_an_election_of_one_level_has_no_centres_to_examine():
    tallies, votes, _ = _election_night()
    first = tallies.filter(~DROPPED)
    old = contest_states(first, votes, VIEWS)
    moves = moved_contests(old, (first.clear(), tallies.filter(DROPPED)), (votes, votes), VIEWS)
    assert moves.contests["chief"].touched["centre"].to_list() == ["03"]
    flat = Election("flat", "Flat", ("table",), (Candidate("A", "Ann"),))
    assert centre_column(flat) is None and centre_column(GENERAL) == "state_code"
    assert centres_to_examine(moves, pl.DataFrame(), flat).is_empty()
