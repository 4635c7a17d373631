"""The frames shared by the steps after the quality gate: read once per run, read again only if
the staged or quality layer changed in between."""

import duckdb

from transforms.refresh import Stamp
from warehouse.refresh_state import write_stamp
from warehouse.run_frames import RunFrames


def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema staged; create schema quality")
    con.execute("create table staged.tallies as select 1::bigint as tally_id, 'a' as source_id")
    con.execute(
        "create table staged.tally_votes as "
        "select 1::bigint as tally_id, 'c1' as candidate_id, 7::bigint as votes"
    )
    con.execute("create table quality.quarantine (tally_id bigint)")
    write_stamp(con, "staged", Stamp("L", 1))
    write_stamp(con, "quality", Stamp("L", 1))
    return con


def test_the_staged_frames_are_read_once_and_again_after_a_layer_changed():
    con, frames = warehouse(), RunFrames()
    first = frames.staged(con, ["c1"])
    assert frames.staged(con, ["c1"]) is first
    assert first[1]["c1"].to_list() == [7]
    write_stamp(con, "quality", Stamp("L", 2))
    assert frames.staged(con, ["c1"]) is not first


def test_each_run_starts_with_nothing_kept():
    con = warehouse()
    assert RunFrames().staged(con, ["c1"]) is not RunFrames().staged(con, ["c1"])


def test_a_contests_cast_votes_are_read_once_in_tally_order():
    con, frames = warehouse(), RunFrames()
    con.execute(
        "create or replace table staged.tally_votes as select * from (values "
        "(3::bigint, 'x', 'c1', 4::bigint), (1, 'x', 'c1', 5), (2, 'x', 'c1', null), "
        "(1, 'y', 'c9', 6), (2, 'x', 'c2', 8)) t(tally_id, contest_id, candidate_id, votes)"
    )
    first = frames.cast_votes(con, "x")
    assert first.rows() == [(1, "c1", 5), (2, "c2", 8), (3, "c1", 4)]  # none of null votes
    assert frames.cast_votes(con, "x") is first
    assert frames.cast_votes(con, "y").rows() == [(1, "c9", 6)]
    write_stamp(con, "staged", Stamp("L", 2))
    assert frames.cast_votes(con, "x") is not first
