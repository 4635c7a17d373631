"""announced_vs_tallied's bound on the ballots still to come reads the registry's registered
voters as rule E2 does (trimmed), and bounds nothing where an uncounted unit has no figure."""

import polars as pl

from orchestration.mart_builds import _uncounted_registered
from warehouse.configs import load_election


def test_uncounted_registered_is_read_as_e2_reads_it_and_unbounded_without_a_figure():
    election = load_election("sample").election
    code = election.code_column(election.tally_level)
    registry = pl.DataFrame({code: ["t1", "t2", "t3"], "registered": [" 100", "250", "80 "]})
    accepted = pl.DataFrame({"source_id": ["a", "b"], "tally_code": ["t2", "t1"]})
    assert _uncounted_registered(registry, accepted, election) == {"a": 180, "b": 330}
    # a unit without a list (0) or whose figure is no number bounds nothing while uncounted
    for figure in ("0", "n/a", None):
        unlisted = pl.DataFrame({code: ["t1", "t2", "t3"], "registered": [figure, "250", "80"]})
        assert _uncounted_registered(unlisted, accepted, election) == {"a": None, "b": 330}
