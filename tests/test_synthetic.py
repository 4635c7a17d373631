import polars as pl
import pytest

from transforms.feed import feed_columns
from transforms.synthetic.election import generate


def test_default_election_is_shaped_like_venezuela():
    sample = generate()
    codes = sample.registry.select(pl.col("^.*_code$").n_unique()).row(0, named=True)
    assert codes == {
        "state_code": 24,
        "municipality_code": 335,
        "parish_code": 1_100,
        "centre_code": 15_000,
        "table_code": 30_000,
    }
    assert len(sample.election.candidates) == 10
    assert sum(d.height for d in sample.drops) == 30_000


def test_same_seed_same_election_other_seed_other_election():
    a, b, c = generate(500, seed=1), generate(500, seed=1), generate(500, seed=2)
    assert a.registry.equals(b.registry)
    assert all(x.equals(y) for x, y in zip(a.drops, b.drops, strict=True))
    assert a.truth == b.truth
    assert a.truth != c.truth


def test_counts_are_consistent_per_table():
    sample = generate(3_000, seed=3)
    feed = pl.concat(sample.drops)
    assert feed.columns == feed_columns(sample.election)
    cands = sample.election.candidate_ids
    assert (feed.select(pl.sum_horizontal(cands)).to_series() == feed["valid_votes"]).all()
    cast = feed["valid_votes"] + feed["null_votes"] + feed["blank_votes"]
    assert (cast == feed["total_votes"]).all()
    assert (feed["total_votes"] <= feed["registered"]).all()
    assert feed["table_code"].n_unique() == feed.height


def test_turnout_and_shares_vary_by_state():
    feed = pl.concat(generate(20_000, seed=4).drops)
    by_state = feed.group_by("state_code").agg(
        (pl.col("total_votes").sum() / pl.col("registered").sum()).alias("turnout"),
        (pl.col("c01").sum() / pl.col("valid_votes").sum()).alias("leader_share"),
    )
    assert by_state["turnout"].max() - by_state["turnout"].min() > 0.05
    assert by_state["leader_share"].max() - by_state["leader_share"].min() > 0.05


def test_truth_matches_the_drops_and_partial_reporting():
    sample = generate(2_000, seed=5, drops=5, reporting=0.8)
    feed = pl.concat(sample.drops)
    assert len(sample.drops) == 5
    assert sample.truth["national"]["tallies"] == feed.height
    assert 1_500 < feed.height < 1_700
    assert sample.truth["national"]["candidates"]["c02"] == feed["c02"].sum()
    state_sum = sum(s["valid_votes"] for s in sample.truth["states"].values())
    assert state_sum == sample.truth["national"]["valid_votes"]


@pytest.mark.parametrize("bad", [{"tables": 0}, {"drops": 0}, {"reporting": 0.0}])
def test_generator_refuses_impossible_sizes(bad):
    with pytest.raises(ValueError):
        generate(**{"tables": 10, **bad})
