"""What `tallyhouse run` prints at the end, read from the published marts."""

from __future__ import annotations

from pathlib import Path

from warehouse.db import connect, rows


def print_summary(published: Path) -> None:
    with connect(published, read_only=True) as con:
        for (source,) in rows(con, "select distinct source_id from results order by 1"):
            _print_source(con, source)
    print(f"Published marts: {published}")
    print(f"  query them with: duckdb -readonly {published}")


def _print_source(con, source: str) -> None:
    print(f"Source {source!r}: national result")
    for name, votes, share, rank in rows(
        con,
        "select candidate_name, votes, share, rank from results "
        "where source_id = ? and level = 'national' order by rank, candidate_id",
        [source],
    ):
        share_text = f"{share * 100:6.2f} %" if share is not None else "      -"
        print(f"  {rank:>2}. {name:<28} {votes:>12,}  {share_text}")
    registered, total, turnout = rows(
        con,
        "select registered, total_votes, turnout from turnout "
        "where source_id = ? and level = 'national'",
        [source],
    )[0]
    turnout_text = f"{turnout * 100:.2f} %" if turnout is not None else "unknown (no registry)"
    registered_text = f"{registered:,}" if registered is not None else "unknown"
    print(f"  turnout: {turnout_text} ({total:,} ballots, {registered_text} registered)")
    expected, counted, percent = rows(
        con,
        "select expected, counted, percent_reporting from coverage "
        "where source_id = ? and level = 'national'",
        [source],
    )[0]
    if expected:
        print(f"  coverage: {counted:,} of {expected:,} tallies counted ({percent:.2f} %)\n")
    else:
        print(f"  coverage: {counted:,} tallies counted (expected number unknown)\n")
