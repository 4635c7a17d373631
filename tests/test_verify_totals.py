"""`tallyhouse verify` recounts the published national totals from the raw layer: the accepted
tallies of the current deliveries, staged again, summed per source, contest and candidate."""

import polars as pl
import pytest

from landing.files import write_synthetic
from transforms.synthetic.election import generate
from transforms.synthetic.faults import inject_faults
from warehouse.db import connect
from warehouse.verify_totals import TotalDifference, compare_totals


def totals(rows) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["source_id", "contest_id", "candidate_id", "votes"], orient="row"
    )


def test_compare_names_each_line_that_differs_or_is_missing():
    published = totals([("s", "k", "a", 10), ("s", "k", "b", 5), ("s", "k", "z", 0)])
    recomputed = totals([("s", "k", "a", 10), ("s", "k", "b", 6), ("s", "k", "c", 2)])
    verdict = compare_totals(recomputed, published)
    assert verdict.compared == 4
    assert verdict.differences == [
        TotalDifference("s", "k", "b", 5, 6),
        TotalDifference("s", "k", "c", None, 2),
    ], "a line of no votes on one side and absent on the other is no difference"


@pytest.mark.e2e
def test_verify_agrees_then_names_a_tampered_national_total(settings, tallyhouse):
    # faults: quarantined tallies (E2, E3), amendments (W3), duplicates: all left out or
    # superseded the same way by the recount
    sample = inject_faults(
        generate(400, seed=51, drops=3), {"E2": 0.02, "E3": 0.02, "W3": 0.02}, seed=51
    )
    write_synthetic(sample, settings.landing)
    args = ("--data-dir", str(settings.data_dir))
    done = tallyhouse("run", *args, "--quarantine-threshold", "1")
    assert done.returncode == 0, done.stderr
    done = tallyhouse("verify", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "national total(s) of the published results" in done.stdout
    assert "equal the raw layer's recount" in done.stdout
    with connect(settings.published) as con:  # tamper: one national figure, one vote more
        contest, candidate, votes = con.sql(
            "select contest_id, candidate_id, votes from results where level = 'national' "
            "order by candidate_id limit 1"
        ).fetchall()[0]
        con.execute(
            "update results set votes = votes + 1 where level = 'national' "
            "and contest_id = ? and candidate_id = ?",
            [contest, candidate],
        )
    done = tallyhouse("verify", *args)
    assert done.returncode == 1
    assert (
        f"contest {contest}, candidate {candidate}: published {votes + 1:,}, "
        f"recomputed from the raw layer {votes:,}"
    ) in done.stdout
    assert "1 of " in done.stdout and "differ from the raw layer's recount" in done.stdout


@pytest.mark.e2e
def test_a_withdrawn_delivery_is_left_out_of_the_recount_too(settings, tallyhouse):
    write_synthetic(generate(300, seed=52, drops=3), settings.landing)
    args = ("--data-dir", str(settings.data_dir))
    assert tallyhouse("run", *args).returncode == 0
    withdrawn = tallyhouse("withdraw", *args, "tallies_002.csv", "--reason", "a test")
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert tallyhouse("run", *args).returncode == 0
    done = tallyhouse("verify", *args)
    assert done.returncode == 0, done.stdout + done.stderr
