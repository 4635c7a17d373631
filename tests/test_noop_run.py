"""A run that loads nothing publishes nothing: the published file, its history and its stamp stay
as they are; the next drop is still applied incrementally; a full run and a first run publish."""

import hashlib
import shutil
from dataclasses import replace

import dagster as dg
import pytest

from orchestration.runner import published, run_tally_job
from orchestration.sensors import FULL_TAG
from tests.conftest import assert_same_marts, mart_snapshot, run
from tests.test_incremental import modes
from warehouse.configs import shipped_elections
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshots(settings) -> list[str]:
    """The runs history.results_history holds a snapshot of, in the warehouse."""
    with connect(settings.warehouse, read_only=True) as con:
        found = con.sql("select distinct run_id from history.results_history order by 1")
        return [row[0] for row in found.fetchall()]


def test_a_run_with_nothing_new_leaves_the_published_file_and_its_history(ran_sample_copy):
    settings = ran_sample_copy.settings
    before, history = digest(settings.published), snapshots(settings)
    result = run(settings)
    assert result.success
    assert not published(result)
    assert digest(settings.published) == before, "the published file is byte for byte the same"
    assert snapshots(settings) == history and len(history) == 1
    assert not any(p.name.endswith(".pending") for p in settings.data_dir.iterdir())


def test_the_drop_after_an_unchanged_run_is_applied_incrementally(ran_two_drops_copy, ran_sample):
    settings = ran_two_drops_copy.settings
    assert not published(run(settings))
    assert not published(run(settings)), "twice unchanged: still nothing to publish"
    shutil.move(ran_two_drops_copy.held / "tallies_003.csv", settings.landing / "tallies_003.csv")
    result = run(settings)
    assert result.success and published(result)
    assert modes(result)["marts"] == "incremental"
    assert len(snapshots(settings)) == 2
    assert_same_marts(mart_snapshot(ran_sample.settings), mart_snapshot(settings))


def test_a_full_run_publishes_even_with_nothing_new(ran_sample_copy):
    settings = ran_sample_copy.settings
    marts = mart_snapshot(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_tally_job(settings, instance, show_progress=False, tags={FULL_TAG: "true"})
    assert result.success and published(result)
    assert len(snapshots(settings)) == 2
    assert_same_marts(marts, mart_snapshot(settings))


def test_a_changed_configuration_publishes(ran_sample_copy, tmp_path):
    """The election's configuration files changed with nothing landed: published again."""
    settings = ran_sample_copy.settings
    elections = tmp_path / "elections"
    shutil.copytree(shipped_elections(), elections)
    moved = replace(settings, elections_dir=elections)
    assert not published(run(moved)), "the same files elsewhere are the same configuration"
    toml = elections / settings.election / "election.toml"
    toml.write_text(toml.read_text() + "\n# edited\n")
    again = run(moved)
    assert again.success and published(again)


def test_the_cli_says_nothing_new_in_one_line(ran_sample_copy, tallyhouse):
    settings = ran_sample_copy.settings
    before = digest(settings.published)
    done = tallyhouse("run", "--data-dir", str(settings.data_dir))
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]  # after the steps' progress lines
    assert last.startswith("Run ") and "nothing new" in last and "is unchanged." in last
    assert "Published marts" not in done.stdout, "no summary of a publication that did not happen"
    assert digest(settings.published) == before
