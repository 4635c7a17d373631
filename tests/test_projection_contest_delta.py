"""How a drop moves a general election's kept projection statistics, group by group
(transforms/projection/contest_delta.py), on small frames: moved by the difference they equal
the statistics computed afresh, a group whose lines could change is left to compute again (and
says why), and a source above the polling units (a canvass) is left out as the full build
leaves it."""

import polars as pl

from tests.test_contest_marts import GENERAL, LINES, _election_night
from tests.test_forensics_contest_delta import DROPPED, state_canvass
from transforms.projection.contest_delta import group_state, moved_groups
from transforms.projection.contests import GROUP, Populations


def _populations(units: pl.DataFrame) -> Populations:
    return Populations(None, units, GENERAL)


def _side_votes(votes: pl.DataFrame, sides: tuple) -> tuple:
    return tuple(votes.join(s.select("tally_id"), on="tally_id", how="semi") for s in sides)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(pl.all(), nulls_last=True)


def _assert_same_stats(stats: pl.DataFrame, fresh: pl.DataFrame) -> None:
    """The same statistics; the merged ones may carry the lines' columns too, empty (the
    concatenation with no recomputed group, as before the move out of the asset)."""
    extra = [c for c in stats.columns if c not in fresh.columns]
    assert stats.select(extra).null_count().row(0) == (stats.height,) * len(extra)
    assert _sorted(stats.select(fresh.columns)).equals(_sorted(fresh))


def test_a_drop_moves_the_groups_it_touches_to_the_statistics_computed_afresh():
    tallies, votes, units = _election_night()
    populations = _populations(units)
    first = tallies.filter(~DROPPED)
    old_stats, old_lines = group_state(first, votes, LINES, populations)
    sides = (first.clear(), tallies.filter(DROPPED))
    moves = moved_groups(old_stats, old_lines, sides, _side_votes(votes, sides), populations)
    assert moves.touched.rows() == [("chief", None)] and moves.whole == {}
    assert moves.reason == ""
    stats, lines = moves.merged(old_stats, old_lines)
    fresh_stats, fresh_lines = group_state(tallies, votes, LINES, populations)
    _assert_same_stats(stats, fresh_stats)
    assert _sorted(lines).equals(_sorted(fresh_lines))
    others = pl.col("contest_id") != "chief"
    _assert_same_stats(stats.filter(others), old_stats.filter(others))


def test_a_group_whose_line_may_stop_is_left_to_compute_again_from_its_tallies():
    """The drop replaces a mayor's table of state 01 by one without its line Ya: fewer tallies
    count Ya, which may stop; merged with its statistics computed again, the state is the
    fresh one."""
    tallies, votes, units = _election_night()
    populations = _populations(units)
    old_stats, old_lines = group_state(tallies, votes, LINES, populations)
    replaced = tallies.filter(contest_id="mayor", tally_code="01.0")
    restaged = replaced.with_columns(pl.col("tally_id") + 1000)
    kept_votes = votes.filter(tally_id=replaced["tally_id"][0], candidate_id="Xa")
    now_votes = pl.concat([votes, kept_votes.with_columns(pl.col("tally_id") + 1000)])
    now = pl.concat([tallies.join(replaced, on="tally_id", how="anti"), restaged])
    sides = (replaced, restaged)
    moves = moved_groups(old_stats, old_lines, sides, _side_votes(now_votes, sides), populations)
    assert moves.whole == {("mayor", "01"): "fewer tallies count one of its lines (it may stop)"}
    assert moves.again.rows() == [("mayor", "01")]
    assert moves.reason == (
        "contest mayor in 01 computed again from all its tallies: fewer tallies count one of "
        "its lines (it may stop)"
    )
    own = now.join(moves.again, on=GROUP, how="semi")
    stats, lines = moves.merged(
        old_stats, old_lines, *group_state(own, now_votes, LINES, populations)
    )
    fresh_stats, fresh_lines = group_state(now, now_votes, LINES, populations)
    _assert_same_stats(stats, fresh_stats)
    assert _sorted(lines).equals(_sorted(fresh_lines))


def test_a_canvass_above_the_polling_units_is_left_out_of_the_moved_statistics():
    """A state-level canvass of the chief contest arrives alone: reconciled, never projected,
    so the drop moves nothing (unguarded, it would be counted as a source of its own)."""
    tallies, votes, units = _election_night()
    populations = _populations(units)
    old_stats, old_lines = group_state(tallies, votes, LINES, populations)
    canvass, canvass_votes = state_canvass(tallies)
    sides, side_votes = (canvass.clear(), canvass), (canvass_votes.clear(), canvass_votes)
    guarded = moved_groups(old_stats, old_lines, sides, side_votes, populations, ["canvass"])
    assert guarded.touched.is_empty()
    stats, lines = guarded.merged(old_stats, old_lines)
    _assert_same_stats(stats, old_stats)
    assert _sorted(lines).equals(_sorted(old_lines))
    unguarded = moved_groups(old_stats, old_lines, sides, side_votes, populations)
    assert "canvass" in unguarded.merged(old_stats, old_lines)[0]["source_id"].to_list()
