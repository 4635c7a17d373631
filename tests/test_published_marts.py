"""The published file as analysts get it: commented in DuckDB, and read (only read) by
`tallyhouse query`, `results` and `export`. The session's shared run of the sample election
serves the whole module."""

import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from orchestration.cli import main
from orchestration.settings import Settings
from tests.conftest import published
from warehouse.mart_registry import MARTS_BY_NAME, describe
from warehouse.read_marts import open_published

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI


@pytest.fixture
def marts(ran_sample) -> Settings:
    return ran_sample.settings


def cli(capsys, settings: Settings, *args: str) -> tuple[int, str, str]:
    code = main([args[0], "--data-dir", str(settings.data_dir), *args[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def mart_frames(settings: Settings) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(settings.published), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {t: con.sql(f'select * from "{t}"').pl() for t in tables}


def test_every_published_table_and_column_has_its_comment(marts):
    tables = published(marts, "select table_name, comment from duckdb_tables()")
    columns = published(
        marts,
        "select table_name, column_name, comment from duckdb_columns() where not internal",
    )
    assert tables.height >= 11 and columns.height > 100
    assert set(tables["table_name"]) <= set(MARTS_BY_NAME)
    blank = pl.col("comment").is_null() | (pl.col("comment").str.strip_chars() == "")
    assert tables.filter(blank).is_empty()
    assert columns.filter(blank).rows() == []
    for table, column, comment in columns.iter_rows():
        assert comment == describe(table, column)


def test_query_prints_an_aligned_table_and_says_when_it_truncates(marts, capsys):
    expected = published(
        marts, "select candidate_name, votes from results where level = 'national' order by rank"
    )
    code, out, _ = cli(
        capsys,
        marts,
        "query",
        "select candidate_name, votes from results where level = 'national' order by rank",
        "--max-rows",
        "3",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["candidate_name", "votes"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    name, votes = expected.row(0)
    assert lines[2].startswith(name) and lines[2].endswith(f"{votes:,}")
    assert len(lines[2]) == len(lines[3]) == len(lines[1])  # right-aligned numbers line up
    assert lines[5].startswith(f"… 3 of {expected.height:,} rows shown; add LIMIT")
    code, out, _ = cli(capsys, marts, "query", "select count(*) as n from results")
    assert code == 0 and out.splitlines()[-1] == "(1 row)"


WRITES = {
    "insert": "insert into publication values ('x', now())",
    "create": "create table t as select 1",
    "temp table": "create temp table t as select 1",
    "drop": "drop table results",
    "update": "update results set votes = 0",
    "attach": "attach '{dir}/new.duckdb' as n",
    "copy to": "copy results to '{dir}/out.csv'",
    "export": "export database '{dir}/dump'",
    "set": "set enable_external_access = true",
    "install": "install httpfs",
    "two statements": "select 1; drop table results",
}


@pytest.mark.parametrize("sql", WRITES.values(), ids=WRITES.keys())
def test_query_refuses_anything_but_one_read(marts, capsys, tmp_path, sql):
    before = published(marts, "select count(*) n, sum(votes) v from results").row(0)
    code, out, err = cli(capsys, marts, "query", sql.format(dir=tmp_path))
    assert code == 2 and out == ""
    assert err.startswith("query ") and ("refused" in err or "one statement" in err)
    assert list(tmp_path.iterdir()) == []
    assert published(marts, "select count(*) n, sum(votes) v from results").row(0) == before


def test_the_query_connection_itself_cannot_write_files_or_unlock(marts, tmp_path):
    """Behind the statement check: DuckDB's own locks, for anything that parses as a read."""
    with open_published(marts.published) as con:
        for sql in (
            f"copy results to '{tmp_path}/out.csv'",
            f"attach '{tmp_path}/new.duckdb' as n",
            "set enable_external_access = true",
            "create table t as select 1",
        ):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
        with pytest.raises(duckdb.Error, match="disabled"):
            con.execute(f"select * from read_csv('{marts.landing}/registry.csv')").fetchall()
    assert list(tmp_path.iterdir()) == []


def test_results_prints_each_unit_with_turnout_and_coverage(marts, capsys):
    states = published(
        marts,
        "select r.unit_code, r.candidate_name, r.votes, t.turnout, c.counted, c.expected "
        "from results r join turnout t using (source_id, level, unit_code) "
        "join coverage c using (source_id, level, unit_code) "
        "where r.level = 'state' and r.rank = 1 order by r.unit_code",
    )
    code, out, _ = cli(capsys, marts, "results", "--level", "state", "--source", "sample")
    assert code == 0
    blocks = [b for b in out.strip().split("\n\n") if b.startswith("[sample]")]
    assert len(blocks) == states.height
    first = states.row(0, named=True)
    head, info, _, _, leader = blocks[0].splitlines()[:5]
    assert head.startswith(f"[sample] state {first['unit_code']} ")
    assert f"turnout {first['turnout'] * 100:.2f} %" in info
    assert f"coverage {first['counted']:,} of {first['expected']:,} tallies" in info
    assert leader.split()[0] == "1" and leader.split()[-3] == f"{first['votes']:,}"

    code, out, _ = cli(capsys, marts, "results", "--level", "municipality", "--parent", "01")
    under = published(
        marts, "select count(*) from turnout where level = 'municipality' and parent_code = '01'"
    ).item()
    assert code == 0 and out.count("[sample] municipality ") == under > 0
    code, out, _ = cli(capsys, marts, "results", "--level", "state", "--unit", first["unit_code"])
    assert code == 0 and out.count("[sample] state ") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--level", "county"), "unknown level 'county'; the marts have: "),
        (("--level", "state", "--source", "cne"), "unknown source 'cne'; the marts have: sample"),
        (("--level", "state", "--unit", "nowhere"), "no state results for unit 'nowhere'"),
    ],
)
def test_results_names_what_is_unknown(marts, capsys, args, message):
    code, out, err = cli(capsys, marts, "results", *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


NATIONAL_SQL = (
    "select candidate_id, candidate_name, votes, share, rank from results "
    "where level = 'national' order by rank"
)


def test_query_as_json_keeps_types_and_as_csv_reads_back(marts, capsys):
    expected = published(marts, NATIONAL_SQL)
    code, out, err = cli(capsys, marts, "query", NATIONAL_SQL, "--format", "json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert rows == expected.to_dicts()
    assert isinstance(rows[0]["votes"], int) and isinstance(rows[0]["share"], float)
    code, out, err = cli(capsys, marts, "query", NATIONAL_SQL, "--format", "csv")
    assert code == 0 and err == ""
    back = pl.read_csv(out.encode(), schema=expected.schema)
    assert back.drop("share").equals(expected.drop("share"))
    assert (back["share"] - expected["share"]).abs().max() < 1e-12


def test_cut_machine_output_stays_whole_and_says_so_on_stderr(marts, capsys):
    code, out, err = cli(
        capsys, marts, "query", NATIONAL_SQL, "--format", "json", "--max-rows", "2"
    )
    assert code == 0 and len(json.loads(out)) == 2
    assert err.startswith("2 of ") and "rows written" in err


def test_hostile_text_reaches_the_terminal_escaped_in_every_format(marts, capsys):
    sql = "select chr(27) || '[31mred' || chr(8238) as name, 1 as n"
    code, out, _ = cli(capsys, marts, "query", sql, "--format", "json")
    assert code == 0 and "\x1b" not in out and "\u202e" not in out
    assert json.loads(out) == [{"name": "\x1b[31mred\u202e", "n": 1}]
    code, out, _ = cli(capsys, marts, "query", sql, "--format", "csv")
    assert code == 0 and "\x1b" not in out and out.splitlines()[1] == "\\x1b[31mred\\u202e,1"


def test_results_as_csv_and_json_a_row_per_unit_and_candidate(marts, capsys):
    states = published(
        marts, "select unit_code, candidate_id, votes from results where level = 'state'"
    )
    code, out, err = cli(capsys, marts, "results", "--level", "state", "--format", "json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    got = pl.DataFrame(rows).select("unit_code", "candidate_id", "votes")
    assert got.sort("unit_code", "candidate_id").equals(states.sort("unit_code", "candidate_id"))
    assert {"turnout", "counted", "expected", "share", "rank"} <= set(rows[0])
    code, out, err = cli(
        capsys, marts, "results", "--level", "state", "--format", "csv", "--max-units", "1"
    )
    assert code == 0 and "units shown" in err
    back = pl.read_csv(out.encode())
    assert (
        back["unit_code"].n_unique() == 1
        and back.height == states.height // states["unit_code"].n_unique()
    )


def test_an_unknown_format_is_a_usage_error(marts, capsys):
    code, out, err = cli(capsys, marts, "query", "select 1", "--format", "xml")
    assert code == 2 and out == "" and "'xml' is not one of 'table', 'csv', 'json'" in err


def test_parquet_export_reads_back_equal_to_the_marts(marts, capsys, tmp_path):
    code, out, _ = cli(capsys, marts, "export", "--format", "parquet", "--out", str(tmp_path))
    assert code == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    frames = mart_frames(marts)
    assert manifest["run_id"] == frames["publication"]["run_id"].item()
    assert sorted(e["table"] for e in manifest["tables"]) == sorted(frames)
    for entry in manifest["tables"]:
        path = tmp_path / entry["file"]
        back = pl.read_parquet(path)
        mart = frames[entry["table"]]
        assert back.schema == mart.schema, entry["table"]
        assert back.equals(mart), entry["table"]
        assert entry["rows"] == mart.height
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"Exported {len(frames)} mart(s) of run {manifest['run_id']}" in out


def test_csv_export_round_trips_the_values(marts, capsys, tmp_path):
    code, _, _ = cli(
        capsys,
        marts,
        "export",
        "--format",
        "csv",
        "--out",
        str(tmp_path),
        "--tables",
        "results",
        "turnout",
        "publication",
    )
    assert code == 0
    frames = mart_frames(marts)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "manifest.json",
        "publication.csv",
        "results.csv",
        "turnout.csv",
    ]
    for table in ("results", "turnout", "publication"):
        back = pl.read_csv(tmp_path / f"{table}.csv", schema=frames[table].schema)
        assert back.equals(frames[table]), table


def test_export_refuses_an_unknown_table(marts, capsys, tmp_path):
    code, _, err = cli(capsys, marts, "export", "--out", str(tmp_path), "--tables", "secrets")
    assert code == 1 and "no such mart: secrets" in err
    assert not any(Path(tmp_path).iterdir())


def test_csv_export_neutralises_formulas_unless_raw(marts, capsys, tmp_path):
    for name, flags in (("a", ()), ("b", ("--raw",))):
        code, _, _ = cli(
            capsys, marts, "export", "--format", "csv", *flags, "--out", str(tmp_path / name)
        )
        assert code == 0
    manifests = [json.loads((tmp_path / n / "manifest.json").read_text()) for n in "ab"]
    assert [m["formulas_neutralised"] for m in manifests] == [True, False]
    assert (tmp_path / "a" / "results.csv").read_bytes() == (
        tmp_path / "b" / "results.csv"
    ).read_bytes(), "the sample has no formula-like text: both exports are equal"


def test_a_query_past_its_time_limit_is_stopped(marts, capsys):
    sql = "select count(*) from range(1000000000) a, range(1000000000) b"
    code, out, err = cli(capsys, marts, "query", sql, "--timeout", "0.5")
    assert code == 1 and out == "" and "ran past 0.5 s and was stopped" in err
