"""The working warehouse is created whole or not at all (warehouse.db.create_whole): a run
killed while DuckDB wrote a new file's header left a file no connection could open, and every
later run failed to start ("not a valid DuckDB database file")."""

import duckdb
import pytest

from warehouse.db import create_whole


def test_a_new_warehouse_is_made_beside_and_renamed_in(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    stale = tmp_path / ".warehouse.duckdb.99999.new"
    stale.write_bytes(b"half a header")  # what a creation killed midway leaves
    create_whole(path)
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb"]
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select 1 as x")
    create_whole(path)  # an existing warehouse is left as it is
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.sql("select x from t").fetchall() == [(1,)]


def test_a_creation_that_fails_leaves_no_warehouse(tmp_path, monkeypatch):
    def killed(path, *args, **kwargs):
        open(path, "wb").write(b"DUCK")  # a header cut short
        raise KeyboardInterrupt

    monkeypatch.setattr(duckdb, "connect", killed)
    with pytest.raises(KeyboardInterrupt):
        create_whole(tmp_path / "warehouse.duckdb")
    assert not (tmp_path / "warehouse.duckdb").exists()
    monkeypatch.undo()
    create_whole(tmp_path / "warehouse.duckdb")  # the next run makes it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb"]
