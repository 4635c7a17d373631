"""Never stuck: a delivery the gate refuses to publish can be withdrawn (who, when, why), and
the next run publishes without it; a withdrawn correction restores the version it replaced."""

import polars as pl
import pytest

from tests.conftest import published
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # runs the job and the CLI


def _garbage_drop(settings, name: str) -> None:
    """A delivery whose every tally breaks E8: over the 5 % threshold, it holds publication."""
    first = (settings.landing / "tallies_001.csv").read_text().splitlines()
    rows = [",".join(["=x", *row.split(",")[1:]]) for row in first[1:6]]
    (settings.landing / name).write_text("\n".join([first[0], *rows]) + "\n")


def _national(settings) -> dict:
    frame = published(settings, "select candidate_id, votes from results where level = 'national'")
    return dict(frame.iter_rows())


def test_withdrawing_a_delivery_the_gate_refuses_lets_the_next_run_publish(
    ran_sample_copy, tallyhouse
):
    settings, sample = ran_sample_copy.settings, ran_sample_copy.sample
    args = ("--data-dir", str(settings.data_dir))
    before = _national(settings)
    _garbage_drop(settings, "tallies_009.csv")
    assert tallyhouse("run", *args).returncode != 0, "the gate holds publication"
    assert tallyhouse("run", "--full", *args).returncode != 0, "and a full rebuild does too"
    done = tallyhouse(
        "withdraw", "tallies_009.csv", "--reason", "garbage codes", "--by", "ana", *args
    )
    assert done.returncode == 0, done.stderr
    assert "Withdrew tallies_009.csv (" in done.stdout
    again = tallyhouse("withdraw", "tallies_009.csv", "--reason", "twice", *args)
    assert again.returncode == 0 and "was already withdrawn; nothing changed" in again.stdout
    assert tallyhouse("run", *args).returncode == 0
    assert _national(settings) == before
    every = pl.concat(sample.drops)
    assert before == {c: every[c].sum() for c in sample.election.candidate_ids}
    amended = published(
        settings,
        "select count(*) n, any_value(status) s, any_value(withdrawn_because) w "
        "from amendments where file_name = 'tallies_009.csv'",
    ).row(0, named=True)
    assert amended["n"] == 5 and amended["s"] == "withdrawn"
    assert amended["w"].startswith("withdrawn by ana at ") and amended["w"].endswith(
        ": garbage codes"
    )
    with connect(settings.warehouse, read_only=True) as con:
        assert con.sql("select count(*) from raw.tallies_sample").fetchall()[0][0] > 0, (
            "nothing is deleted from the raw layer"
        )


def test_withdrawing_a_correction_restores_the_version_it_replaced(ran_sample_copy, tallyhouse):
    settings = ran_sample_copy.settings
    args = ("--data-dir", str(settings.data_dir))
    before = _national(settings)
    lines = (settings.landing / "tallies_001.csv").read_text().splitlines()
    header, row = lines[0], lines[1].split(",")
    columns = header.split(",")
    c01, c02 = columns.index("c01"), columns.index("c02")
    moved = min(5, int(row[c02]))  # votes moved between candidates: every rule still holds
    row[c01], row[c02] = str(int(row[c01]) + moved), str(int(row[c02]) - moved)
    (settings.landing / "tallies_010.csv").write_text(header + "\n" + ",".join(row) + "\n")
    assert tallyhouse("run", *args).returncode == 0
    assert _national(settings)["c01"] == before["c01"] + moved > before["c01"]
    assert tallyhouse("withdraw", "tallies_010.csv", "--reason", "typo", *args).returncode == 0
    assert tallyhouse("run", *args).returncode == 0
    assert _national(settings) == before


def test_an_unknown_delivery_is_a_one_line_usage_error(ran_sample_copy, tallyhouse):
    args = ("--data-dir", str(ran_sample_copy.settings.data_dir))
    done = tallyhouse("withdraw", "nosuch.csv", "--reason", "x", *args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no delivered feed file is named 'nosuch.csv'" in done.stderr
