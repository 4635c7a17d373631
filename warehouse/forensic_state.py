"""The forensic step's warehouse I/O: its state tables (followers of the quality gate) and the
accepted tallies it reads, all of them or only those of some centres."""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.accepted import ACCEPTED_SQL
from transforms.forensics.mart import ForensicState
from transforms.refresh import Plan, Stamp
from warehouse.db import ident, registered
from warehouse.refresh_state import plan_follower, read_follower, write_followers
from warehouse.tables import read_long_votes, read_votes_wide

FOLLOWERS = {
    "digits": "forensic_digits",
    "units": "forensic_units",
    "centres": "forensic_centres",
    "outliers": "forensic_outliers",
}


def plan_forensics(con: duckdb.DuckDBPyConnection) -> Plan:
    """Incremental only when every state table is the previous generation's (they move in
    lockstep); full otherwise, with the first reason found."""
    plans = [plan_follower(con, name) for name in FOLLOWERS.values()]
    return next((p for p in plans if not p.incremental), plans[0])


def read_forensic_state(con: duckdb.DuckDBPyConnection) -> ForensicState:
    return ForensicState(**{key: read_follower(con, name) for key, name in FOLLOWERS.items()})


def write_forensic_state(
    con: duckdb.DuckDBPyConnection, state: ForensicState, stamp: Stamp
) -> None:
    """Each table with its generation stamp, all in one transaction (a stale or missing one
    would make the next run take the full path)."""
    write_followers(con, {FOLLOWERS[k]: frame for k, frame in state.frames().items()}, stamp)


def read_accepted_of_centres(
    con: duckdb.DuckDBPyConnection,
    candidate_ids: list[str],
    centre_column: str,
    centres: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The accepted tallies of these centres (source_id, centre; the centre's code column), and
    their votes, a column per candidate. A full run starts from every tally instead
    (warehouse.run_frames.RunFrames.staged)."""
    with registered(con, {"wanted_centres": centres.select("source_id", "centre")}):
        tallies = con.sql(
            f"select a.* from {ACCEPTED_SQL} a semi join wanted_centres w "
            f"on w.source_id = a.source_id and w.centre = a.{ident(centre_column)}"
        ).pl()
    return tallies, read_votes_wide(con, candidate_ids, ids=tallies)


def read_accepted_of_contest_centres(
    con: duckdb.DuckDBPyConnection, centre_column: str | None, centres: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A general election's: the accepted tallies of these centres of these contests
    (contest_id, source_id, centre; the centre's code column) and their long votes
    (tally_id, candidate_id, votes). Nothing is read without centres (none wanted, or an
    election of one level: centre_column None)."""
    if centre_column is None or not centres.height:
        return pl.DataFrame(schema={"tally_id": pl.Int64, "contest_id": pl.String}), pl.DataFrame(
            schema={"tally_id": pl.Int64, "candidate_id": pl.String, "votes": pl.Int64}
        )
    wanted = centres.select("contest_id", "source_id", "centre")
    with registered(con, {"wanted_centres": wanted}):
        tallies = con.sql(
            f"select a.* from {ACCEPTED_SQL} a semi join wanted_centres w "
            "on w.contest_id = a.contest_id and w.source_id = a.source_id "
            f"and w.centre = a.{ident(centre_column)}"
        ).pl()
    return tallies, read_long_votes(con, tallies)


def read_centres_counting(
    con: duckdb.DuckDBPyConnection, centre_column: str | None, lines: pl.DataFrame
) -> pl.DataFrame:
    """A general election's: contest_id, source_id, centre of the accepted tallies giving one
    of these lines a count (lines: contest_id, source_id, candidate_id). Nothing is read
    without lines or without centres (an election of one level: centre_column None)."""
    if centre_column is None or not lines.height:
        return pl.DataFrame(
            schema={"contest_id": pl.String, "source_id": pl.String, "centre": pl.String}
        )
    wanted = lines.select("contest_id", "source_id", "candidate_id")
    with registered(con, {"wanted_lines": wanted}):
        return con.sql(
            f"select distinct a.contest_id, a.source_id, a.{ident(centre_column)} as centre "
            f"from {ACCEPTED_SQL} a join staged.tally_votes v on v.tally_id = a.tally_id "
            "semi join wanted_lines w on w.contest_id = a.contest_id "
            "and w.source_id = a.source_id and w.candidate_id = v.candidate_id "
            "where v.votes is not null"
        ).pl()
