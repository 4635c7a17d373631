"""A general election's results rows: share and rank read along runs of each unit's rows
(transforms/contest_results.py) equal the windows over the unit's keys that define them."""

import random

import polars as pl
import pytest

from transforms import contest_results
from transforms.contest_results import shared_and_ranked
from transforms.feed import OTHER_ID
from transforms.rollup import RESULT_COLUMNS, named

KEYS = list(RESULT_COLUMNS[:8])


def _climbed(seed: int, units: int = 400) -> pl.DataFrame:
    """Climbed votes of many small units: ties, zeros, unknown votes and `_other` lines, the
    same unit code at two levels and in two contests and sources (different units)."""
    rng = random.Random(seed)
    rows = []
    for u in range(units):
        source, contest = rng.choice(["a", "b"]), rng.choice(["president", "senate"])
        level, code = rng.choice(["state", "municipality"]), f"{u % 37:02d}"
        for candidate in rng.sample(["c1", "c2", "c3", "c4", OTHER_ID], rng.randint(1, 5)):
            votes = rng.choice([None, 0, 1, 2, 2, 5, rng.randint(0, 10**6)])
            rows.append((source, contest, level, code, "00", candidate, votes))
    frame = pl.DataFrame(
        rows,
        schema=["source_id", "contest_id", "level", "unit_code", "parent_code"]
        + ["candidate_id", "votes"],
        orient="row",
    )
    return frame.unique(["source_id", "contest_id", "level", "unit_code", "candidate_id"])


NAMES = pl.DataFrame(
    {"level": ["state"] * 37, "unit_code": [f"{i:02d}" for i in range(37)]}
).with_columns(pl.format("State {}", "unit_code").alias("unit_name"))
LINES = pl.DataFrame(
    {
        "contest_id": ["president"] * 4 + ["senate"] * 4,
        "candidate_id": ["c1", "c2", "c3", "c4"] * 2,
        "candidate_name": [f"{c} {n}" for c in ("P", "S") for n in range(4)],
    }
)


def _by_windows(climbed: pl.DataFrame) -> pl.DataFrame:
    """The definition: windows over each unit's keys, then the candidates' names."""
    ranked = contest_results._ranked_by_windows(named(climbed, NAMES))
    return contest_results.with_candidate_names(ranked, LINES)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_runs_equal_the_windows(seed):
    climbed = _climbed(seed)
    got = shared_and_ranked(climbed, NAMES, LINES)
    assert got.schema == _by_windows(climbed).schema
    assert got.sort(KEYS).equals(_by_windows(climbed).sort(KEYS))
    assert (
        got.filter(pl.col("candidate_id") == OTHER_ID)["rank"].null_count()
        == got.filter(pl.col("candidate_id") == OTHER_ID).height
    )


def test_each_unit_is_one_run_of_rows():
    """The rows come out grouped by unit (DuckDB writes them faster so)."""
    got = shared_and_ranked(_climbed(4), NAMES, LINES)
    unit = ["source_id", "contest_id", "level", "unit_code"]
    changes = got.select(
        pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift()) for c in unit).sum()
    ).item()
    assert changes == got.select(unit).unique().height  # the first row starts a run


def test_ties_share_the_better_rank_and_unknown_votes_have_none():
    climbed = pl.DataFrame(
        {
            "source_id": ["a"] * 5,
            "contest_id": ["president"] * 5,
            "level": ["state"] * 5,
            "unit_code": ["01"] * 5,
            "parent_code": ["national"] * 5,
            "candidate_id": ["c1", "c2", "c3", "c4", OTHER_ID],
            "votes": [5, 5, 3, None, 9],
        }
    )
    got = shared_and_ranked(climbed, NAMES, LINES).sort("candidate_id", descending=True)
    assert got["candidate_id"].to_list() == ["c4", "c3", "c2", "c1", OTHER_ID]
    assert got["rank"].to_list() == [None, 3, 1, 1, None]
    assert got["share"].to_list() == [None, 3 / 22, 5 / 22, 5 / 22, 9 / 22]
    assert got["unit_name"].unique().to_list() == ["State 01"]


def test_a_hash_shared_by_two_units_falls_back_to_the_windows(monkeypatch):
    climbed = _climbed(5)
    in_runs = contest_results._in_runs

    def one_hash(frame):
        return in_runs(frame).with_columns(pl.lit(7, pl.UInt64).alias("_hash"))

    monkeypatch.setattr(contest_results, "_in_runs", one_hash)
    got = shared_and_ranked(climbed, NAMES, LINES)
    assert got.sort(KEYS).equals(_by_windows(climbed).sort(KEYS))


def test_no_rows():
    got = shared_and_ranked(_climbed(6).clear(), NAMES, LINES)
    assert got.height == 0 and got.columns == list(RESULT_COLUMNS)
