"""What the projection reads from the working warehouse: the accepted tallies (all of them on a
full run, only a change's on an incremental one), the registry's sizes and the expected tallies.

Narrow reads: only the columns the estimator uses.
"""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.accepted import ACCEPTED_SQL
from transforms.model import Election
from warehouse.db import ident, registered, table_exists
from warehouse.raw_lookup import registry_rows_with_codes
from warehouse.tables import read_long_votes, read_votes_wide


def projection_columns(election: Election) -> list[str]:
    """The columns of a tally the projection uses."""
    codes = {election.code_column(election.levels[0]), election.code_column(election.tally_level)}
    return [
        "tally_id",
        "source_id",
        "tally_code",
        *sorted(codes),
        "registered",
        "valid_votes",
        "total_votes",
    ]


def read_accepted_of_source(
    con: duckdb.DuckDBPyConnection, election: Election, source: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every accepted tally of one source (in tally_id order) and its wide votes (a full run
    starts from every tally instead: warehouse.run_frames.RunFrames.staged)."""
    columns = ", ".join(f"a.{ident(c)}" for c in projection_columns(election))
    tallies = con.sql(
        f"select {columns} from {ACCEPTED_SQL} a where a.source_id = ? order by a.tally_id",
        params=[source],
    ).pl()
    return tallies, read_votes_wide(con, election.candidate_ids, ids=tallies)


def read_registry(
    con: duckdb.DuckDBPyConnection,
    election: Election,
    codes: list[str] | None = None,
    every_level: bool = False,
) -> pl.DataFrame | None:
    """The registry's codes and registered voters (of these tally codes only, if given), codes
    trimmed as staging trims them; None without a registry. every_level: the code of every
    level and district level the registry has (a general election's districts), not only the
    tally's and the first level's."""
    if not table_exists(con, "raw", "registry"):
        return None
    tally = election.code_column(election.tally_level)
    columns = {tally, election.code_column(election.levels[0]), "registered"}
    if every_level:
        present = set(con.sql("select * from raw.registry limit 0").columns)
        levels = [*election.levels, *(d for d, _ in election.district_levels)]
        columns |= {election.code_column(lv) for lv in levels} & present
    wanted = ", ".join(f"trim({ident(c)}) as {ident(c)}" for c in sorted(columns))
    if codes is None:
        return con.sql(f"select {wanted} from raw.registry").pl()
    return registry_rows_with_codes(con, tally, codes, wanted)


def read_capacity_max(con: duckdb.DuckDBPyConnection) -> dict:
    """Per source: the largest ballot capacity of an accepted tally (registered, else cast,
    else valid votes)."""
    return dict(_capacity_max(con, []))


def _capacity_max(con: duckdb.DuckDBPyConnection, keys: list[str]) -> list[tuple]:
    """(*keys, source_id, the largest ballot capacity) of the accepted tallies, per keys and
    source: registered, else cast, else valid votes."""
    grouped = "".join(f"{ident(k)}, " for k in keys)
    return con.sql(
        f"select {grouped}source_id, "  # noqa: S608 (validated identifiers)
        "max(coalesce(registered::double, total_votes::double, valid_votes::double, 0.0)) "
        f"from {ACCEPTED_SQL} a group by all"
    ).fetchall()


def read_units(
    con: duckdb.DuckDBPyConnection, election: Election, every_level: bool = False
) -> pl.DataFrame:
    """staged.units of the first level and national (every_level: of every level, a general
    election's districts): the expected tallies the estimate needs."""
    if every_level:
        return con.sql("select level, unit_code, expected from staged.units").pl()
    return con.sql(
        "select level, unit_code, expected from staged.units where level in (?, 'national')",
        params=[election.levels[0]],
    ).pl()


def read_accepted_of_groups(
    con: duckdb.DuckDBPyConnection, groups: pl.DataFrame, source: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A general election's: every accepted tally of these contests in these districts
    (contest_id, contest_district: null for a contest of the whole area), of one source if
    given, in tally_id order, and their long votes."""
    wanted = groups.select("contest_id", "contest_district")
    where = "where a.source_id = ? " if source is not None else ""
    with registered(con, {"wanted_groups": wanted}):
        tallies = con.sql(
            f"select a.* from {ACCEPTED_SQL} a semi join wanted_groups w "
            "on w.contest_id = a.contest_id "
            "and w.contest_district is not distinct from a.contest_district "
            f"{where}order by a.tally_id",
            params=[source] if source is not None else None,
        ).pl()
    return tallies, read_long_votes(con, tallies)


def read_capacity_max_of_groups(con: duckdb.DuckDBPyConnection) -> dict[tuple, dict]:
    """A general election's read_capacity_max per contest and district: (contest_id,
    contest_district) -> {source_id: the largest ballot capacity of an accepted tally}."""
    capacity: dict[tuple, dict] = {}
    for contest, district, source, value in _capacity_max(con, ["contest_id", "contest_district"]):
        capacity.setdefault((contest, district), {})[source] = value
    return capacity
