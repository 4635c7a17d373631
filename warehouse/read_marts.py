"""Reading the published marts, and only reading them: the connection behind `tallyhouse query`,
`results` and `export`.

A read-only DuckDB connection still lets SQL write elsewhere: `COPY … TO` a file, `ATTACH` a new
database file, `EXPORT DATABASE`, `INSTALL` an extension, or `SET` its way back. So the connection
is opened read-only with external access disabled (no file, network or extension access beyond
the database file itself) and its configuration locked (no `SET` can undo that), and a user's
statement must parse as a single SELECT (or EXPLAIN) before it runs, so temporary tables and
macros are refused too, with a message that says why.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms.text import escaped

READ_ONLY_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,  # last: nothing above can be SET back
}
ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class NotReadOnly(ValueError):
    """A statement that could write, or is not one read-only query."""


class NoSuchChoice(ValueError):
    """An unknown level, source or unit asked of `results`."""


class NoSuchContest(NoSuchChoice):
    """An unknown contest asked of `results` or `export`: a usage error (exit 2)."""


def open_published(path: Path, locked: bool = True) -> duckdb.DuckDBPyConnection:
    """The published file, read-only; `locked` also shuts every door to the file system.

    Export needs those doors (it writes files), but never runs a user's SQL."""
    if not path.exists():
        raise FileNotFoundError(f"No published marts at {path}: run `tallyhouse run` first.")
    return duckdb.connect(str(path), read_only=True, config=READ_ONLY_CONFIG if locked else {})


def check_read_only(sql: str) -> None:
    """Raise NotReadOnly unless `sql` is exactly one SELECT or EXPLAIN statement."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise NotReadOnly(f"cannot parse the query: {error}") from error
    if len(statements) != 1:
        raise NotReadOnly(
            f"give one statement, not {len(statements)}: the marts are queried one SELECT at a time"
        )
    kind = statements[0].type
    if kind not in ALLOWED:
        raise NotReadOnly(
            f"refused: a {kind.name} statement. The published marts are read-only; only SELECT "
            "(with DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN may run here. To keep a result, use "
            "`tallyhouse export` or open the file from Python."
        )


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    total_rows: int  # rows the query returned, of which `rows` are the first

    @property
    def truncated(self) -> bool:
        return self.total_rows > len(self.rows)


class QueryTimeout(RuntimeError):
    """A query ran past its time limit and was interrupted."""


DEFAULT_TIMEOUT = 60.0  # seconds a query may run (tallyhouse query --timeout)


def run_query(
    con: duckdb.DuckDBPyConnection, sql: str, max_rows: int, timeout: float = DEFAULT_TIMEOUT
) -> QueryResult:
    """Run one read-only statement; keep the first max_rows rows and count the rest. A query
    still running after `timeout` seconds is interrupted (QueryTimeout)."""
    check_read_only(sql)
    timer = threading.Timer(timeout, con.interrupt)
    timer.daemon = True
    timer.start()
    try:
        relation = con.sql(sql)
        if relation is None:  # EXPLAIN of nothing, or the like
            return QueryResult([], [], [], 0)
        columns, types = list(relation.columns), [str(t) for t in relation.types]
        rows = relation.limit(max_rows + 1).fetchall()
        total = len(rows)
        if total > max_rows:
            total = relation.aggregate("count(*)").fetchall()[0][0]
    except duckdb.InterruptException:
        raise QueryTimeout(
            f"the query ran past {timeout:g} s and was stopped; narrow it or raise --timeout"
        ) from None
    finally:
        timer.cancel()
    return QueryResult(columns, types, rows[:max_rows], total)


def choices(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    """Distinct levels or sources in the results mart."""
    if column not in ("level", "source_id"):
        raise ValueError(column)
    return [
        r[0] for r in con.execute(f"select distinct {column} from results order by 1").fetchall()
    ]


def check_contest(con: duckdb.DuckDBPyConnection, contest: str) -> None:
    """Raise NoSuchContest, in one line saying how to list the ids, unless the results mart
    holds the contest."""
    if not con.execute("select 1 from results where contest_id = ? limit 1", [contest]).fetchall():
        raise NoSuchContest(
            f"unknown contest {escaped(contest)!r}; list them with: tallyhouse query "
            '"select distinct contest_id, contest_name from contest_status"'
        )


UNIT_RESULTS_SQL = """
select r.source_id, r.contest_id, r.level, r.unit_code, r.unit_name, r.parent_code,
       r.candidate_id, r.candidate_name, r.votes, r.share, r.rank,
       t.registered, t.total_votes, t.turnout,
       c.expected, c.counted, c.percent_reporting
from results r
left join turnout t using (source_id, contest_id, level, unit_code)
left join coverage c using (source_id, contest_id, level, unit_code)
where r.level = $level
  and ($source is null or r.source_id = $source)
  and ($contest is null or r.contest_id = $contest)
  and ($unit is null or r.unit_code = $unit)
  and ($parent is null or r.parent_code = $parent)
order by r.source_id, r.contest_id, r.unit_code, r.rank, r.candidate_id
"""


def unit_results(
    con: duckdb.DuckDBPyConnection,
    level: str,
    source: str | None = None,
    unit: str | None = None,
    parent: str | None = None,
    contest: str | None = None,
) -> list[dict]:
    """Candidates per contest and unit at `level` with votes, share and rank, and the unit's
    turnout and coverage. Raises NoSuchChoice naming the valid choices for an unknown level,
    source or contest."""
    levels = choices(con, "level")
    if level not in levels:
        raise NoSuchChoice(f"unknown level {level!r}; the marts have: {', '.join(levels)}")
    sources = choices(con, "source_id")
    if source is not None and source not in sources:
        raise NoSuchChoice(f"unknown source {source!r}; the marts have: {', '.join(sources)}")
    if contest is not None:
        check_contest(con, contest)
    params = {
        "level": level,
        "source": source,
        "unit": unit,
        "parent": parent,
        "contest": contest,
    }
    cursor = con.execute(UNIT_RESULTS_SQL, params)
    names = [d[0] for d in cursor.description]
    found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if not found and (unit or parent):
        wanted = f"unit {unit!r}" if unit else f"parent {parent!r}"
        raise NoSuchChoice(
            f"no {level} results for {wanted}" + (f" in {source!r}" if source else "")
        )
    return found


def has_contests(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the marts hold more than one contest (a general election's units name theirs)."""
    return con.execute("select count(distinct contest_id) > 1 from results").fetchall()[0][0]


def group_units(rows: list[dict]) -> list[list[dict]]:
    """Consecutive rows of one source, contest and unit, in order."""
    groups: list[list[dict]] = []

    def key(row: dict) -> tuple:
        return row["source_id"], row.get("contest_id"), row["unit_code"]

    for row in rows:
        if groups and key(groups[-1][0]) == key(row):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups
