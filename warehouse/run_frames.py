"""The frames of the staged and quality layers read once per run, shared by the marts,
projection and forensics steps (orchestration/resources.py makes one per run: the `frames`
resource, which those steps take as a parameter).

A full run's steps all start from every staged tally, its votes and the quarantine (`staged`),
and a general election's forensics and projection steps from each contest's cast votes
(`cast_votes`); an incremental run's, from the last change (`change`). Each is read on first
use, through the asking step's connection, and kept for the run's later steps while the staged
and quality layers' stamps stay as they were (had a step changed them, the next one would read
again).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from warehouse.change import Change, read_change
from warehouse.contest_votes import read_cast_votes_of_contest
from warehouse.refresh_state import staged_and_gate
from warehouse.tables import read_staged


class RunFrames:
    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple, object]] = {}

    def staged(
        self, con: duckdb.DuckDBPyConnection, candidate_ids: list[str], key: str = "candidate_id"
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Every staged tally, their votes (wide: a column per candidate, or per ballot line
        of a general election's contests, key `slot`; none for no candidate) and the
        quarantine (read_staged)."""
        name = "staged" if candidate_ids else "staged tallies"
        return self._once(con, name, lambda: read_staged(con, candidate_ids, key))

    def cast_votes(self, con: duckdb.DuckDBPyConnection, contest: str) -> pl.DataFrame:
        """A general election's cast long votes of one contest, in tally_id order
        (read_cast_votes_of_contest): the forensics and projection steps' full builds both
        read and ordered every contest's, a tenth of the two steps' CPU at 300,000 tallies x 3."""
        return self._once(
            con, f"cast votes of {contest}", lambda: read_cast_votes_of_contest(con, contest)
        )

    def change(self, con: duckdb.DuckDBPyConnection, candidate_ids: list[str]) -> Change:
        """The last change (read_change)."""
        return self._once(con, "change", lambda: read_change(con, candidate_ids))

    def clear(self) -> None:
        """Forget every kept frame (at the end of the run)."""
        self._kept.clear()

    def _once(self, con: duckdb.DuckDBPyConnection, name: str, read: Callable[[], object]):
        key = tuple(stamp.stamp if stamp else None for stamp in staged_and_gate(con))
        kept = self._kept.get(name)
        if kept is None or kept[0] != key:
            kept = self._kept[name] = (key, read())
        return kept[1]
