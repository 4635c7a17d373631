"""A general election's full staging reads its long raw rows a few files at a time
(warehouse/raw_chunks.py) and plans its ballots from the distinct values of a few columns: the
ballots are those of every raw row read at once, whatever the chunk size, with rows of a unit
apart, lines repeated with other votes and a line a district never had before."""

import random
from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from landing.files import matching_files
from landing.synthetic_general import write_synthetic_general
from orchestration.cli_commands.common import election_config
from orchestration.settings import Settings
from transforms.contests import ballot_plan, ballots, ballots_of, plan_columns, spread_rows
from transforms.synthetic.general import generate_general
from warehouse.db import connect, registered
from warehouse.raw_chunks import RawFile, file_batches, read_distinct_rows, read_raw_chunks
from warehouse.raw_load import bind_election, load_feed_files
from warehouse.schema import ensure_schema


def _messy(general):
    """The second drop's rows shuffled (a unit's rows apart), a line of the third repeated with
    other votes (`a|b`), and a line of the last given to a candidate no unit had."""
    shuffled = general.drops[1].sample(fraction=1.0, shuffle=True, seed=2)
    third = general.drops[2]
    third = pl.concat([third, third.slice(3, 1).with_columns(pl.col("votes") + 1)])
    last = general.drops[-1]
    name = pl.lit("Ana Nueva").cast(last["candidate"].dtype).alias("candidate")
    stranger = last.slice(0, 1).with_columns(name)
    return replace(general, drops=[general.drops[0], shuffled, third, pl.concat([last, stranger])])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    write_synthetic_general(_messy(generate_general(300, contests=3, seed=7, drops=4)), landing)
    settings = replace(Settings(landing.parent / "data"), election="general")
    config = election_config(settings)
    con = connect(landing.parent / "w.duckdb")
    ensure_schema(con)
    bind_election(con, config.election.id)
    files = matching_files(landing, config.contracts)
    loaded = list(load_feed_files(con, files, config.election, "run"))
    assert all(o.error is None for _, _, o in loaded)
    yield con, config.election
    con.close()


def _chunked(con, election, chunk_rows: int):
    columns, when_level = plan_columns(election)
    plan = ballot_plan(read_distinct_rows(con, ["general"], columns, when_level), election)
    chunks = list(read_raw_chunks(con, ["general"], chunk_rows))
    return ballots_of([spread_rows(c, election, plan) for c in chunks], plan), len(chunks)


@pytest.mark.parametrize("chunk_rows", [1, 3_500, 10**9])
def test_ballots_a_few_files_at_a_time_are_those_of_every_row(warehouse, chunk_rows):
    con, election = warehouse
    whole = ballots(con.sql("select * from raw.tallies_general").pl(), election)
    chunked, chunks = _chunked(con, election, chunk_rows)
    assert chunks == {1: 4, 3_500: 2, 10**9: 1}[chunk_rows]
    for part in ("wide", "lines", "positions", "contests"):
        assert_frame_equal(getattr(chunked, part), getattr(whole, part))
    assert chunked.width == whole.width
    # the faults are there to be kept: a disagreeing line, a new candidate's line
    slots = [c for c in whole.wide.columns if c.startswith("p0")]
    assert whole.wide.select(pl.any_horizontal(pl.col(slots).str.contains("|", literal=True)))[
        :, 0
    ].any()
    assert "Ana Nueva" in whole.lines["candidate_name"].to_list()


def test_the_distinct_rows_keep_a_code_only_where_a_contest_is_elected_at_its_level(warehouse):
    con, election = warehouse
    columns, when_level = plan_columns(election)
    distinct = read_distinct_rows(con, ["general"], columns, when_level)
    raw = con.sql("select count(*) from raw.tallies_general").fetchall()[0][0]
    assert distinct.height < raw / 10
    for code, level in when_level.items():
        elsewhere = distinct.filter(pl.col("contest_district_level").ne_missing(level))
        assert elsewhere[code].null_count() == elsewhere.height


def test_files_are_batched_in_order_and_never_split():
    def files(*sizes):
        return [RawFile(name, n, 0, n - 1) for name, n in zip("abcdefgh", sizes, strict=False)]

    def names(batches):
        return [[f.sha256 for f in b] for b in batches]

    assert names(file_batches(files(5, 3, 9, 1, 1), 8)) == [["a", "b"], ["c"], ["d", "e"]]
    assert names(file_batches(files(5, 3, 9, 1, 1), 1)) == [["a"], ["b"], ["c"], ["d"], ["e"]]
    assert file_batches([], 8) == []
    rng = random.Random(1)
    sizes = [RawFile(str(i), rng.randint(1, 20), 0, 0) for i in range(50)]
    batches = file_batches(sizes, 30)
    assert [f for b in batches for f in b] == sizes
    assert all(sum(f.rows for f in b) <= 30 or len(b) == 1 for b in batches)


def test_files_whose_rows_are_apart_are_read_by_name(tmp_path):
    """Two files whose rows alternate (no range of rowids holds one alone): each batch still
    has its own files' rows only, in their order."""
    con = connect(tmp_path / "w.duckdb")
    ensure_schema(con)
    rows = pl.DataFrame(
        {
            "file_sha256": ["a", "b"] * 4,
            "source_row": [1, 1, 2, 2, 3, 3, 4, 4],
            "v": list("12345678"),
        }
    )
    with registered(con, {"incoming": rows}):
        con.execute("create table raw.tallies_x as select * from incoming")
    chunks = list(read_raw_chunks(con, ["x"], chunk_rows=1))
    assert [c["file_sha256"].to_list() for c in chunks] == [["a"] * 4, ["b"] * 4]
    assert [c["v"].to_list() for c in chunks] == [list("1357"), list("2468")]
    [both] = list(read_raw_chunks(con, ["x"], chunk_rows=100))
    assert both["v"].to_list() == list("12345678")
