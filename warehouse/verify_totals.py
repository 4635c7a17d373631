"""The published national totals recomputed from the raw layer (`tallyhouse verify`).

The raw rows of every feed are staged again in memory by the pipeline's own staging
(transforms.staging.stage, or stage_general for a general election: the current delivery of each
unit, withdrawn deliveries left out, as a full staging does), the tallies the quality gate
quarantined are set aside (transforms.accepted: the gate's verdicts in quality.quarantine, by
tally id, are not judged again), the sources above the polling units are left out as the marts
leave them, and the votes are summed per source, contest and candidate. Those sums are set
against the published `results` at the national level.

What this checks is everything after the raw layer but the quality rules: staged tables merged
drop by drop, the marts updated in place, rollups, unpivoting and publishing. The verdicts
themselves come from the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from transforms.accepted import accepted, at_polling_units
from transforms.contests import stage_general
from transforms.feed import OTHER_ID
from transforms.model import NATIONAL, Election
from transforms.staging import stage
from warehouse.db import connect, registered, table_exists
from warehouse.raw_load import feed_sources, read_raw_feed
from warehouse.tables import read_table
from warehouse.withdrawals import read_deliveries

KEYS = ("source_id", "contest_id", "candidate_id")
TOTALS_SCHEMA = {"source_id": pl.String, "contest_id": pl.String, "candidate_id": pl.String}


@dataclass(frozen=True)
class TotalDifference:
    source_id: str
    contest_id: str
    candidate_id: str
    published: int | None  # None: no such national row in the published file
    recomputed: int | None  # None: no accepted tally of the raw layer gives it votes


@dataclass(frozen=True)
class TotalsVerdict:
    compared: int  # national lines (source, contest, candidate) set side by side
    differences: list[TotalDifference]


def recount_from_raw(con: duckdb.DuckDBPyConnection, election: Election) -> pl.DataFrame:
    """source_id, contest_id, candidate_id, votes: the national sums of the accepted tallies,
    staged again from the raw layer (module doc)."""
    deliveries = read_deliveries(con)
    filled = [f for f in (read_raw_feed(con, s) for s in feed_sources(con)) if f.height]
    if not filled:
        return pl.DataFrame(schema={**TOTALS_SCHEMA, "votes": pl.Int64})
    raw = pl.concat(filled, how="vertical")
    registry = (
        read_table(con, "raw", "registry").drop("file_sha256", "source_row")
        if table_exists(con, "raw", "registry")
        else None
    )
    staged = (
        stage_general(raw, deliveries, election, registry).staged
        if election.is_general
        else stage(raw, deliveries, election, registry)
    )
    quarantine = (
        con.sql("select tally_id from quality.quarantine").pl()
        if table_exists(con, "quality", "quarantine")
        else pl.DataFrame(schema={"tally_id": pl.Int64})
    )
    kept = accepted(at_polling_units(staged.tallies, list(election.higher_sources)), quarantine)
    return _national_sums(kept, staged.votes, election.other_votes)


def _national_sums(kept: pl.DataFrame, votes: pl.DataFrame, other_votes: bool) -> pl.DataFrame:
    sums = (
        "select v.source_id, v.contest_id, v.candidate_id, sum(v.votes)::bigint as votes "
        "from kept_votes v semi join kept_tallies t using (tally_id) group by all"
    )
    params: list = []
    if other_votes:  # the other votes' line, as publishing adds it
        sums += (
            " union all select source_id, contest_id, ? as candidate_id, "
            "sum(other_votes)::bigint as votes from kept_tallies group by all"
        )
        params.append(OTHER_ID)
    columns = ["tally_id", "source_id", "contest_id"] + (["other_votes"] if other_votes else [])
    with (
        duckdb.connect() as scratch,
        registered(scratch, {"kept_tallies": kept.select(columns), "kept_votes": votes}),
    ):
        return scratch.sql(sums, params=params).pl()


def published_national(published: Path) -> pl.DataFrame:
    """source_id, contest_id, candidate_id, votes: the published results at the national level."""
    with connect(published, read_only=True) as con:
        return con.sql(
            "select source_id, contest_id, candidate_id, votes from results where level = ?",
            params=[NATIONAL],
        ).pl()


def compare_totals(recomputed: pl.DataFrame, published: pl.DataFrame) -> TotalsVerdict:
    """Every national line of either side; a difference where the votes differ (a line absent on
    one side counts as no votes there, so a candidate without accepted votes may be absent)."""
    keys = ", ".join(KEYS)
    with (
        duckdb.connect() as scratch,
        registered(scratch, {"recomputed_totals": recomputed, "published_totals": published}),
    ):
        side_by_side = scratch.execute(
            f"select {keys}, p.votes as published, r.votes as recomputed "
            f"from published_totals p full outer join recomputed_totals r using ({keys}) "
            f"order by {keys}"
        ).fetchall()
    differences = [TotalDifference(*row) for row in side_by_side if (row[3] or 0) != (row[4] or 0)]
    return TotalsVerdict(len(side_by_side), differences)


def verify_totals(
    con: duckdb.DuckDBPyConnection, published: Path, election: Election
) -> TotalsVerdict:
    """The published national totals against those recomputed from the raw layer."""
    return compare_totals(recount_from_raw(con, election), published_national(published))
