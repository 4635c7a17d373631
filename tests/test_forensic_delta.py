"""The forensic state moved by drops gives the same mart as one computed from all the tallies."""

import shutil
from dataclasses import replace

import dagster as dg
import polars as pl
import pytest

from landing.files import write_synthetic
from orchestration.assets.keys import MART_FORENSICS
from orchestration.runner import run_tally_job
from orchestration.sensors import FULL_TAG
from tests.conftest import published, run
from tests.test_forensics import as_accepted
from transforms.delta import NeedsFullBuild, add_stats
from transforms.forensics.delta import touched_centres, updated_state, updated_stats
from transforms.forensics.digits import GROUP, digit_stats
from transforms.forensics.mart import (
    UNIT_KEYS,
    counts_of,
    forensic_mart,
    forensic_state,
    tally_digit_stats,
    tally_frame,
    unit_stats,
)
from transforms.synthetic.election import generate
from transforms.synthetic.faults import inject_faults
from warehouse.db import connect

CENTRE = "centre_code"


def frame_of(feed: pl.DataFrame, election) -> pl.DataFrame:
    """Canonical feed rows → tally_frame rows, as the asset computes them."""
    accepted, votes = as_accepted(feed, election)
    return tally_frame(accepted, votes, election)


def smallest_candidate(state, election) -> str:
    """The candidate with the fewest votes over a forensic state's units (far below F2's 5 %)."""
    totals = state.units.select(election.candidate_ids).sum().transpose(include_header=True)
    return totals.sort("column_0")["column"][0]


def stuff(feed: pl.DataFrame, table_code: str) -> pl.DataFrame:
    """Ballot stuffing at one table: turnout ~99 %, c01 ~97 % of the valid votes, consistent."""
    at = pl.col("table_code") == table_code
    total = (pl.col("registered") * 0.99).floor().cast(pl.Int64)
    c01 = (total * 0.97).floor().cast(pl.Int64)
    others = [c for c in feed.columns if c[1:].isdigit() and c not in ("c01", "c02")]
    return feed.with_columns(
        *[
            pl.when(at).then(v).otherwise(c).alias(c)
            for c, v in [
                ("total_votes", total),
                ("valid_votes", total),
                ("c01", c01),
                ("c02", total - c01),
            ]
        ],
        *[pl.when(at).then(0).otherwise(pl.col(c)).alias(c) for c in ("null_votes", "blank_votes")],
        *[pl.when(at).then(0).otherwise(pl.col(c)).alias(c) for c in others],
    )


def late_table_of_an_examined_centre(drops: list[pl.DataFrame]) -> str:
    """A table of the last drop whose centre already had at least 4 tables before it."""
    earlier = pl.concat(drops[:-1]).group_by(CENTRE).len().filter(pl.col("len") >= 4)
    late = drops[-1].join(earlier, on=CENTRE, how="semi").sort("table_code")
    assert late.height, "the generated election has such a table"
    return late["table_code"][0]


def test_statistics_of_a_union_are_the_sum_of_the_parts():
    sample = generate(3_000, seed=5, drops=2)
    election = sample.election
    a, b = (frame_of(d, election) for d in sample.drops)
    both = pl.concat([a, b])
    empty = a.clear()
    for stats, keys, count in (
        (lambda f: digit_stats(counts_of(f, election)), GROUP, "counts"),
        (lambda f: unit_stats(f, election), UNIT_KEYS, "tallies"),
    ):
        summed = add_stats(stats(a), stats(empty), stats(b), keys, count=count)
        assert summed.equals(stats(both))
        assert summed["n" if count == "counts" else "tallies"].sum() > 0
    # and back: removing b again gives a's statistics
    digits = digit_stats(counts_of(both, election))
    removed = add_stats(
        digits, digit_stats(counts_of(b, election)), digits.clear(), GROUP, "counts"
    )
    assert removed.equals(digit_stats(counts_of(a, election)))


def test_a_drop_applied_to_the_state_gives_the_mart_of_all_the_tallies():
    sample = generate(3_000, seed=9, drops=3)
    election = sample.election
    drops = [d.with_row_index("row") for d in sample.drops]
    outlier = late_table_of_an_examined_centre(drops)
    drops[-1] = stuff(drops[-1], outlier)
    first = frame_of(pl.concat(drops[:2]).drop("row"), election)
    old = forensic_state(first, election)
    # the last drop, plus an amendment of a tally of an examined centre (one vote fewer for c01)
    examined = old.centres["centre"]
    amended_code = pl.concat(drops[:2]).filter(pl.col(CENTRE).is_in(examined.implode()))[
        "table_code"
    ][0]
    before = first.filter(tally_code=amended_code)
    amendment = before.with_columns(pl.col("c01") - 1, pl.col("valid_votes") - 1)
    after = pl.concat([frame_of(drops[-1].drop("row"), election), amendment])
    new_accepted = pl.concat([first.filter(pl.col("tally_code") != amended_code), after])
    touched = touched_centres(before, after)
    assert touched.join(old.centres, on=["source_id", "centre"], how="semi").height
    centre_tallies = new_accepted.join(touched, on=["source_id", "centre"], how="semi")

    moved = updated_state(old, before, after, centre_tallies, election)
    fresh = forensic_state(new_accepted, election)
    for name, frame in fresh.frames().items():
        assert moved.frames()[name].equals(frame), name
    mart = forensic_mart(moved, None, election)
    assert mart.equals(forensic_mart(fresh, None, election))
    flagged = mart.filter(check_id="F2", level=election.tally_level)["unit_code"].to_list()
    assert outlier in flagged  # the stuffed table, arrived in the drop, is flagged
    assert outlier not in forensic_mart(old, None, election)["unit_code"].to_list()


def test_a_drop_that_changes_the_main_candidates_asks_for_a_full_build():
    sample = generate(1_000, seed=3, drops=1)
    election = sample.election
    tallies = frame_of(sample.drops[0], election)
    old = forensic_state(tallies, election)
    minor = smallest_candidate(old, election)
    boosted = tallies.with_columns(pl.col(minor) + 10 * pl.col("valid_votes"))
    with pytest.raises(NeedsFullBuild, match="main"):
        updated_stats(old, tallies, boosted, election)


def forensic_mode(result: dg.ExecuteInProcessResult) -> str:
    return next(
        e.event_specific_data.materialization.metadata["mode"].value
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key == MART_FORENSICS
    )


@pytest.mark.e2e
def test_forensics_follow_drops_incrementally_and_equal_a_full_run(settings, tmp_path):
    settings = replace(settings, quarantine_threshold=0.5)
    rates = {"E1": 0.01, "E5": 0.01, "W3": 0.05}  # W3: amendments of earlier tallies, last drop
    clean = generate(1_500, seed=17, drops=3)
    outlier = late_table_of_an_examined_centre(clean.drops)
    stuffed = replace(clean, drops=[*clean.drops[:-1], stuff(clean.drops[-1], outlier)])
    sample = inject_faults(stuffed, rates, seed=17)
    drops = sample.drops
    write_synthetic(sample, settings.landing)
    paths = sorted(settings.landing.glob("tallies_*.csv"))
    held = tmp_path / "held"
    held.mkdir()
    for path in paths:
        shutil.move(path, held / path.name)
    seen = []
    for path in paths:
        if path == paths[-1]:  # the centres F2 examined before the amendments arrive
            with connect(settings.warehouse, read_only=True) as con:
                examined = con.sql("select centre from marts.forensic_centres").pl()
        shutil.move(held / path.name, path)
        result = run(settings)
        assert result.success
        seen.append(forensic_mode(result))
    assert seen == ["full", "incremental", "incremental"]
    amended = pl.concat(drops[:-1]).join(drops[-1], on="table_code", how="semi")
    assert amended.join(examined, left_on=CENTRE, right_on="centre", how="semi").height, (
        "an amendment touched a centre F2 had examined"
    )
    incremental = published(settings, "select * from forensics")
    assert outlier in incremental.filter(check_id="F2")["unit_code"].to_list()

    with dg.DagsterInstance.ephemeral() as instance:
        result = run_tally_job(settings, instance, show_progress=False, tags={FULL_TAG: "true"})
    assert result.success and forensic_mode(result) == "full"
    assert published(settings, "select * from forensics").equals(incremental)


def test_digit_statistics_in_place_equal_those_of_the_unpivoted_counts():
    sample = generate(3_000, seed=21, drops=1)
    election = sample.election
    tallies = frame_of(pl.concat(sample.drops), election).with_row_index("_i")
    # a few unknown counts: they are no count at all, not a zero
    tallies = tallies.with_columns(
        pl.when(pl.col("_i") % 97 == 0).then(None).otherwise(pl.col("c03")).alias("c03")
    ).drop("_i")
    assert tally_digit_stats(tallies, election).equals(digit_stats(counts_of(tallies, election)))
    empty = tallies.clear()
    assert tally_digit_stats(empty, election).equals(digit_stats(counts_of(empty, election)))
