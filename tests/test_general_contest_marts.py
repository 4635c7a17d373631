"""A generated general election's projection, forensics and announced totals, contest by
contest: run with the first of three drops landed (a share of the tables missing), then with
all of them. Truth comes from the generator (transforms/synthetic/general.py)."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from landing.synthetic_general import write_synthetic_general
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import published, run
from transforms.synthetic.general import generate_general

pytestmark = pytest.mark.e2e

ELECTIONS = Path(__file__).resolve().parents[1] / "elections"
SPECIAL = ("OVER VOTES", "UNDER VOTES", "WRITE-IN")


def _candidates(figures: dict) -> dict[str, int]:
    return {k: v for k, v in figures["candidates"].items() if k not in SPECIAL}


def _announced(truth: dict) -> str:
    """Two bulletins of the president (one with the final figures, one that no count can
    reach) and one of the vote-for-2 senate, written as an authority would."""
    final = _candidates(truth["contests"]["president"]["national"])
    first, second = sorted(final, key=final.get, reverse=True)[:2]
    senate = _candidates(truth["contests"]["senator-vote-for-2"]["national"])
    top = max(senate, key=senate.get)
    return (
        '[[bulletin]]\nid = "final"\ncontest = "president"\n[bulletin.votes]\n'
        f'"{first}" = {final[first]}\n"{second}" = {final[second]}\n\n'
        '[[bulletin]]\nid = "inflated"\ncontest = "president"\n[bulletin.votes]\n'
        f'"{first}" = {final[first] + 500_000}\n"{second}" = {max(final[second] - 1000, 0)}\n\n'
        '[[bulletin]]\nid = "senate"\ncontest = "senator-vote-for-2"\n[bulletin.votes]\n'
        f'"{top}" = {senate[top]}\n'
    )


def _marts(settings: Settings) -> dict[str, pl.DataFrame]:
    return {
        name: published(settings, f"select * from {name}")
        for name in ("projection", "forensics", "announced_vs_tallied", "coverage")
    }


@pytest.fixture(scope="module")
def general(tmp_path_factory):
    root = tmp_path_factory.mktemp("general_marts")
    elections = root / "elections"
    shutil.copytree(ELECTIONS / "general", elections / "general")
    settings = replace(
        Settings(root / "data"), election="general", elections_dir=elections.resolve()
    )
    prepare_data_dir(settings)
    write_synthetic_general(generate_general(600, contests=5, seed=11, drops=3), settings.landing)
    truth = json.loads((settings.landing / "truth.json").read_text())
    (elections / "general" / "announced.toml").write_text(_announced(truth))
    later = root / "later"
    later.mkdir()
    for name in ("general_002.csv", "general_003.csv"):
        shutil.move(settings.landing / name, later / name)
    assert run(settings).success
    partial = _marts(settings)
    for name in ("general_002.csv", "general_003.csv"):
        shutil.move(later / name, settings.landing / name)
    assert run(settings).success
    return partial, _marts(settings), truth


def test_everything_counted_the_projection_of_every_contest_is_its_count(general):
    _, full, truth = general
    projection = full["projection"]
    assert set(projection["contest_id"]) == set(truth["contests"])
    for cid, contest in truth["contests"].items():
        rows = projection.filter(contest_id=cid)
        counted = dict(rows.group_by("candidate_id").agg(pl.col("counted_votes").sum()).iter_rows())
        assert counted == _candidates(contest["national"]), cid
        if contest["district"] in (None, "state"):  # units known: the whole area, or a state's
            assert (rows["tallies_counted"] == rows["tallies_expected"]).all(), cid
            assert (rows["projected_votes"] == rows["counted_votes"]).all(), cid
            assert (rows["lower_95"] == rows["upper_95"]).all(), cid
    governor = projection.filter(contest_id="governor")
    for code, figures in truth["contests"]["governor"]["districts"].items():
        own = governor.filter(pl.col("method").str.ends_with(f"within state {code}"))
        assert dict(own.select("candidate_id", "counted_votes").iter_rows()) == _candidates(figures)
        shares = _candidates(figures)
        valid = sum(shares.values())
        for candidate, share in own.select("candidate_id", "projected_share").iter_rows():
            assert share == pytest.approx(shares[candidate] / valid)


def test_with_a_share_missing_the_projection_brackets_the_final_result(general):
    partial, _, truth = general
    president = partial["projection"].filter(contest_id="president")
    final = _candidates(truth["contests"]["president"]["national"])
    assert president.height == len(final)
    assert (president["tallies_counted"] < president["tallies_expected"]).all()
    assert president["tallies_expected"].unique().to_list() == [600]
    valid = sum(final.values())
    for row in president.iter_rows(named=True):
        truth_votes = final[row["candidate_id"]]
        assert row["counted_votes"] <= truth_votes <= row["worst_case_max"]
        assert row["lower_95"] <= row["projected_votes"] <= row["upper_95"]
        if truth_votes > 0.05 * valid:  # the main candidates: inside the interval, share close
            assert row["lower_95"] <= truth_votes <= row["upper_95"], row
            assert row["projected_share"] == pytest.approx(truth_votes / valid, abs=0.03)


def test_forensics_rows_per_contest(general):
    _, full, truth = general
    forensics = full["forensics"]
    assert set(forensics["contest_id"]) == set(truth["contests"])  # each has >= 20 tallies
    for cid in truth["contests"]:
        own = forensics.filter(contest_id=cid)
        assert set(own["check_id"]) == {"F1", "F2", "F3"}, cid
        national = own.filter(check_id="F3", level="national")
        assert national["n"].to_list() == [truth["contests"][cid]["national"]["tallies"]], cid
    named = forensics.filter(pl.col("candidate_id").is_not_null())["candidate_id"]
    labels = {k for c in truth["contests"].values() for k in _candidates(c["national"])}
    assert set(named) <= labels  # the contests' own candidates, never a ballot slot


def test_announced_bulletins_per_contest(general):
    partial, full, truth = general
    announced = full["announced_vs_tallied"]
    agreed = announced.filter(bulletin_id="final")
    assert agreed["contest_id"].unique().to_list() == ["president"]
    assert (agreed["difference"] == 0).all() and agreed["possible"].all()
    assert agreed["bulletin_possible"].all()
    inflated = announced.filter(bulletin_id="inflated")
    assert inflated.filter(pl.col("difference") > 0)["possible"].to_list() == [False]
    assert inflated.filter(pl.col("difference") < 0)["tallied_exceeds_announced"].to_list() == [
        True
    ]
    assert not inflated["bulletin_possible"].any()
    senate = announced.filter(bulletin_id="senate")
    assert senate["contest_id"].to_list() == ["senator-vote-for-2"]
    assert senate["difference"].to_list() == [0]
    # a share missing: the final figures need votes from the uncounted tallies, which their
    # registered voters can hold (the registry's units without a counted president tally)
    early = partial["announced_vs_tallied"].filter(bulletin_id="final")
    coverage = partial["coverage"].filter(contest_id="president", level="national")
    assert early["uncounted_tallies"].unique().to_list() == [600 - coverage["counted"].item()]
    assert early["capacity_basis"].unique().to_list() == ["registered voters of uncounted units"]
    assert (early["votes_needed"] > 0).all() and early["possible"].all()
    assert early["bulletin_possible"].all()
    registered = truth["contests"]["president"]["national"]["registered"]
    assert 0 < early["uncounted_capacity"].unique().item() < registered
