"""Read what the HTML report shows from the published marts file, and nothing else.

The file is opened read-only: the report never touches the working warehouse and never blocks a
run. Tally-level rows (a million at national scale) are binned here in DuckDB, so the report
carries a few hundred histogram cells, never one point per tally.
"""

from pathlib import Path

import duckdb
import polars as pl
import polars.selectors as cs

from expectations.rules import RULES
from reporting.html.contests import general_contests, is_general, main_contests
from reporting.html.model import ReportData
from warehouse.db import connect, ident, rows, scalar, table_exists

FINGERPRINT_BINS = 50  # 2-point cells on both axes
TURNOUT_BINS = 100  # 1-point bars
FINGERPRINT_CANDIDATES = 2  # the national leader and runner-up


def of_contest(contest: str | None, alias: str = "") -> tuple[str, list]:
    """SQL narrowing a query to one contest of a general election, and its parameter; nothing
    for an election of one contest (its queries stay as they were)."""
    if contest is None:
        return "", []
    return f" and {alias}contest_id = ?", [contest]


class ReportError(Exception):
    """The published file cannot back a report (missing, empty, or no such source)."""


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or []).pl()


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table_exists(con, "main", table) and bool(
        scalar(con, f"select count(*) > 0 from (select 1 from main.{ident(table)} limit 1)")
    )


def choose_source(con: duckdb.DuckDBPyConnection, primary: str | None = None) -> str:
    """The source with the most tallies counted nationally (in a general election, in its
    broadest contest); ties go to `primary` (the election's primary_source), then by name."""
    found = rows(
        con,
        "select source_id from coverage where level = 'national' group by source_id "
        "order by max(counted) desc nulls last, source_id is not distinct from ? desc, source_id "
        "limit 1",
        [primary],
    )
    if not found:
        raise ReportError("the published file holds no results yet: run `tallyhouse run` first")
    return found[0][0]


def _lowest_level(con: duckdb.DuckDBPyConnection, source: str, contest: str | None) -> str:
    """The tally level: the level with the most units (one tally sheet per unit)."""
    where, params = of_contest(contest)
    return scalar(
        con,
        f"select level from turnout where source_id = ? and level <> 'national'{where} "
        "group by level order by count(*) desc, level limit 1",
        [source, *params],
    )


def _top_level(con: duckdb.DuckDBPyConnection, source: str, contest: str | None) -> str | None:
    """The level just below national (states, in Venezuela)."""
    where, params = of_contest(contest, "t.")
    same = " and n.contest_id = t.contest_id" if contest is not None else ""
    return scalar(
        con,
        "select t.level from turnout t join turnout n on t.parent_code = n.unit_code "
        f"and n.source_id = t.source_id and n.level = 'national'{same} "
        f"where t.source_id = ? and t.level <> 'national'{where} limit 1",
        [source, *params],
    )


def _fingerprint(con, source: str, level: str, contest: str | None) -> pl.DataFrame:
    """Tallies counted per (turnout, candidate share) cell for the leading candidates."""
    where, params = of_contest(contest)
    where_r, params_r = of_contest(contest, "r.")
    keys = "source_id, contest_id, level, unit_code" if contest else "source_id, level, unit_code"
    return _frame(
        con,
        f"with lead as (select candidate_id from results where source_id = ?{where} "
        "and level = 'national' order by rank, candidate_id limit ?) "
        "select r.candidate_id, any_value(r.candidate_name) as candidate_name, "
        "least(floor(t.turnout * ?), ? - 1) / ? as turnout_bin, "
        "least(floor(r.share * ?), ? - 1) / ? as share_bin, count(*) as tallies "
        f"from results r join turnout t using ({keys}) "
        "where r.source_id = ? and r.level = ? and r.candidate_id in (select * from lead) "
        f"and t.turnout is not null and r.share is not null{where_r} "
        "group by r.candidate_id, turnout_bin, share_bin order by all",
        [source, *params, FINGERPRINT_CANDIDATES]
        + [FINGERPRINT_BINS] * 6
        + [source, level, *params_r],
    )


def _turnout_distribution(con, source: str, level: str, contest: str | None) -> pl.DataFrame:
    where, params = of_contest(contest)
    return _frame(
        con,
        "select least(floor(turnout * ?), ?) / ? as turnout_bin, count(*) as tallies "
        f"from turnout where source_id = ? and level = ? and turnout is not null{where} "
        "group by turnout_bin order by turnout_bin",
        [TURNOUT_BINS] * 3 + [source, level, *params],
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


def read_report_data(
    published: Path,
    source: str | None = None,
    featured: tuple[str, ...] = (),
    primary: str | None = None,
) -> ReportData:
    """Everything the report shows, for one source (default: see choose_source, `primary`
    breaking ties). A general
    election's main contests (`featured`, the contests its configuration declares, first; see
    reporting.html.contests) are read in full, the first of them in the election-wide sections,
    and every other contest as one row per district."""
    if not published.exists():
        raise ReportError(f"no published marts at {published}: run `tallyhouse run` first")
    with connect(published, read_only=True) as con:
        chosen = _chosen_source(con, published, source, primary)
        main = main_contests(con, chosen, featured) if is_general(con) else []
        lead = main[0] if main else None
        tally_level, top_level = (
            _lowest_level(con, chosen, lead),
            _top_level(con, chosen, lead),
        )
        publication = rows(con, "select run_id, published_at from publication limit 1")
        return ReportData(
            source=chosen,
            published_file=str(published),
            run_id=publication[0][0] if publication else None,
            published_at=publication[0][1] if publication else None,
            tally_level=tally_level,
            top_level=top_level,
            **_national(con, chosen, lead),
            **_top_level_units(con, chosen, top_level, lead),
            fingerprint=_fingerprint(con, chosen, tally_level, lead),
            turnout_distribution=_turnout_distribution(con, chosen, tally_level, lead),
            **_quality(con, chosen),
            **_optional_marts(con, chosen, main),
            overrides=_overrides(con, chosen),
            **(general_contests(con, chosen, main, top_level) if main else {}),
        )


def _chosen_source(
    con: duckdb.DuckDBPyConnection, published: Path, source: str | None, primary: str | None
) -> str:
    chosen = source or choose_source(con, primary)
    sources = [r[0] for r in rows(con, "select distinct source_id from coverage order by 1")]
    if chosen not in sources:
        raise ReportError(
            f"no source {chosen!r} in {published}; it holds: {', '.join(sources) or 'none'}"
        )
    return chosen


def _national(con: duckdb.DuckDBPyConnection, chosen: str, contest: str | None) -> dict:
    """Every source's national line, and the chosen source's national result (of `contest`, in
    a general election)."""
    where, params = of_contest(contest)
    where_c, params_c = of_contest(contest, "c.")
    by_source = [chosen, *params]
    keys = "source_id, contest_id, level, unit_code" if contest else "source_id, level, unit_code"
    same = " and r.contest_id = c.contest_id" if contest else ""
    return {
        "election_name": scalar(
            con,
            f"select unit_name from turnout where source_id = ? and level = 'national'{where} "
            "limit 1",
            by_source,
        ),
        "sources": _frame(
            con,
            "select c.source_id, c.expected, c.counted, c.percent_reporting, t.valid_votes, "
            "t.turnout, r.candidate_name as leader, r.share as leader_share "
            f"from coverage c join turnout t using ({keys}) "
            f"left join results r on r.source_id = c.source_id and r.level = 'national'{same} "
            f"and r.rank = 1 where c.level = 'national'{where_c} order by c.source_id",
            params_c,
        ),
        "national": _frame(
            con,
            "select candidate_id, candidate_name, votes, share, rank from results "
            f"where source_id = ? and level = 'national'{where} order by rank, candidate_id",
            by_source,
        ),
        "national_turnout": _frame(
            con,
            f"select * from turnout where source_id = ? and level = 'national'{where}",
            by_source,
        ),
        "national_coverage": _frame(
            con,
            f"select * from coverage where source_id = ? and level = 'national'{where}",
            by_source,
        ),
    }


def _top_level_units(
    con: duckdb.DuckDBPyConnection, chosen: str, top_level: str, contest: str | None
) -> dict:
    """Results, turnout and coverage of the units of the election's first level."""
    where, params = of_contest(contest)
    where_t, params_t = of_contest(contest, "t.")
    keys = "source_id, contest_id, level, unit_code" if contest else "source_id, level, unit_code"
    return {
        "by_state": _frame(
            con,
            "select unit_code, unit_name, candidate_id, candidate_name, votes, share, rank "
            f"from results where source_id = ? and level = ?{where} order by unit_code, rank",
            [chosen, top_level, *params],
        ),
        "state_turnout": _frame(
            con,
            "select t.unit_code, t.unit_name, t.registered, t.valid_votes, t.total_votes, "
            "t.turnout, c.expected, c.counted, c.percent_reporting "
            f"from turnout t join coverage c using ({keys}) "
            f"where t.source_id = ? and t.level = ?{where_t} order by t.unit_code",
            [chosen, top_level, *params_t],
        ),
    }


def _quality(con: duckdb.DuckDBPyConnection, chosen: str) -> dict:
    """The national row of quality_summary; a general election's national rows (one per
    contest, each counting its own tally rows) summed."""
    national = _frame(
        con,
        "select * from quality_summary where source_id = ? and level = 'national'",
        [chosen],
    )
    if national.height > 1:
        national = national.select(cs.numeric().sum())
    return {
        "quality": national,
        "rules": pl.DataFrame(
            {
                "rule_id": [r.id for r in RULES],
                "severity": [r.severity for r in RULES],
                "description": [r.description for r in RULES],
            }
        ),
    }


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(
        _frame(
            con,
            "select 1 from information_schema.columns where table_schema = 'main' "
            "and table_name = ? and column_name = ?",
            [table, column],
        ).height
    )


def _contests_of(con, table: str, contests: list[str], only_first: bool = False) -> tuple:
    """Narrowing a mart to a general election's main contests (or the first of them), when the
    mart has a contest_id column: SQL and parameters; nothing otherwise."""
    if not contests or not _has_column(con, table, "contest_id"):
        return "", []
    chosen = contests[:1] if only_first else contests
    return f" and contest_id in ({', '.join('?' for _ in chosen)})", list(chosen)


def _optional_marts(con: duckdb.DuckDBPyConnection, chosen: str, main: list[str]) -> dict:
    """Marts that only some elections fill: reconciliation, announced, projection, forensics.
    In a general election, those keyed by contest show its main contests (the projection, the
    first one)."""
    by_source = [chosen]
    in_rec, rec = _contests_of(con, "reconciliation_summary", main)
    in_ann, ann = _contests_of(con, "announced_vs_tallied", main)
    in_pro, pro = _contests_of(con, "projection", main, only_first=True)
    in_for, fore = _contests_of(con, "forensics", main)
    return {
        "reconciliation": _optional(
            con,
            "reconciliation_summary",
            "select * from reconciliation_summary where level = 'national' "
            f"and (source_a = ? or source_b = ?){in_rec} order by all",
            [chosen, chosen, *rec],
        ),
        "announced": _optional(
            con,
            "announced_vs_tallied",
            f"select * from announced_vs_tallied where source_id = ?{in_ann} "
            "order by bulletin_id, candidate_id",
            by_source + ann,
        ),
        "projection": _optional(
            con,
            "projection",
            f"select * from projection where source_id = ?{in_pro} order by projected_votes desc",
            by_source + pro,
        ),
        "forensics": _optional(
            con,
            "forensics",
            f"select * from forensics where source_id = ?{in_for} "
            "order by check_id, flagged desc, p_value nulls last, unit_code, candidate_id",
            by_source + fore,
        ),
    }
