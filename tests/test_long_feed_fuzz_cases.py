"""Defects the long-feed fuzz run found (benchmarks/fuzz_feeds.py --election us_dc2016): small
DC-shaped precinct files, read and mapped by the shipped us_dc2016 contract, then spread over
their ballots as staging does (transforms.contests.ballots); and the fuzz run itself, small."""

from pathlib import Path

import polars as pl
import pytest

from landing.files import FileRejected, mapped, read_feed
from tests.test_chaos import _benchmark
from tests.test_us_dc2016 import SHARED_DC
from transforms.contests import Known, NewContestLines, ballots
from warehouse.configs import load_election

HEADER = "ward,precinct,office,district,party,candidate,votes"
PRESIDENT = "ELECTORS OF PRESIDENT AND VICE PRESIDENT"


def _ballots(tmp_path: Path, rows: list[str], known: Known | None = None):
    """The rows as a precinct file (bare-CR line ends, as the real one) spread over ballots (a
    drop's, against `known`)."""
    config = load_election("us_dc2016")
    [contract] = [c for c in config.contracts if c.source_id == "precinct"]
    path = tmp_path / "x__precinct.csv"
    path.write_bytes("\r".join([HEADER, *rows]).encode("utf-8"))
    applied = mapped(path, read_feed(path, contract), contract, config.election)
    raw = applied.tallies.with_columns(pl.lit("f" * 64).alias("file_sha256"))
    return ballots(raw, config.election, known)


def _president(precinct: int, trump: str = "Donald J. Trump - Michael R. Pence") -> list[str]:
    return [
        f"6,{precinct},{PRESIDENT},,DEM,Hillary Clinton - Tim Kaine,100",
        f"6,{precinct},{PRESIDENT},,REP,{trump},10",
        f"6,{precinct},{PRESIDENT},,,OVER VOTES,1",
    ]


@pytest.mark.parametrize("label", ["", "   "])
def test_an_empty_candidate_cell_quarantines_its_own_tally_not_every_other_one(tmp_path, label):
    # found by the fuzz run: one row of a city-wide contest with its candidate cell emptied
    # made '' a line of that contest's ballot; every president tally of every file and source
    # (precinct, ward, city-wide) then lacked it and was quarantined, evidence `=''`
    spread = _ballots(tmp_path, [*_president(1), *_president(2, trump=label)])
    lines = spread.positions.filter(pl.col("contest_id") == "president")["candidate_id"]
    assert sorted(lines.to_list()) == [
        "Donald J. Trump - Michael R. Pence",
        "Hillary Clinton - Tim Kaine",
    ], "a blank label is no line of the ballot"
    notes = dict(spread.wide.select("precinct_code", "_note").iter_rows())
    assert notes["1"] is None, "the complete precinct's tally is judged on its own rows"
    assert "candidate=''" in (notes["2"] or ""), "the row without a candidate is named (E8)"


# each line's end: a bare CR after the header, or after a row, where the others end LF (the rows
# a CR joins are longer than the header: polars cannot parse them)
ENDS = {"header": "\r\n\r\r\n\n\n", "row": "\n\n\r\n\n\n\n"}


@pytest.mark.parametrize("after", sorted(ENDS))
def test_a_bare_cr_in_a_file_of_lf_line_ends_is_a_named_parse_failure(tmp_path, after):
    # found by the fuzz run (mixed_line_ends): the DC precinct file's bare-CR line ends with some
    # rows ended LF. CR is then a character of its field, polars finds a ragged row, and the
    # reason was Python's `could not be loaded (Error: new-line character seen in unquoted field
    # - do you need to open the file in universal-newline mode?)`, naming no row
    config = load_election("us_dc2016")
    [contract] = [c for c in config.contracts if c.source_id == "precinct"]
    path = tmp_path / "x__precinct.csv"
    lines = [HEADER, *_president(1), *_president(2)]
    ends = ENDS[after]
    path.write_bytes("".join(line + end for line, end in zip(lines, ends, strict=True)).encode())
    with pytest.raises(FileRejected) as rejected:
        read_feed(path, contract)
    assert rejected.value.reason.startswith("cannot be parsed: "), rejected.value.reason
    assert "line break inside an unquoted field" in rejected.value.reason


def test_a_tally_lacking_the_count_lines_its_district_gives_is_missing_them(tmp_path):
    # found by the fuzz run (split_across_files): a precinct × office whose WRITE-IN, OVER and
    # UNDER VOTES rows came in one file and its candidate lines in a later one. The later file's
    # tally superseded the earlier one and was accepted without them: its write-in votes left
    # its valid votes, its over and under votes the turnout, with no evidence anywhere
    complete = _president(1) + [
        f"6,1,{PRESIDENT},,NON,WRITE-IN,5",
        f"6,1,{PRESIDENT},,,UNDER VOTES,2",
    ]
    candidates_only = _president(2)[:2]
    spread = _ballots(tmp_path, [*complete, *candidates_only])
    counts = spread.wide.filter(pl.col("precinct_code") == "2").select(
        "other_votes", "null_votes", "blank_votes"
    )
    assert counts.row(0) == ("", "", ""), "missing (E8), as a candidate line the unit lacks"
    complete_counts = spread.wide.filter(pl.col("precinct_code") == "1")
    assert complete_counts.select("other_votes", "null_votes", "blank_votes").row(0) == (
        "5",
        "1",
        "2",
    )


def test_a_count_row_no_unit_of_the_district_gives_stays_absent(tmp_path):
    # a feed that never gives write-ins: its tallies are judged without them, as before
    spread = _ballots(tmp_path, [*_president(1), *_president(2)])
    assert spread.wide["other_votes"].null_count() == 2
    assert spread.wide["null_votes"].to_list() == ["1", "1"]


def test_a_drop_giving_a_count_row_its_district_never_gave_is_staged_whole(tmp_path):
    # the units staged before would then lack it: their tallies change, not only the drop's
    before = _ballots(tmp_path, _president(1))
    known = Known(before.lines, before.contests, before.positions, before.counts)
    assert _ballots(tmp_path, _president(2), known).wide.height == 1
    with pytest.raises(NewContestLines, match="count row"):
        _ballots(tmp_path, [*_president(2), f"6,2,{PRESIDENT},,NON,WRITE-IN,5"], known)


@pytest.mark.e2e
@pytest.mark.reliability
@pytest.mark.skipif(not SHARED_DC.is_dir(), reason=f"the real DC 2016 feeds are not in {SHARED_DC}")
def test_mutated_real_long_feeds_are_named_rejections_or_quarantines(monkeypatch, capsys):
    # every kind of benchmarks/fuzz_long_feeds.py once (22 mutated files, 23 with the split)
    fuzz = _benchmark("fuzz_feeds", monkeypatch)
    code = fuzz.main(
        ["--election", "us_dc2016", "--mutations", "22", "--batch", "22", "--seed", "1"]
    )
    out = capsys.readouterr().out
    assert "23 mutated files in 2 runs" in out
    assert code == 0, out
