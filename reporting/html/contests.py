"""A general election in the report: which contests are shown in full, and the rest as rows.

The main contests are those elected over the whole election (contest_status at the national
level) and any the election's configuration declares (`featured`, passed in by the command: the
report itself reads only the published file), declared ones first in their declared order, the
rest by ballots counted (votes cast over the
votes a ballot may carry). At most MAIN_CONTESTS are shown in full; every other contest is one
row per district in the page's searchable table, with its leaders, margin and status from
contest_status.
"""

import duckdb
import polars as pl

from reporting.html.model import ContestView
from warehouse.db import rows, scalar, table_exists

MAIN_CONTESTS = 6

STATUS_COLUMNS = (
    "contest_id, contest_name, level, unit_code, unit_name, seats, vote_for, counted, expected, "
    "ballots_counted, leader_names, last_winner_votes, first_loser_votes, margin, other_votes, "
    "outstanding_ballots, outstanding_basis, decided, status"
)


def is_general(con: duckdb.DuckDBPyConnection) -> bool:
    """More than one contest in the results: an election of one contest (or a file published
    before contests) reports as before."""
    keyed = scalar(
        con,
        "select count(*) > 0 from information_schema.columns where table_schema = 'main' "
        "and table_name = 'results' and column_name = 'contest_id'",
    )
    return bool(keyed) and bool(scalar(con, "select count(distinct contest_id) > 1 from results"))


def main_contests(
    con: duckdb.DuckDBPyConnection, source: str, featured: tuple[str, ...]
) -> list[str]:
    """The contests shown in full, at most MAIN_CONTESTS, never empty for a general election:
    the declared ones present, then those of the whole election by ballots counted; failing
    both, the contest with the most ballots."""
    present = {
        r[0]
        for r in rows(con, "select distinct contest_id from results where source_id = ?", [source])
    }
    whole = (
        [
            r[0]
            for r in rows(
                con,
                "select contest_id from contest_status where source_id = ? "
                "and level = 'national' "
                "order by ballots_counted / greatest(vote_for, 1) desc nulls last, contest_id",
                [source],
            )
        ]
        if table_exists(con, "main", "contest_status")
        else []
    )
    chosen = list(dict.fromkeys([c for c in featured if c in present] + whole))
    if not chosen:
        chosen = [
            r[0]
            for r in rows(
                con,
                "select contest_id from turnout where source_id = ? and level = 'national' "
                "order by total_votes desc nulls last, contest_id limit 1",
                [source],
            )
        ]
    return chosen[:MAIN_CONTESTS]


def _status(con, source: str, contests: list[str], main: bool) -> pl.DataFrame:
    """contest_status rows of `contests` (main) or of every contest but them, by contest and
    district, with the leaders' names joined."""
    if not table_exists(con, "main", "contest_status"):
        return pl.DataFrame()
    marks = ", ".join("?" for _ in contests)
    frame = con.sql(
        f"select {STATUS_COLUMNS} from contest_status where source_id = ? "
        f"and contest_id {'in' if main else 'not in'} ({marks}) "
        "order by contest_name, contest_id, unit_code",
        params=[source, *contests],
    ).pl()
    return frame.with_columns(pl.col("leader_names").list.join(", ").alias("leaders"))


def _view(con, source: str, contest: str, top_level: str | None, status: pl.DataFrame):
    by_contest = [source, contest]
    mine = status.filter(pl.col("contest_id") == contest)
    first = mine.row(0, named=True) if mine.height else {}

    def one(table: str) -> dict:
        found = con.sql(
            f"select * from {table} where source_id = ? and contest_id = ? and level = 'national'",
            params=by_contest,
        ).pl()
        return found.row(0, named=True) if found.height else {}

    turnout = one("turnout")
    return ContestView(
        contest_id=contest,
        name=first.get("contest_name") or contest,
        level=first.get("level") or "national",
        seats=first.get("seats") or 1,
        vote_for=first.get("vote_for") or 1,
        national=con.sql(
            "select candidate_id, candidate_name, votes, share, rank from results "
            "where source_id = ? and contest_id = ? and level = 'national' "
            "order by rank, candidate_id",
            params=by_contest,
        ).pl(),
        turnout=turnout,
        coverage=one("coverage"),
        by_state=con.sql(
            "select unit_code, unit_name, candidate_id, candidate_name, votes, share, rank "
            "from results where source_id = ? and contest_id = ? and level = ? "
            "order by unit_code, rank",
            params=[*by_contest, top_level],
        ).pl(),
        status=mine,
    )


def general_contests(
    con: duckdb.DuckDBPyConnection, source: str, main: list[str], top_level: str | None
) -> dict:
    """The ReportData fields of a general election: its main contests in full, every other
    contest's districts, and how many contests there are and how many are decided."""
    status = _status(con, source, main, main=True)
    counts = rows(
        con,
        "select count(distinct contest_id) from results where source_id = ?",
        [source],
    )
    decided = (
        scalar(
            con,
            "select count(*) from (select contest_id from contest_status where source_id = ? "
            "group by contest_id having bool_and(decided))",
            [source],
        )
        if table_exists(con, "main", "contest_status")
        else 0
    )
    return {
        "contests": tuple(_view(con, source, c, top_level, status) for c in main),
        "other_contests": _status(con, source, main, main=False),
        "contest_count": counts[0][0],
        "decided_count": decided or 0,
    }
