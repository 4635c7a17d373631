"""What keeps a run's memory down without changing a value: frames reach DuckDB as Arrow without
a copy of their text (warehouse.db.as_arrow, through `registered`), and the gate sends its
Great Expectations worker only the evidence columns the rules read."""

import datetime as dt
from decimal import Decimal

import duckdb
import polars as pl
import pyarrow as pa

from expectations import gx_worker
from expectations.gx_worker import OK
from expectations.rules import RULES
from expectations.suites import KEY, columns_needed
from warehouse.db import as_arrow, registered


def every_dtype() -> pl.DataFrame:
    """A frame of every kind of column the pipeline's frames hold, nulls included."""
    stamp = pl.Series([dt.datetime(2024, 7, 28, 18, 1, 2, 345678), None, dt.datetime(2024, 1, 1)])
    return pl.DataFrame(
        {
            "short": ["a", None, ""],
            "long": ["a text longer than twelve bytes", None, "ñandú, ü"],
            "count": [1, None, 3],
            "small": pl.Series([1, 2, None], dtype=pl.Int32),
            "unsigned": pl.Series([1, 2, 3], dtype=pl.UInt32),
            "share": [0.5, None, float("nan")],
            "flag": [True, None, False],
            "day": [dt.date(2024, 7, 28), None, dt.date(2024, 1, 1)],
            "at": stamp,
            "at_utc": stamp.dt.replace_time_zone("UTC"),
            "category": pl.Series(["x", None, "y"], dtype=pl.Categorical),
            "choice": pl.Series(["x", "y", None], dtype=pl.Enum(["x", "y"])),
            "codes": [["a", "a code longer than twelve"], None, []],
            "pair": [{"n": 1, "s": "x"}, None, {"n": 2, "s": None}],
            "money": pl.Series([Decimal("1.25"), None, Decimal("3.50")], dtype=pl.Decimal(10, 2)),
            "nothing": [None, None, None],
        }
    )


def written(frame: object) -> tuple[list, list]:
    """The column types and rows of a table DuckDB made from `frame`."""
    with duckdb.connect() as con:
        con.register("incoming", frame)
        con.execute("create table t as select * from incoming")
        types = con.execute("select column_name, column_type from (describe t)").fetchall()
        return types, con.execute("select * from t").fetchall()


def test_a_polars_frame_reaches_duckdb_as_its_own_string_views():
    arrow = as_arrow(every_dtype())
    assert isinstance(arrow, pa.Table)
    assert arrow.schema.field("long").type == pa.string_view()


def test_duckdb_makes_the_same_table_of_the_views_as_of_the_frame():
    frame = every_dtype()
    assert repr(written(as_arrow(frame))) == repr(written(frame))


def test_anything_but_a_polars_frame_is_handed_over_as_it_is():
    table = pa.table({"a": [1]})
    assert as_arrow(table) is table


def test_registered_hands_duckdb_the_views():
    frame = every_dtype()
    with duckdb.connect() as con, registered(con, {"incoming": frame}):
        assert con.execute("select count(*), count(long) from incoming").fetchall() == [(3, 2)]
        assert con.execute("select long from incoming where count = 1").fetchall() == [
            ("a text longer than twelve bytes",)
        ]


class Recorder:
    """A worker that records what it was sent and answers that nothing failed."""

    def __init__(self):
        self.sent = None

    def ask(self, request):
        self.sent = request
        _, _, rules, _ = request
        return OK, (tuple(r.id for r in rules), {})


def test_the_worker_is_sent_only_the_columns_the_rules_read(monkeypatch):
    needed = columns_needed(RULES)
    evidence = pl.DataFrame({c: [1, 2] for c in needed}).with_columns(
        pl.lit("not read by any rule").alias("unit_name"), pl.lit(7).alias("source_row")
    )
    recorder = Recorder()
    monkeypatch.setattr(gx_worker, "_current", recorder)
    gx_worker.validate_here_or_in_worker(evidence, RULES, "all")
    sent = recorder.sent[1]
    assert sorted(sent.columns) == sorted(needed) and KEY in sent.columns
    assert sent.equals(evidence.select(sent.columns))


def test_a_missing_column_still_reaches_the_worker_as_missing(monkeypatch):
    """The worker's validate names it (an engine error there), as validating here would."""
    needed = columns_needed(RULES)
    evidence = pl.DataFrame({c: [1] for c in needed if c != "registered"})
    recorder = Recorder()
    monkeypatch.setattr(gx_worker, "_current", recorder)
    gx_worker.validate_here_or_in_worker(evidence, RULES, "all")
    assert "registered" not in recorder.sent[1].columns
