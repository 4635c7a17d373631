"""The last change as the steps after the quality gate see it: read from the delta tables that
the last staging run (warehouse/staged_merge.py) and quality gate (warehouse/quality_merge.py)
left.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from transforms.accepted import ACCEPTED_SQL
from warehouse.db import registered
from warehouse.tables import read_votes_wide


@dataclass(frozen=True)
class Change:
    """The replaced tallies (before) and the restaged ones (after), each with their wide votes,
    the ids of those accepted, and their issues."""

    before_tallies: pl.DataFrame
    before_votes: pl.DataFrame
    before_accepted: pl.DataFrame  # tally_id
    before_issues: pl.DataFrame
    after_tallies: pl.DataFrame
    after_votes: pl.DataFrame
    after_accepted: pl.DataFrame  # tally_id
    after_issues: pl.DataFrame

    def accepted_sides(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The replaced tallies that were accepted, and the restaged ones that are."""
        return (
            self.before_tallies.join(self.before_accepted, on="tally_id", how="semi"),
            self.after_tallies.join(self.after_accepted, on="tally_id", how="semi"),
        )


def read_change(con: duckdb.DuckDBPyConnection, candidate_ids: list[str]) -> Change:
    """The delta tables the last staging run and quality gate left."""
    delta = con.sql("select * from quality.delta").pl()
    after = con.sql(
        "select t.* from staged.tallies t semi join staged.delta_added using (tally_id)"
    ).pl()
    return Change(
        before_tallies=con.sql("select * from staged.delta_removed").pl(),
        before_votes=read_votes_wide(con, candidate_ids, table="delta_removed_votes"),
        before_accepted=delta.filter(sign=-1).select("tally_id"),
        before_issues=con.sql("select * from quality.delta_removed_issues").pl(),
        after_tallies=after,
        after_votes=read_votes_wide(con, candidate_ids, ids=after),
        after_accepted=delta.filter(sign=1).select("tally_id"),
        after_issues=con.sql(
            "select i.* from quality.issues i semi join staged.delta_added using (tally_id)"
        ).pl(),
    )


def read_change_long_votes(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A general election's long votes (tally_id, candidate_id, votes) of the last change's
    removed and added tallies: its results are climbed per line, not per candidate column."""
    columns = "v.tally_id, v.candidate_id, v.votes"
    before = con.sql(f"select {columns} from staged.delta_removed_votes v").pl()
    after = con.sql(
        f"select {columns} from staged.tally_votes v semi join staged.delta_added a "
        "on v.tally_id = a.tally_id"
    ).pl()
    return before, after


def read_line_holders(
    con: duckdb.DuckDBPyConnection, lost: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The accepted tallies of the sources and contests of `lost` (source_id, contest_id,
    candidate_id) and their long votes of those lines, after the change."""
    with registered(con, {"lost_lines": lost}):
        tallies = con.sql(
            f"select t.* from {ACCEPTED_SQL} t semi join lost_lines l "
            "on t.source_id = l.source_id and t.contest_id = l.contest_id"
        ).pl()
    with registered(con, {"holder_ids": tallies.select("tally_id"), "lost_lines": lost}):
        votes = con.sql(
            "select v.tally_id, v.candidate_id, v.votes from staged.tally_votes v "
            "semi join holder_ids h on v.tally_id = h.tally_id "
            "where v.candidate_id in (select candidate_id from lost_lines)"
        ).pl()
    return tallies, votes
