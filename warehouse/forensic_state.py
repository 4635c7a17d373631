"""The forensic step's warehouse I/O: its state tables (followers of the quality gate) and the
accepted tallies it reads, all of them or only those of some centres."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import polars as pl

from transforms.forensics import ForensicState
from warehouse.db import ident
from warehouse.increments import FULL, LayerState, plan_follower, read_follower, write_followers
from warehouse.tables import read_votes_wide

FOLLOWERS = {
    "digits": "forensic_digits",
    "units": "forensic_units",
    "centres": "forensic_centres",
    "outliers": "forensic_outliers",
}
ACCEPTED = "select t.* from staged.tallies t {only} anti join quality.quarantine q using (tally_id)"


def plan(con: duckdb.DuckDBPyConnection) -> LayerState:
    """Incremental only when every state table is the previous generation's (they move in
    lockstep); full otherwise, with the first reason found."""
    plans = [plan_follower(con, name) for name in FOLLOWERS.values()]
    full = [p for p in plans if p.mode == FULL]
    return full[0] if full else plans[0]


def as_full(state: LayerState, reason: str) -> LayerState:
    return replace(state, mode=FULL, reason=reason)


def read_state(con: duckdb.DuckDBPyConnection) -> ForensicState:
    return ForensicState(**{key: read_follower(con, name) for key, name in FOLLOWERS.items()})


def write_state(con: duckdb.DuckDBPyConnection, state: ForensicState, layer: LayerState) -> None:
    """Each table with its generation stamp, all in one transaction (a stale or missing one
    would make the next run take the full path)."""
    write_followers(con, {FOLLOWERS[k]: frame for k, frame in state.frames().items()}, layer)


def read_accepted(
    con: duckdb.DuckDBPyConnection,
    candidate_ids: list[str],
    centre_column: str,
    centres: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The accepted tallies (staged, not quarantined) of these centres (source_id, centre; the
    centre's code column), and their votes, a column per candidate. A full run starts from
    every tally instead (orchestration.resources.Warehouse.staged)."""
    con.register("wanted_centres", centres.select("source_id", "centre"))
    only = (
        "semi join wanted_centres w on w.source_id = t.source_id "
        f"and w.centre = t.{ident(centre_column)}"
    )
    try:
        tallies = con.sql(ACCEPTED.format(only=only)).pl()
    finally:
        con.unregister("wanted_centres")
    return tallies, read_votes_wide(con, candidate_ids, ids=tallies)
