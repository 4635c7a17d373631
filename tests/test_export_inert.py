"""CSV exports are inert in spreadsheets: formula-like text cells get a leading quote."""

import csv

import duckdb

from warehouse.export import _inert_columns


def test_formula_like_text_is_prefixed_and_everything_else_kept(tmp_path):
    names = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "Ana", "a=b", None]
    with duckdb.connect() as con:
        con.execute("create table t (name varchar, votes bigint, share double)")
        con.executemany("insert into t values (?, ?, ?)", [[n, -5, -0.5] for n in names])
        path = tmp_path / "t.csv"
        con.sql(f"select {_inert_columns(con, 't')} from t").write_csv(str(path), header=True)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "Ana",
        "a=b",
        "",
    ]
    assert {r["votes"] for r in rows} == {"-5"} and {r["share"] for r in rows} == {"-0.5"}
