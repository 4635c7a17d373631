"""A general election's long votes read contest by contest, for the forensics and projection
steps' full builds."""

from __future__ import annotations

import duckdb
import polars as pl


def read_cast_votes_of_contest(con: duckdb.DuckDBPyConnection, contest: str) -> pl.DataFrame:
    """The cast long votes (tally_id, candidate_id, votes: a count) of every staged tally of
    one contest. staged.tally_votes carries its tally's contest_id (staging writes it), so a
    contest's votes are read on their own: reading every vote of the accepted tallies and
    joining them with the tallies to split them by contest was a third of the forensics
    step's time at 300,000 tallies x 3. Votes of tallies the caller does not examine
    (quarantined, of a canvass) are among them: it keeps those of its own tallies."""
    return con.sql(
        "select tally_id, candidate_id, votes from staged.tally_votes "
        "where contest_id = ? and votes is not null",
        params=[contest],
    ).pl()
