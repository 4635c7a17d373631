"""marts.projection: projected final votes and shares with 95 % intervals, and worst cases."""

import warnings

import numpy as np
import polars as pl
import pytest

from tests.conftest import published, truth
from transforms.projection.contests import CONTEST_SCHEMA
from transforms.projection.estimator import project
from transforms.rollup import units_from_registry
from transforms.synthetic.election import generate

REPLICATIONS = 200
HIDDEN = 0.2


@pytest.fixture(scope="module")
def election_2000():
    sim = generate(2_000, seed=11, drops=1)
    feed = (
        pl.concat(sim.drops)
        .with_row_index("tally_id")
        .with_columns(
            pl.lit("sample").alias("source_id"),
            pl.col("table_code").alias("tally_code"),
        )
    )
    return sim, feed


def _inputs(sim, weighting: str) -> dict:
    """The registry where registered voters weigh, else only the expected tallies per unit."""
    if weighting == "registered":
        return {"registry": sim.registry}
    return {"units": units_from_registry(sim.registry, sim.election)}


def _project(sim, tallies: pl.DataFrame, weighting: str, inputs: dict | None = None):
    """`inputs`: _inputs(sim, weighting), made once by a caller that projects many times."""
    votes = tallies.select("tally_id", *sim.election.candidate_ids)
    return project(tallies, votes, sim.election, **(inputs or _inputs(sim, weighting)))


def _truth(sim) -> np.ndarray:
    return np.array(
        [sim.truth["national"]["candidates"][c] for c in sim.election.candidate_ids], float
    )


def _inside(out: pl.DataFrame, lower: str, upper: str, true: np.ndarray) -> int:
    return int(((out[lower].to_numpy() <= true) & (true <= out[upper].to_numpy())).sum())


@pytest.mark.parametrize("weighting", ["registered", "expected_tallies"])
def test_intervals_cover_the_truth_95_percent_of_the_time(election_2000, weighting):
    """Hide a random 20 % of tallies 200 times: the 95 % intervals of votes and of shares
    cover the true final totals 93-97 % of the time, pooled over candidates."""
    sim, feed = election_2000
    true_votes = _truth(sim)
    true_shares = true_votes / true_votes.sum()
    rng = np.random.default_rng(2024)
    inputs = _inputs(sim, weighting)  # the same registry or units for every replication
    votes_in = shares_in = 0
    for _ in range(REPLICATIONS):
        kept = feed.filter(pl.Series(rng.uniform(size=feed.height) >= HIDDEN))
        out = _project(sim, kept, weighting, inputs)
        assert out["weighting"].unique().to_list() == [weighting]
        assert (out["tallies_counted"] < out["tallies_expected"]).all()
        votes_in += _inside(out, "lower_95", "upper_95", true_votes)
        shares_in += _inside(out, "share_lower_95", "share_upper_95", true_shares)
    intervals = REPLICATIONS * len(true_votes)
    assert 0.93 <= votes_in / intervals <= 0.97
    assert 0.93 <= shares_in / intervals <= 0.97


@pytest.mark.parametrize("weighting", ["registered", "expected_tallies"])
def test_everything_counted_collapses_to_the_counted_truth(election_2000, weighting):
    sim, feed = election_2000
    out = _project(sim, feed, weighting)
    true_votes = _truth(sim)
    assert out["counted_votes"].to_list() == true_votes.astype(int).tolist()
    for column in ("projected_votes", "lower_95", "upper_95"):
        assert out[column].to_list() == true_votes.tolist(), column
    for column in ("worst_case_min", "worst_case_max"):
        assert out[column].to_list() == true_votes.astype(int).tolist(), column
    shares = (true_votes / true_votes.sum()).tolist()
    for column in ("projected_share", "share_lower_95", "share_upper_95"):
        assert out[column].to_list() == pytest.approx(shares, rel=1e-12), column
    assert out["tallies_counted"].to_list() == out["tallies_expected"].to_list() == [2_000] * 10


@pytest.mark.parametrize("weighting", ["registered", "expected_tallies"])
def test_worst_case_bounds_contain_the_truth(election_2000, weighting):
    sim, feed = election_2000
    rng = np.random.default_rng(5)
    kept = feed.filter(pl.Series(rng.uniform(size=feed.height) >= 0.3))
    out = _project(sim, kept, weighting)
    true_votes = _truth(sim)
    assert (out["worst_case_min"] <= true_votes).all()
    assert (out["worst_case_min"] < true_votes).all()  # every candidate has votes still out
    assert (out["worst_case_max"] >= true_votes).all()
    assert (out["worst_case_min"] == out["counted_votes"]).all()
    assert (out["lower_95"] >= out["counted_votes"]).all()
    assert (out["upper_95"] <= out["worst_case_max"]).all()
    if weighting == "registered":
        missing = sim.registry.join(
            kept.select("tally_code"), left_on="table_code", right_on="tally_code", how="anti"
        )
        capacity = int(missing["registered"].sum())
        assert (out["worst_case_max"] - out["counted_votes"] == capacity).all()


def test_a_state_with_no_tally_borrows_the_national_rate_with_a_wider_interval(election_2000):
    sim, feed = election_2000
    biggest = feed.group_by("state_code").len().sort("len", descending=True)["state_code"][0]
    rng = np.random.default_rng(9)
    sampled = feed.filter(pl.Series(rng.uniform(size=feed.height) >= HIDDEN))
    without = sampled.filter(pl.col("state_code") != biggest)
    full = _project(sim, sampled, "registered")
    out = _project(sim, without, "registered")
    assert out["method"].str.contains("borrow").all()
    assert not full["method"].str.contains("borrow").any()
    assert (out["projected_votes"] > out["counted_votes"]).all()
    assert ((out["upper_95"] - out["lower_95"]) > (full["upper_95"] - full["lower_95"])).all()


def test_a_single_counted_tally_still_gives_wide_intervals(election_2000):
    sim, feed = election_2000
    one = feed.head(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = _project(sim, one, "registered")
    assert out["projected_votes"].null_count() == 0
    seen = out.filter(pl.col("counted_votes") > 0)
    assert seen.height > 0
    assert ((seen["upper_95"] - seen["lower_95"]) > seen["projected_votes"] / 2).all()


def test_no_expected_count_means_no_projection(election_2000):
    sim, feed = election_2000
    kept = feed.head(500)
    out = project(kept, kept.select("tally_id", *sim.election.candidate_ids), sim.election)
    assert out.height == 10
    assert out["projected_votes"].null_count() == 10
    assert out["tallies_expected"].null_count() == 10
    counted = kept.select(sim.election.candidate_ids).sum_horizontal().sum()
    assert out["counted_votes"].sum() == counted


@pytest.mark.e2e
def test_pipeline_publishes_the_projection_while_a_drop_is_missing(ran_two_drops):
    settings = ran_two_drops.settings  # the sample run without its last drop
    out = published(settings, "select * from projection order by candidate_id")
    assert dict(zip(out.columns, out.dtypes, strict=True)) == CONTEST_SCHEMA
    assert out["contest_id"].unique().to_list() == ["sample"]  # the election's one contest
    assert out.height == 10
    assert out["weighting"].unique().to_list() == ["registered"]
    full = truth(settings)["national"]["candidates"]
    true_votes = np.array([full[c] for c in out["candidate_id"]])
    assert (out["tallies_counted"] < out["tallies_expected"]).all()
    assert _inside(out, "worst_case_min", "worst_case_max", true_votes) == 10
    assert (out["lower_95"] <= out["projected_votes"]).all()
    assert (out["projected_votes"] <= out["upper_95"]).all()
    counted = published(
        settings,
        "select candidate_id, votes from results where level = 'national' order by 1",
    )
    assert out["counted_votes"].to_list() == counted["votes"].to_list()
