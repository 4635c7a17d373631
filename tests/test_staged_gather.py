"""A general election's full staging gathers each tally's long rows in DuckDB
(warehouse/long_gather.py) and leaves the odd groups to polars: the ballots are those the polars
gather makes of every raw row, plain groups and faults alike (blank, non-digit, negative,
padded, zero-led and too large cells, a line or a count given twice with other votes or the
same, a row of no contest, a count that differs between a tally's rows, a unit's rows apart, a
line of a candidate no unit had, a tally without its write-in row). The ballots are planned
from the distinct values of a few columns, a code only where a contest is elected at its
level."""

import random
from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from landing.files import matching_files
from landing.synthetic_general import write_synthetic_general
from orchestration.cli_commands.common import election_config
from orchestration.settings import Settings
from transforms.contests import ballots, plan_columns, stage_ballots
from transforms.count_cells import as_integers
from transforms.feed import COUNT_FIELDS
from transforms.synthetic.general import generate_general
from warehouse import long_gather
from warehouse.db import connect
from warehouse.general_spread import read_distinct_rows, spread_raw
from warehouse.raw_load import bind_election, load_feed_files
from warehouse.schema import ensure_schema
from warehouse.withdrawals import read_deliveries

FAULTS = ("", "12x", "-4", " 7 ", "007", "9" * 20, "3.5")


def _faulty(drop: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """Some rows of a drop with a fault each (text columns: as a file gives them)."""
    frame = drop.with_columns(pl.all().cast(pl.String))
    picked = sorted(rng.sample(range(frame.height), 40))
    parts, at = [], 0
    for n, row in enumerate(picked):
        parts.append(frame.slice(at, row - at))
        line = frame.slice(row, 1)
        kind = n % 11
        if kind < len(FAULTS):
            parts.append(line.with_columns(pl.lit(FAULTS[kind]).alias("votes")))
        elif kind == 7:  # the same line twice
            parts += [line, line]
        elif kind == 8:  # the same line twice with other votes
            parts += [line, line.with_columns(pl.lit("1").alias("votes"))]
        elif kind == 9:  # no contest
            parts.append(line.with_columns(pl.lit("").alias("office")))
        else:  # another count of registered voters than the tally's other rows
            parts.append(line.with_columns(pl.lit("5").alias("registered")))
        at = row + 1
    parts.append(frame.slice(at))
    return pl.concat(parts)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    general = generate_general(300, contests=3, seed=11, drops=4)
    rng = random.Random(5)
    drops = [_faulty(d, rng) for d in general.drops]
    drops[1] = drops[1].sample(fraction=1.0, shuffle=True, seed=2)  # a unit's rows apart
    stranger = drops[-1].slice(0, 1).with_columns(pl.lit("Ana Nueva").alias("candidate"))
    drops[-1] = pl.concat([drops[-1], stranger])  # a line of a candidate no unit had
    at = drops[2].with_row_index().filter(pl.col("candidate") == "WRITE-IN")["index"][0]
    drops[2] = pl.concat([drops[2].slice(0, at), drops[2].slice(at + 1)])  # a count row lacking
    write_synthetic_general(replace(general, drops=drops), landing)
    con, election = _empty_warehouse(landing.parent)
    files = matching_files(landing, election_config(_settings(landing.parent)).contracts)
    assert all(o.error is None for *_, o in load_feed_files(con, files, election, "run"))
    yield con, election
    con.close()


def _settings(root):
    return replace(Settings(root / "data"), election="general")


def _empty_warehouse(root):
    """A warehouse bound to the general election, nothing loaded, and the election."""
    election = election_config(_settings(root)).election
    con = connect(root / "w.duckdb")
    ensure_schema(con)
    bind_election(con, election.id)
    return con, election


@pytest.mark.parametrize("mask_cells", [62, 0])
def test_gathered_in_duckdb_the_ballots_are_those_of_the_polars_gather(
    warehouse, mask_cells, monkeypatch
):
    """mask_cells 0: a ballot too wide for a bit mask, its lines counted distinct instead."""
    monkeypatch.setattr(long_gather, "MASK_CELLS", mask_cells)
    con, election = warehouse
    raw = con.sql("select * from raw.tallies_general").pl()
    whole = ballots(raw, election)
    spread, rows = spread_raw(con, election)
    assert rows == raw.height
    # the same wide rows, their counts as integers, the text of those that are no plain count
    # kept aside
    counts = [c for c in whole.wide.columns if c in COUNT_FIELDS or c.startswith("p0")]
    wide, cells = as_integers(whole.wide, counts)
    assert_frame_equal(spread.wide, wide)
    assert_frame_equal(spread.cells, cells)
    for part in ("lines", "positions", "contests", "counts"):
        assert_frame_equal(getattr(spread, part), getattr(whole, part))
    assert spread.width == whole.width
    # the faults are there: a disagreeing line, a tally of no contest, a note
    slots = [c for c in whole.wide.columns if c.startswith("p0")]
    cells = whole.wide.select(pl.concat_list(slots).alias("c")).explode("c")["c"]
    assert cells.str.contains("|", literal=True).any()
    assert {"", "12x", "-4", "3.5"} <= set(cells.to_list())
    assert whole.wide["contest_id"].null_count() > 0
    assert whole.wide["registered"].str.contains("|", literal=True).any()
    assert "Ana Nueva" in whole.lines["candidate_name"].to_list()
    assert (whole.wide["other_votes"] == "").any(), "a tally without its write-in row"


def test_counts_carried_as_integers_stage_as_their_text_does(warehouse):
    """Staging reads the integer counts and their cells (transforms/count_cells) as it reads
    the text: the same tallies, evidence (every fault's note), votes and versions."""
    con, election = warehouse
    raw = con.sql("select * from raw.tallies_general").pl()
    spread, _ = spread_raw(con, election)
    deliveries = read_deliveries(con)
    typed = stage_ballots(spread, deliveries, election)
    text = stage_ballots(ballots(raw, election), deliveries, election)
    assert spread.cells.height and text.tallies.height == typed.tallies.height
    for part in ("tallies", "slot_votes", "versions"):
        assert_frame_equal(getattr(typed, part), getattr(text, part))
    evidence = " ".join(typed.tallies["negative_or_fractional"].drop_nulls())
    assert "='-4'" in evidence and "='3.5'" in evidence
    unparsable = " ".join(typed.tallies["missing_or_unparsable"].drop_nulls())
    assert "='12x'" in unparsable and "=''" in unparsable and "|" in unparsable


def test_the_distinct_rows_keep_a_code_only_where_a_contest_is_elected_at_its_level(warehouse):
    con, election = warehouse
    columns, when_level = plan_columns(election)
    distinct = read_distinct_rows(con, ["general"], columns, when_level)
    raw = con.sql("select count(*) from raw.tallies_general").fetchall()[0][0]
    assert distinct.height < raw / 10
    for code, level in when_level.items():
        elsewhere = distinct.filter(pl.col("contest_district_level").ne_missing(level))
        assert elsewhere[code].null_count() == elsewhere.height


def test_an_election_of_no_rows_spreads_to_none(tmp_path):
    con, election = _empty_warehouse(tmp_path)
    assert spread_raw(con, election) is None
    con.close()
