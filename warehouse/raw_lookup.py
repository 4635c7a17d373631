"""Raw rows looked up by delivery or by tally code: what an incremental staging run reads
instead of the whole raw layer (a drop's rows, and every delivered row of the units it touches).
"""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.ballots import BALLOT_COLUMN
from warehouse.db import ident, qualified, registered, scalar, table_exists
from warehouse.raw_load import raw_table


def read_new_rows(con: duckdb.DuckDBPyConnection, new: pl.DataFrame) -> pl.DataFrame | None:
    """The raw rows of the new deliveries, every source together."""
    frames = []
    for source in sorted(new["source_id"].unique().to_list()):
        shas = new.filter(source_id=source)["file_sha256"].to_list()
        frames.append(
            con.sql(
                f"select * from {qualified('raw', raw_table(source))} "
                "where file_sha256 in (select unnest(?::varchar[]))",
                params=[shas],
            ).pl()
        )
    filled = [f for f in frames if f.height]
    return pl.concat(filled, how="vertical") if filled else None


def rows_with_codes(
    con: duckdb.DuckDBPyConnection,
    table: str,
    code_column: str,
    codes: list[str],
    columns: str = "r.*",
) -> pl.DataFrame:
    """The rows of raw.<table> whose code (trimmed, as staging trims it) is one of `codes`, in
    the order they were delivered (as a whole-table read has them: where a registry repeats a
    code, the first row is the one used either way).

    `columns`: the select list over the table aliased r (code, never data values)."""
    match = f"semi join wanted_codes w on trim(r.{ident(code_column)}) = w.code"
    return _rows_matching(con, table, match, codes, columns)


def registry_rows_with_codes(
    con: duckdb.DuckDBPyConnection, code_column: str, codes: list[str], columns: str = "r.*"
) -> pl.DataFrame:
    """rows_with_codes of the registry, found through the index of its trimmed codes that a
    full staging makes (staged.registry_lookup), without trimming a million codes."""
    if not table_exists(con, "staged", "registry_lookup"):
        return rows_with_codes(con, "registry", code_column, codes, columns)
    match = (
        "semi join (select l.source_row from staged.registry_lookup l "
        "semi join wanted_codes w on l._code = w.code) x using (source_row)"
    )
    return _rows_matching(con, "registry", match, codes, columns)


def _rows_matching(con, table: str, match: str, codes: list[str], columns: str) -> pl.DataFrame:
    wanted = pl.DataFrame({"code": codes}, schema={"code": pl.String})
    with registered(con, {"wanted_codes": wanted}):
        return con.sql(
            f"select {columns} from {qualified('raw', table)} r {match} "
            "order by r.file_sha256, r.source_row"
        ).pl()


def read_unit_rows(
    con: duckdb.DuckDBPyConnection, source_id: str, code_column: str, codes: list[str]
) -> pl.DataFrame:
    """Every raw row, from every delivery of a source, of the tally units with these codes."""
    return rows_with_codes(con, raw_table(source_id), code_column, codes)


def read_registry_rows(
    con: duckdb.DuckDBPyConnection, code_column: str, codes: list[str]
) -> pl.DataFrame | None:
    """The registry's rows for these tally codes (all of it is not needed to place a drop)."""
    if not table_exists(con, "raw", "registry"):
        return None
    return registry_rows_with_codes(con, code_column, codes).drop("file_sha256", "source_row")


def read_ballot_registry(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """raw.registry when it lists the contests on each unit's ballot (transforms/ballots.py),
    else None (no registry, or one without the column): not read for nothing."""
    if not registry_lists_ballots(con):
        return None
    return con.sql("select * from raw.registry").pl()


def registry_lists_ballots(con: duckdb.DuckDBPyConnection) -> bool:
    """Is there a registry with the column of the contests on each unit's ballot?"""
    if not table_exists(con, "raw", "registry"):
        return False
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'registry' and column_name = ?",
            [BALLOT_COLUMN],
        )
    )
