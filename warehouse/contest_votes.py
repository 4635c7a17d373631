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
    (quarantined, of a canvass) are among them: it keeps those of its own tallies.

    In tally_id order (staging writes them ballot position by position): both steps join and
    group them on a sorted key, and a frame polars knows is sorted is not sorted again, so
    the steps that share this read (warehouse.run_frames.RunFrames.cast_votes) sort once.
    candidate_id is Categorical: the steps match, map, group and pivot a contest's few lines
    over its millions of votes, each about ten times cheaper on the codes than on the strings
    (the cast is paid once per run); what they keep or publish carries the ids as String."""
    return (
        con.sql(
            "select tally_id, candidate_id, votes from staged.tally_votes "
            "where contest_id = ? and votes is not null",
            params=[contest],
        )
        .pl()
        .sort("tally_id")
        .with_columns(pl.col("candidate_id").cast(pl.Categorical))
    )
