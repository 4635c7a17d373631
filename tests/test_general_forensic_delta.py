"""F2 when a drop changes the main candidates: the centres to examine again are those the drop
touches and every centre where a candidate whose main status changed has a count (how a general
election's contest moves its forensic state, orchestration/assets/forensics.py); the state is
then the one computed from all the tallies, even where an untouched centre's verdict changes."""

import polars as pl

from tests.test_forensic_delta import frame_of, smallest_candidate
from transforms.forensics.delta import (
    CENTRE_KEY,
    main_changes,
    moved_stats,
    touched_centres,
    with_centres,
)
from transforms.forensics.mart import forensic_mart, forensic_state
from transforms.synthetic.election import generate


def test_an_untouched_centre_is_examined_again_when_a_candidate_becomes_main():
    sample = generate(3_000, seed=9, drops=2)
    election = sample.election
    first = frame_of(sample.drops[0], election)
    old_state = forensic_state(first, election)
    minor = smallest_candidate(old_state, election)
    # one table of an examined centre gives the minor candidate half its valid votes: an outlier
    # of its centre only once the candidate is main
    centre = old_state.centres.sort("n", descending=True)["centre"][0]
    odd = first.filter(pl.col("centre") == centre).sort("tally_code")["tally_code"][0]
    half = pl.when(pl.col("tally_code") == odd).then(pl.col("valid_votes") // 2)
    first = first.with_columns(half.otherwise(pl.col(minor)).alias(minor))
    old = forensic_state(first, election)
    # the drop: the second drop's tallies, twenty of them lifting the minor candidate past 5 %
    after = frame_of(sample.drops[1], election).filter(pl.col("centre") != centre)
    lifted = pl.int_range(pl.len()) < 20
    after = after.with_columns(
        pl.when(lifted).then(pl.col(minor) + 10 * pl.col("valid_votes")).otherwise(pl.col(minor))
    )
    before = first.clear()
    accepted = pl.concat([first, after])

    digits, units = moved_stats(old, before, after, election)
    changed = main_changes(old.units, units, election)
    assert changed["candidate_id"].to_list() == [minor]
    touched = touched_centres(before, after)
    assert not touched.filter(pl.col("centre") == centre).height  # the drop leaves it alone
    counting = (
        accepted.filter(pl.col(minor).is_not_null())
        .join(changed, on="source_id", how="semi")
        .select(CENTRE_KEY)
    )
    centres = pl.concat([touched, counting]).unique()
    tallies = accepted.join(centres, on=CENTRE_KEY, how="semi")
    moved = with_centres(old, digits, units, centres, tallies, election)

    fresh = forensic_state(accepted, election)
    for name, frame in fresh.frames().items():
        assert moved.frames()[name].equals(frame), name
    flagged = forensic_mart(fresh, None, election).filter(check_id="F2", unit_code=odd)
    assert flagged["candidate_id"].to_list() == [minor]  # the untouched centre's new verdict
    assert odd not in forensic_mart(old, None, election)["unit_code"].to_list()
    # examining only the touched centres would have missed it
    only_touched = with_centres(old, digits, units, touched, tallies, election)
    assert not only_touched.outliers.equals(fresh.outliers)
