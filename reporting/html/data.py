"""Read what the HTML report shows from the published marts file, and nothing else.

The file is opened read-only: the report never touches the working warehouse and never blocks a
run. Tally-level rows (a million at national scale) are binned here in DuckDB, so the report
carries a few hundred histogram cells, never one point per tally.
"""

from pathlib import Path

import duckdb
import polars as pl

from expectations.rules import RULES
from reporting.html.model import ReportData
from warehouse.db import connect, ident, rows, scalar, table_exists

FINGERPRINT_BINS = 50  # 2-point cells on both axes
TURNOUT_BINS = 100  # 1-point bars
FINGERPRINT_CANDIDATES = 2  # the national leader and runner-up


class ReportError(Exception):
    """The published file cannot back a report (missing, empty, or no such source)."""


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or []).pl()


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table_exists(con, "main", table) and bool(
        scalar(con, f"select count(*) > 0 from (select 1 from main.{ident(table)} limit 1)")
    )


def choose_source(con: duckdb.DuckDBPyConnection) -> str:
    """The source with known turnout and the most counted tallies (ties: by name)."""
    found = rows(
        con,
        "select c.source_id from coverage c join turnout t using (source_id, level, unit_code) "
        "where c.level = 'national' "
        "order by (t.turnout is not null) desc, c.counted desc, c.source_id limit 1",
    )
    if not found:
        raise ReportError("the published file holds no results yet: run `tallyhouse run` first")
    return found[0][0]


def _lowest_level(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """The tally level: the level with the most units (one tally sheet per unit)."""
    return scalar(
        con,
        "select level from turnout where source_id = ? and level <> 'national' "
        "group by level order by count(*) desc, level limit 1",
        [source],
    )


def _top_level(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    """The level just below national (states, in Venezuela)."""
    return scalar(
        con,
        "select t.level from turnout t join turnout n on t.parent_code = n.unit_code "
        "and n.source_id = t.source_id and n.level = 'national' "
        "where t.source_id = ? and t.level <> 'national' limit 1",
        [source],
    )


def _fingerprint(con, source: str, level: str) -> pl.DataFrame:
    """Tallies counted per (turnout, candidate share) cell for the leading candidates."""
    return _frame(
        con,
        "with lead as (select candidate_id from results where source_id = ? "
        "and level = 'national' order by rank, candidate_id limit ?) "
        "select r.candidate_id, any_value(r.candidate_name) as candidate_name, "
        "least(floor(t.turnout * ?), ? - 1) / ? as turnout_bin, "
        "least(floor(r.share * ?), ? - 1) / ? as share_bin, count(*) as tallies "
        "from results r join turnout t using (source_id, level, unit_code) "
        "where r.source_id = ? and r.level = ? and r.candidate_id in (select * from lead) "
        "and t.turnout is not null and r.share is not null "
        "group by r.candidate_id, turnout_bin, share_bin order by all",
        [source, FINGERPRINT_CANDIDATES] + [FINGERPRINT_BINS] * 6 + [source, level],
    )


def _turnout_distribution(con, source: str, level: str) -> pl.DataFrame:
    return _frame(
        con,
        "select least(floor(turnout * ?), ?) / ? as turnout_bin, count(*) as tallies "
        "from turnout where source_id = ? and level = ? and turnout is not null "
        "group by turnout_bin order by turnout_bin",
        [TURNOUT_BINS] * 3 + [source, level],
    )


def _optional(con, table: str, sql: str, params: list) -> pl.DataFrame | None:
    """The rows of a mart that may be absent or empty; None when there are none to show."""
    if not _has_rows(con, table):
        return None
    frame = _frame(con, sql, params)
    return frame if frame.height else None


def _overrides(con, source: str) -> pl.DataFrame | None:
    """Error rules the election's quality policy demoted to warnings, with their reasons (None
    for a published file from before quality_issues had the columns, or with none)."""
    has_column = _frame(
        con,
        "select 1 from information_schema.columns "
        "where table_name = 'quality_issues' and column_name = 'override_reason'",
    )
    if not has_column.height:
        return None
    frame = _frame(
        con,
        "select rule_id, override_reason, count(distinct tally_code) as tallies "
        "from quality_issues where source_id = ? and overridden group by all order by rule_id",
        [source],
    )
    return frame if frame.height else None


def read_report_data(published: Path, source: str | None = None) -> ReportData:
    """Everything the report shows, for one source (default: see choose_source)."""
    if not published.exists():
        raise ReportError(f"no published marts at {published}: run `tallyhouse run` first")
    with connect(published, read_only=True) as con:
        chosen = _chosen_source(con, published, source)
        tally_level, top_level = _lowest_level(con, chosen), _top_level(con, chosen)
        publication = rows(con, "select run_id, published_at from publication limit 1")
        return ReportData(
            source=chosen,
            published_file=str(published),
            run_id=publication[0][0] if publication else None,
            published_at=publication[0][1] if publication else None,
            tally_level=tally_level,
            top_level=top_level,
            **_national(con, chosen),
            **_top_level_units(con, chosen, top_level),
            fingerprint=_fingerprint(con, chosen, tally_level),
            turnout_distribution=_turnout_distribution(con, chosen, tally_level),
            **_quality(con, chosen),
            **_optional_marts(con, chosen),
            overrides=_overrides(con, chosen),
        )


def _chosen_source(con: duckdb.DuckDBPyConnection, published: Path, source: str | None) -> str:
    chosen = source or choose_source(con)
    sources = [r[0] for r in rows(con, "select distinct source_id from coverage order by 1")]
    if chosen not in sources:
        raise ReportError(
            f"no source {chosen!r} in {published}; it holds: {', '.join(sources) or 'none'}"
        )
    return chosen


def _national(con: duckdb.DuckDBPyConnection, chosen: str) -> dict:
    """Every source's national line, and the chosen source's national result."""
    by_source = [chosen]
    return {
        "election_name": scalar(
            con,
            "select unit_name from turnout where source_id = ? and level = 'national'",
            by_source,
        ),
        "sources": _frame(
            con,
            "select c.source_id, c.expected, c.counted, c.percent_reporting, t.valid_votes, "
            "t.turnout, r.candidate_name as leader, r.share as leader_share "
            "from coverage c join turnout t using (source_id, level, unit_code) "
            "left join results r on r.source_id = c.source_id and r.level = 'national' "
            "and r.rank = 1 where c.level = 'national' order by c.source_id",
        ),
        "national": _frame(
            con,
            "select candidate_id, candidate_name, votes, share, rank from results "
            "where source_id = ? and level = 'national' order by rank, candidate_id",
            by_source,
        ),
        "national_turnout": _frame(
            con, "select * from turnout where source_id = ? and level = 'national'", by_source
        ),
        "national_coverage": _frame(
            con, "select * from coverage where source_id = ? and level = 'national'", by_source
        ),
    }


def _top_level_units(con: duckdb.DuckDBPyConnection, chosen: str, top_level: str) -> dict:
    """Results, turnout and coverage of the units of the election's first level."""
    by_level = [chosen, top_level]
    return {
        "by_state": _frame(
            con,
            "select unit_code, unit_name, candidate_id, candidate_name, votes, share, rank "
            "from results where source_id = ? and level = ? order by unit_code, rank",
            by_level,
        ),
        "state_turnout": _frame(
            con,
            "select t.unit_code, t.unit_name, t.registered, t.valid_votes, t.total_votes, "
            "t.turnout, c.expected, c.counted, c.percent_reporting "
            "from turnout t join coverage c using (source_id, level, unit_code) "
            "where t.source_id = ? and t.level = ? order by t.unit_code",
            by_level,
        ),
    }


def _quality(con: duckdb.DuckDBPyConnection, chosen: str) -> dict:
    return {
        "quality": _frame(
            con,
            "select * from quality_summary where source_id = ? and level = 'national'",
            [chosen],
        ),
        "rules": pl.DataFrame(
            {
                "rule_id": [r.id for r in RULES],
                "severity": [r.severity for r in RULES],
                "description": [r.description for r in RULES],
            }
        ),
    }


def _optional_marts(con: duckdb.DuckDBPyConnection, chosen: str) -> dict:
    """Marts that only some elections fill: reconciliation, announced, projection, forensics."""
    by_source = [chosen]
    return {
        "reconciliation": _optional(
            con,
            "reconciliation_summary",
            "select source_a, source_b, agree, differ, only_in_a, only_in_b, votes_apart "
            "from reconciliation_summary where level = 'national' "
            "and (source_a = ? or source_b = ?) order by source_a, source_b",
            [chosen, chosen],
        ),
        "announced": _optional(
            con,
            "announced_vs_tallied",
            "select * from announced_vs_tallied where source_id = ? "
            "order by bulletin_id, candidate_id",
            by_source,
        ),
        "projection": _optional(
            con,
            "projection",
            "select * from projection where source_id = ? order by projected_votes desc",
            by_source,
        ),
        "forensics": _optional(
            con,
            "forensics",
            "select * from forensics where source_id = ? "
            "order by check_id, flagged desc, p_value nulls last, unit_code, candidate_id",
            by_source,
        ),
    }
