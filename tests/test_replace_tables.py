"""replace_tables: new tables are written apart, then swapped in all at once."""

import polars as pl

from warehouse.db import connect
from warehouse.tables import read_table, replace_tables, write_incoming


def _tables(con) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'staged' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def test_replaced_tables_are_the_new_ones_and_nothing_is_left_beside_them(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("create schema staged")
        replace_tables(
            con, "staged", {"a": pl.DataFrame({"x": [1]}), "b": pl.DataFrame({"y": ["p"]})}
        )
        replace_tables(
            con, "staged", {"a": pl.DataFrame({"x": [2, 3]}), "b": pl.DataFrame({"y": ["q"]})}
        )
        assert _tables(con) == ["a", "b"]
        assert read_table(con, "staged", "a")["x"].to_list() == [2, 3]
        assert read_table(con, "staged", "b")["y"].to_list() == ["q"]


def test_a_replacement_stopped_before_the_swap_leaves_the_tables_in_use_as_they_were(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("create schema staged")
        replace_tables(
            con, "staged", {"a": pl.DataFrame({"x": [1]}), "b": pl.DataFrame({"y": ["p"]})}
        )
        write_incoming(con, "staged", "a", pl.DataFrame({"x": [9]}))  # then the run stops
        assert read_table(con, "staged", "a")["x"].to_list() == [1]
        assert read_table(con, "staged", "b")["y"].to_list() == ["p"]
        # the next replacement overwrites what was left and swaps cleanly
        replace_tables(
            con, "staged", {"a": pl.DataFrame({"x": [4]}), "b": pl.DataFrame({"y": ["r"]})}
        )
        assert _tables(con) == ["a", "b"]
        assert read_table(con, "staged", "a")["x"].to_list() == [4]
