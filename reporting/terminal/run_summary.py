"""What `tallyhouse run` prints at the end, read from the published marts."""

from __future__ import annotations

import shlex
from pathlib import Path

import duckdb

from expectations.rules import RULES_BY_ID
from reporting.terminal.forensics import print_forensics
from reporting.terminal.projection import print_projection
from transforms.text import escaped
from warehouse.db import connect, rows, table_exists


def print_summary(
    published: Path,
    level: str = "national",
    data_dir: Path | None = None,
    warehouse: Path | None = None,
    election: str | None = None,
) -> None:
    """The national result per source (per contest in a general election), the contests newly
    decided since the previous publication (the warehouse keeps its status), the forensic
    summary, and how to query the marts: an example on the election's broadest level `level`,
    with `--data-dir` when the marts are not where `tallyhouse query` looks by default (and,
    for a general election's report, `--election` when the run named one)."""
    with connect(published, read_only=True) as con:
        general = rows(con, "select count(distinct contest_id) from results")[0][0] > 1
        for (source,) in rows(con, "select distinct source_id from results order by 1"):
            if general:
                _print_contests(con, source, data_dir, election)
            else:
                _print_source(con, source)
        current = (
            con.sql("select * from contest_status").pl()
            if table_exists(con, "main", "contest_status")
            else None
        )
        if table_exists(con, "main", "forensics"):
            print_forensics(con)
    if current is not None and warehouse is not None:
        _print_newly_decided(_previous_status(warehouse), current)
    print(f"Published marts: {published}")
    print(f"  query them with: {example_query(level, data_dir)}")


def example_query(level: str, data_dir: Path | None = None) -> str:
    """`tallyhouse query [--data-dir DIR] "select * from results where level = '<level>'"`,
    quoted for a POSIX shell (a level is an identifier: lower-case letters, digits, `_`)."""
    sql = "select * from results where level = '{}'".format(escaped(level).replace("'", "''"))
    return f'tallyhouse query {_data_dir_flag(data_dir)}"{sql}"'


def _data_dir_flag(data_dir: Path | None) -> str:
    """`--data-dir DIR ` quoted for a POSIX shell, or nothing for the default data directory."""
    return f"--data-dir {shlex.quote(escaped(str(data_dir), 400))} " if data_dir else ""


def print_unmatched(count: int, names: list[str]) -> None:
    """Landing files no contract matched (names already escaped by the ingest step)."""
    if not count:
        return
    more = f" and {count - len(names)} more" if count > len(names) else ""
    print(
        f"{count} landing file(s) match no contract and were not loaded: "
        f"{', '.join(escaped(n) for n in names)}{more}"
    )


SHOWN_CONTESTS = 8  # contests of the whole election printed in full; the rest are counted
SHOWN_LINES = 5


def _print_contests(
    con, source: str, data_dir: Path | None = None, election: str | None = None
) -> None:
    """A general election: how its races stand, the contests of the whole election in full
    (the first few, most ballots first), and the contests elected in districts grouped by their
    district level, so 300 contests read in a few lines."""
    counts = dict(
        rows(
            con,
            "select status, count(*) from contest_status where source_id = ? group by 1",
            [source],
        )
    )
    races = sum(counts.values())
    told = ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items()))
    total = rows(
        con, "select count(distinct contest_id) from results where source_id = ?", [source]
    )[0][0]
    print(
        f"Source {escaped(source)!r}: {total:,} contests in {races:,} races (contest and "
        f"district): {told or 'none judged'}"
    )
    whole = rows(
        con,
        "select contest_id, contest_name, status from contest_status where source_id = ? "
        "and level = 'national' "
        "order by ballots_counted / greatest(vote_for, 1) desc nulls last, contest_id",
        [source],
    )
    for contest_id, name, status in whole[:SHOWN_CONTESTS]:
        print(f"  {escaped(name, 60)} ({escaped(contest_id, 60)}): {status}")
        for cname, votes, share, rank in rows(
            con,
            "select candidate_name, votes, share, rank from results where source_id = ? "
            "and contest_id = ? and level = 'national' order by rank nulls last, candidate_id "
            f"limit {SHOWN_LINES}",
            [source, contest_id],
        ):
            share_text = f"{share * 100:6.2f} %" if share is not None else "      -"
            place = f"{rank:>2}." if rank is not None else "  -"
            print(f"    {place} {escaped(cname, 40):<40} {votes:>12,}  {share_text}")
    if len(whole) > SHOWN_CONTESTS:
        print(f"  … {len(whole) - SHOWN_CONTESTS:,} more contests of the whole election")
    _print_district_contests(con, source)
    flag = _data_dir_flag(data_dir)
    named = f"--election {shlex.quote(escaped(election, 100))} " if election else ""
    print(
        f'  every race: tallyhouse query {flag}"select contest_name, unit_name, leader_names, '
        f'margin, status from contest_status", or tallyhouse report {flag}{named}'.rstrip()
    )
    print()


def _print_district_contests(con, source: str) -> None:
    """One line per district level: its contests and how their races stand."""
    for level, contests, races, decided, tied, no_votes in rows(
        con,
        "select level, count(distinct contest_id), count(*), count(*) filter (decided), "
        "count(*) filter (status = 'tied'), count(*) filter (status = 'no votes') "
        "from contest_status where source_id = ? and level <> 'national' group by 1 order by 1",
        [source],
    ):
        leading = races - decided - tied - no_votes
        told = ", ".join(
            f"{n:,} {word}"
            for n, word in (
                (decided, "decided"),
                (leading, "leading"),
                (tied, "tied"),
                (no_votes, "no votes"),
            )
            if n
        )
        contest_word = "contest" if contests == 1 else "contests"
        print(
            f"  {contests:,} {contest_word} elected by {escaped(level, 40)}, {races:,} races: "
            f"{told}"
        )


def _previous_status(warehouse: Path):
    try:
        con = connect(warehouse)  # as print_quality: the run's cached connection may hold it
    except duckdb.Error:
        return None
    with con:
        if not table_exists(con, "history", "previous_contest_status"):
            return None
        return con.sql("select * from history.previous_contest_status").pl()


def _print_newly_decided(previous, current) -> None:
    from transforms.contest_status import newly_decided

    fresh = newly_decided(previous, current)
    if fresh.is_empty():
        return
    print(f"Newly decided since the previous publication: {fresh.height:,}")
    for row in fresh.head(SHOWN_CONTESTS).iter_rows(named=True):
        where = "" if row["level"] == "national" else f", {escaped(row['unit_name'], 40)}"
        leaders = ", ".join(escaped(x, 40) for x in row["leader_names"])
        print(f"  {escaped(row['contest_name'], 60)}{where}: {leaders}")
    if fresh.height > SHOWN_CONTESTS:
        print(f"  … and {fresh.height - SHOWN_CONTESTS:,} more")
    print()


def _print_source(con, source: str) -> None:
    print(f"Source {source!r}: national result")
    for name, votes, share, rank in rows(
        con,
        "select candidate_name, votes, share, rank from results "
        "where source_id = ? and level = 'national' order by rank, candidate_id",
        [source],
    ):
        share_text = f"{share * 100:6.2f} %" if share is not None else "      -"
        place = f"{rank:>2}." if rank is not None else "  -"  # other votes are never ranked
        print(f"  {place} {escaped(name, 40):<28} {votes:>12,}  {share_text}")
    registered, total, turnout, unlisted, unlisted_votes = rows(
        con,
        "select registered, total_votes, turnout, units_without_list, votes_without_list "
        "from turnout where source_id = ? and level = 'national'",
        [source],
    )[0]
    if turnout is not None:
        listed = total - (unlisted_votes or 0)
        print(f"  turnout: {turnout * 100:.2f} % ({listed:,} ballots, {registered:,} registered)")
    else:
        ballots = f"{total:,} ballots" if total is not None else "ballots not all known"
        print(f"  turnout: unknown, registered voters not in the feed ({ballots})")
    if unlisted:
        votes_text = f"{unlisted_votes:,}" if unlisted_votes is not None else "not all known"
        print(
            f"  units without a list of registered voters: {unlisted:,}, ballots {votes_text} "
            f"(not in turnout; {total:,} ballots in all)"
            if total is not None
            else f"  units without a list of registered voters: {unlisted:,}, ballots {votes_text}"
        )
    expected, counted, percent = rows(
        con,
        "select expected, counted, percent_reporting from coverage "
        "where source_id = ? and level = 'national'",
        [source],
    )[0]
    if expected:
        print(f"  coverage: {counted:,} of {expected:,} tallies counted ({percent:.2f} %)")
    else:
        print(f"  coverage: {counted:,} tallies counted (expected number unknown)")
    if table_exists(con, "main", "projection"):
        print_projection(con, source)
    print()


def print_quality(warehouse: Path) -> None:
    """Received, accepted, quarantined and flagged per source, and counts by rule.

    Called in the process that just ran the job, whose DuckDB connections may still be cached
    read-write: opening the same file read-only there is refused, so open it as they did.
    """
    try:
        con = connect(warehouse)
    except duckdb.Error:
        return  # the failed step still holds it; the failure message has said what went wrong
    with con:
        if not table_exists(con, "quality", "issues"):
            return
        per_source = rows(
            con,
            "select t.source_id, count(*) as staged, count(q.tally_id) as quarantined "
            "from staged.tallies t left join quality.quarantine q using (tally_id) "
            "group by 1 order by 1",
        )
        by_rule = rows(
            con,
            "select source_id, rule_id, severity, count(distinct tally_id) from quality.issues "
            "group by all order by 1, 2",
        )
        rejected = rows(con, "select count(*) from raw.rejected_files")[0][0]
    print("Quality")
    for source, staged, quarantined in per_source:
        print(
            f"  {source}: {staged:,} tallies staged, {staged - quarantined:,} accepted, "
            f"{quarantined:,} quarantined"
        )
        for src, rule, severity, count in by_rule:
            if src == source:
                verb = "quarantined" if severity == "error" else "flagged"
                print(f"    {rule} {RULES_BY_ID[rule].description:<84} {count:>8,} {verb}")
    if rejected:
        print(f"  {rejected} file(s) rejected whole: see raw.rejected_files")
    print()


def print_issues(warehouse: Path, rule: str | None, severity: str | None, limit: int) -> int:
    """The latest quality issues, newest delivery first."""
    where, params = [], []
    if rule:
        where.append("i.rule_id = ?")
        params.append(rule.upper())
    if severity:
        where.append("i.severity = ?")
        params.append(severity.lower())
    clause = f"where {' and '.join(where)}" if where else ""
    with connect(warehouse, read_only=True) as con:
        if not table_exists(con, "quality", "issues"):
            print("No validation has run yet: run `tallyhouse run` first.")
            return 0
        total = rows(con, f"select count(*) from quality.issues i {clause}", params)[0][0]
        found = rows(
            con,
            "select i.severity, i.rule_id, i.source_id, i.tally_code, d.file_name, i.source_row, "
            "i.observed, i.override_reason "
            "from quality.issues i left join raw.deliveries d using (delivery_seq) "
            f"{clause} order by i.delivery_seq desc, i.source_row limit ?",
            [*params, limit],
        )
    for sev, rule_id, source, tally, file_name, row, observed, reason in found:
        waived = f"  (overridden: {escaped(reason, 200)})" if reason else ""
        print(
            f"{sev:<5} {rule_id} {source}:{escaped(tally)}  {escaped(file_name, 120)} row {row}  "
            f"{escaped(observed, 300)}{waived}"
        )
    print(
        f"{len(found)} of {total:,} issue(s) shown"
        + (" (use --limit to see more)" if total > len(found) else "")
    )
    return 0
