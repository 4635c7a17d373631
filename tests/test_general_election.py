"""A generated general election through the whole pipeline: every contest's totals, nationally
and in every district (some cutting across states, some per state or municipality, one
vote-for-2), equal the generator's truth exactly."""

import json
from dataclasses import replace

import pytest

from landing.synthetic_general import write_synthetic_general
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import published, run
from transforms.synthetic.general import generate_general

pytestmark = pytest.mark.e2e


def _lines(candidates: dict) -> dict:
    """Truth's labels as the results name them: write-ins are the `_other` line, over and
    under votes are the turnout's null and blank votes."""
    out = {
        k: v for k, v in candidates.items() if k not in ("OVER VOTES", "UNDER VOTES", "WRITE-IN")
    }
    out["_other"] = candidates["WRITE-IN"]
    return out


@pytest.fixture(scope="module")
def general(tmp_path_factory):
    settings = replace(Settings(tmp_path_factory.mktemp("general") / "data"), election="general")
    prepare_data_dir(settings)
    write_synthetic_general(generate_general(600, contests=5, seed=3, drops=2), settings.landing)
    assert run(settings).success
    return settings, json.loads((settings.landing / "truth.json").read_text())


def test_every_contest_and_district_reproduces_the_truth(general):
    settings, truth = general
    assert published(settings, "select count(distinct contest_id) from results").item() == len(
        truth["contests"]
    )
    checked = 0
    for cid, contest in truth["contests"].items():
        units = [("national", "national", contest["national"])]
        units += [(contest["district"], code, d) for code, d in contest["districts"].items()]
        for level, code, figures in units:
            rows = published(
                settings,
                "select candidate_id, votes from results "
                "where contest_id = ? and level = ? and unit_code = ?",
                [cid, level, code],
            )
            assert dict(rows.iter_rows()) == _lines(figures["candidates"]), (cid, level, code)
            checked += 1
    assert checked > 50


def test_a_district_across_states_and_the_vote_for_2_contest(general):
    settings, truth = general
    spanning = published(
        settings,
        "select count(*) from (select r.unit_code from results r where r.level = 'district' "
        "and r.candidate_id = '_other' group by 1) d",
    ).item()
    assert spanning == sum(1 for c in truth["contests"].values() if c["district"] == "district")
    two = [c for c, v in truth["contests"].items() if v["vote_for"] == 2]
    assert two
    winners = published(
        settings,
        "select count(*) from results where contest_id = ? and level = 'state' and rank <= 2",
        [two[0]],
    ).item()
    assert winners >= 2 * len(truth["contests"][two[0]]["districts"])
