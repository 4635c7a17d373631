"""A general election's forensics and projection work on long rows and split votes once
(transforms/forensics/contests.py ContestRows, transforms/projection/contests.py CastVotes):
they give, bit for bit, what the wide frames gave (a column per line of every district of a
contest), on a contest elected in many districts with planted outliers, a tally without votes,
a null count and a vote-for-2 sheet. Pure."""

import numpy as np
import polars as pl

from transforms.accepted import cast_votes_by
from transforms.feed import TOTAL
from transforms.forensics.contests import contest_rows, contest_states, contest_views, state_of
from transforms.forensics.mart import forensic_state, tally_columns, tally_frame
from transforms.projection.contests import GROUP, CastVotes, with_districts
from transforms.staging import cast_votes_total
from warehouse.configs import load_election

ELECTION = load_election("general").election
TALLY_COLUMNS = [
    *tally_columns(ELECTION),
    "contest_id",
    "vote_for",
    "contest_district_level",
    "contest_district",
]
INTEGERS = {
    "tally_id",
    "registered",
    "valid_votes",
    "null_votes",
    "blank_votes",
    "total_votes",
    "vote_for",
}
DISTRICTS, LINES_EACH, CENTRES_EACH, TABLES_EACH = 12, 5, 6, 5


def _district_contest(seed: int = 5) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A vote-for-2 contest elected per state (its own LINES_EACH lines each) and a national
    one: tallies (mart.tally_columns, contest_id, vote_for, the district), long votes, lines."""
    rng = np.random.default_rng(seed)
    rows, votes = [], []
    tally_id = 0
    for contest, vote_for in (("senate", 2), ("chief", 1)):
        for d in range(DISTRICTS):
            state = f"{d:02d}"
            own = [
                f"{contest}-{state}-{k}" if contest == "senate" else f"c{k}"
                for k in range(LINES_EACH)
            ]
            weights = rng.dirichlet(np.ones(LINES_EACH) * 3)
            for c in range(CENTRES_EACH):
                centre = f"{state}{c:02d}"
                for t in range(TABLES_EACH):
                    tally_id += 1
                    registered = int(rng.integers(150, 400))
                    counts = rng.multinomial(int(registered * rng.uniform(0.5, 0.8)), weights)
                    if tally_id % 37 == 0:  # an outlier: every vote to the first line
                        counts = np.array([counts.sum(), *[0] * (LINES_EACH - 1)])
                    if tally_id % 41 == 0:  # an outlier on turnout
                        counts = counts * 0 + registered // LINES_EACH
                    counts = counts * vote_for
                    valid = int(counts.sum())
                    rows.append(
                        (tally_id, "official", f"{centre}.{t}", state, f"{state}1", f"{state}11")
                        + (centre, f"{centre}.{t}", registered, valid, 3, 2, None)
                        + (contest, vote_for, "state" if contest == "senate" else None)
                        + (state if contest == "senate" else None,)
                    )
                    if tally_id % 53 == 0:  # a tally without any vote
                        continue
                    for line, n in zip(own, counts, strict=True):
                        votes.append((tally_id, line, None if tally_id % 29 == 0 else int(n)))
    tallies = pl.DataFrame(
        rows,
        schema={name: pl.Int64 if name in INTEGERS else pl.String for name in TALLY_COLUMNS},
        orient="row",
    )
    long = pl.DataFrame(
        votes,
        schema={"tally_id": pl.Int64, "candidate_id": pl.String, "votes": pl.Int64},
        orient="row",
    )
    lines = (
        long.join(tallies.select("tally_id", "contest_id"), on="tally_id")
        .select("contest_id", "candidate_id")
        .unique(maintain_order=True)
    )
    return tallies, long, lines


def _wide_state(tallies: pl.DataFrame, votes: pl.DataFrame, view) -> object:
    """The state as the wide frames gave it: a column per line of the contest, pivoted."""
    slots = {c: s for s, c in view.back.items()}
    wide = (
        votes.filter(pl.col("votes").is_not_null())
        .join(tallies.select("tally_id"), on="tally_id", how="semi")
        .with_columns(pl.col("candidate_id").replace_strict(slots))
        .pivot(on="candidate_id", index="tally_id", values="votes", on_columns=view.slots)
    )
    ballots = cast_votes_total(tallies).with_columns(
        pl.col(TOTAL) // pl.col("vote_for").fill_null(1).clip(1, None)
    )
    return forensic_state(tally_frame(ballots, wide, view.election), view.election)


def test_long_rows_give_the_wide_frames_state_bit_for_bit():
    tallies, votes, lines = _district_contest()
    views = contest_views(lines, ELECTION)
    state = contest_states(tallies, votes, views)
    assert state.outliers.height  # the planted outliers are found
    for contest, view in views.items():
        wide = _wide_state(tallies.filter(contest_id=contest), votes, view)
        own = state_of(state, view)
        for name, frame in wide.frames().items():
            assert own.frames()[name].equals(frame), (contest, name)
        # what a drop moves each contest by, narrow or wide: its rows' statistics
        rows = contest_rows(tallies.filter(contest_id=contest), votes, view)
        assert rows.digits().equals(wide.digits) and rows.units(view).equals(wide.units)


def test_cast_votes_are_split_by_group_as_before():
    tallies, votes, _ = _district_contest()
    tallies = with_districts(tallies)
    cast, by_group = cast_votes_by(votes, tallies, GROUP)
    split = CastVotes(votes, tallies)
    assert set(split._split) == set(by_group)
    for key, frame in by_group.items():
        assert (
            split.of(key)
            .sort("tally_id", "candidate_id")
            .equals(frame.sort("tally_id", "candidate_id"))
        )
    present = cast.select(*GROUP, "candidate_id").unique().sort(pl.all())
    assert split.present.sort(pl.all()).equals(present)
    assert split.of(("nowhere", None)).is_empty()
