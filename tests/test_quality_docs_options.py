"""`tallyhouse quality --docs` renders every kept validation result: the issue filters do not
apply to it, so giving one is refused in one line (before, they were silently ignored), and
--election is checked as the issue listing checks it."""

import pytest

from warehouse.db import connect
from warehouse.raw_load import bind_election
from warehouse.schema import ensure_schema


@pytest.mark.parametrize(
    "given, named",
    [
        (["--rule", "E2"], "--rule"),
        (["--severity", "warn"], "--severity"),
        (["--limit", "5"], "--limit"),
        (["--rule", "E2", "--limit", "5"], "--rule or --limit"),
    ],
)
def test_docs_refuses_the_issue_filters_in_one_line(tallyhouse, tmp_path, given, named):
    done = tallyhouse("quality", "--data-dir", str(tmp_path), "--docs", *given)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"it takes no {named}" in done.stderr
    assert not (tmp_path / "gx").exists()


def test_docs_checks_the_election_like_the_listing(tallyhouse, tmp_path):
    with connect(tmp_path / "warehouse.duckdb") as con:
        ensure_schema(con)
        bind_election(con, "ve2024")
    done = tallyhouse("quality", "--data-dir", str(tmp_path), "--docs", "--election", "sample")
    assert done.returncode == 2
    assert "holds election 've2024', not 'sample'" in done.stderr
    unknown = tallyhouse("quality", "--data-dir", str(tmp_path), "--docs", "--election", "nope")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
