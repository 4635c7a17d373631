import polars as pl
import pytest

from transforms.model import Candidate, Election, Source
from transforms.staging import joined_beside, stage
from warehouse.db import connect
from warehouse.staged_write import replace_staged
from warehouse.tables import replace_tables

ELECTION = Election(
    id="mini",
    name="Mini",
    levels=("state", "table"),
    candidates=(Candidate("a", "Ana"), Candidate("b", "Beto")),
    sources=(Source("feed", "official"),),
)


def raw_rows(*rows: dict, sha: str = "f1") -> pl.DataFrame:
    base = {
        "state_code": "01",
        "table_code": "01.1",
        "registered": "100",
        "valid_votes": "60",
        "null_votes": "1",
        "blank_votes": "0",
        "total_votes": "61",
        "a": "40",
        "b": "20",
    }
    frame = pl.DataFrame([{**base, **r} for r in rows])
    return frame.with_columns(
        pl.lit(sha).alias("file_sha256"),
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("source_row"),
    )


def deliveries(*shas: str, releases=None, snapshot=False) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file_sha256": list(shas),
            "source_id": ["feed"] * len(shas),
            "delivery_seq": list(range(1, len(shas) + 1)),
            "release": list(releases or [0] * len(shas)),
            "snapshot": [snapshot] * len(shas),
            "loaded_at": [None] * len(shas),
        }
    )


def test_evidence_names_each_bad_cell_and_leaves_it_null():
    raw = raw_rows(
        {"table_code": "1"},
        {"table_code": "2", "a": "4O"},
        {"table_code": "3", "b": "-3"},
        {"table_code": "4", "valid_votes": ""},
        {"table_code": "5", "blank_votes": ""},
        {"table_code": "6", "null_votes": "1.5"},
        {"table_code": "7", "a": "Ilegible", "b": "-"},
        {"table_code": "8", "state_code": " "},
        {"table_code": "9", "blank_votes": None, "total_votes": None},
        {"table_code": "10", "a": "99999999999999999999"},
    )
    staged = stage(raw, deliveries("f1"), ELECTION)
    tallies = staged.tallies.sort("source_row")
    unparsable = tallies["missing_or_unparsable"].to_list()
    improper = tallies["negative_or_fractional"].to_list()
    assert unparsable == [
        None,
        "a='4O'",
        None,
        "valid_votes=''",
        "blank_votes=''",
        None,
        "a='Ilegible'; b='-'",
        "state_code=''",
        None,
        "a='99999999999999999999'",
    ]
    assert improper == [
        None,
        None,
        "b='-3'",
        None,
        None,
        "null_votes='1.5'",
        None,
        None,
        None,
        None,
    ]
    votes = staged.votes.join(tallies.select("tally_id", "source_row"), on="tally_id")
    a = votes.filter(candidate_id="a").sort("source_row")["votes"].to_list()
    b = votes.filter(candidate_id="b").sort("source_row")["votes"].to_list()
    assert a[:3] == [40, None, 40] and b[2] is None
    assert tallies["blank_votes"].to_list()[4] is None
    # null: a field the contract does not map is absent, not missing
    assert tallies.row(8, named=True)["total_votes"] is None


def test_stage_casts_counts_and_keeps_provenance():
    staged = stage(raw_rows({"table_code": " 01.1 ", "a": " 40"}), deliveries("f1"), ELECTION)
    row = staged.tallies.row(0, named=True)
    assert row["tally_code"] == "01.1"
    assert (row["registered"], row["valid_votes"], row["total_votes"]) == (100, 60, 61)
    assert (row["file_sha256"], row["source_row"], row["source_id"]) == ("f1", 1, "feed")
    assert row["tally_id"] == (1 << 32) | 1
    votes = dict(staged.votes.select("candidate_id", "votes").iter_rows())
    assert votes == {"a": 40, "b": 20}


def test_later_delivery_supersedes_and_remembers_the_previous_total():
    first = raw_rows({"table_code": "01.1"}, {"table_code": "01.2"}, sha="f1")
    second = raw_rows(
        {"table_code": "01.1", "a": "39", "valid_votes": "59", "total_votes": "60"}, sha="f2"
    )
    staged = stage(pl.concat([first, second]), deliveries("f1", "f2"), ELECTION)
    assert staged.tallies.height == 2
    t1 = staged.tallies.filter(tally_code="01.1").row(0, named=True)
    assert (t1["file_sha256"], t1["valid_votes"], t1["previous_total_votes"]) == ("f2", 59, 61)
    assert t1["previous_delivery_seq"] == 1
    assert staged.tallies.filter(tally_code="01.2")["previous_total_votes"].to_list() == [None]
    assert staged.votes.height == 4


def test_identical_copies_collapse_and_conflicting_copies_stay():
    raw = raw_rows({}, {}, {"table_code": "01.2"}, {"table_code": "01.2", "a": "41", "b": "19"})
    tallies = stage(raw, deliveries("f1"), ELECTION).tallies
    assert tallies.filter(tally_code="01.1")[["copies", "source_row"]].rows() == [(2, 1)]
    assert tallies.filter(tally_code="01.2").height == 2


def test_a_snapshot_release_replaces_the_earlier_release_whole():
    v1 = raw_rows({"table_code": "01.1"}, {"table_code": "01.2"}, {"table_code": "01.3"}, sha="v1")
    v2 = raw_rows(
        {"table_code": "01.1", "a": "39", "valid_votes": "59", "total_votes": "60"},
        {"table_code": "01.2"},
        sha="v2",
    )
    both = pl.concat([v2, v1])  # arrival order does not matter: the release number does
    releases = deliveries("v2", "v1", releases=[2, 1], snapshot=True)
    tallies = stage(both, releases, ELECTION).tallies
    assert sorted(tallies["tally_code"]) == ["01.1", "01.2"], "01.3 was withdrawn by release 2"
    assert set(tallies["file_sha256"]) == {"v2"}
    assert tallies.filter(tally_code="01.1")["valid_votes"].item() == 59


def test_drops_accumulate_unit_by_unit_when_not_snapshots():
    first = raw_rows({"table_code": "01.1"}, {"table_code": "01.3"}, sha="d1")
    second = raw_rows({"table_code": "01.1", "a": "39", "valid_votes": "59"}, sha="d2")
    tallies = stage(pl.concat([first, second]), deliveries("d1", "d2"), ELECTION).tallies
    assert sorted(tallies["tally_code"]) == ["01.1", "01.3"]
    assert tallies.filter(tally_code="01.3")["file_sha256"].item() == "d1"


def test_a_code_that_is_no_code_is_evidence_never_a_unit():
    """Without a registry, a formula or a line break in a code column used to become a unit."""
    raw = raw_rows(
        {"table_code": "1"},
        {"table_code": "2", "state_code": '=HYPERLINK("http://x")'},
        {"table_code": "01011\n0091"},
        {"table_code": "4", "state_code": "Ñuñoa 3"},  # any script, inner spaces: a code
        {"table_code": "x" * 65},
    )
    staged = stage(raw, deliveries("f1"), ELECTION)
    unparsable = staged.tallies.sort("source_row")["missing_or_unparsable"].to_list()
    assert unparsable == [
        None,
        "state_code='=HYPERLINK(\"http://x\")' (outside codes.state)",
        "table_code='01011\n0091' (outside codes.table)",
        None,
        f"table_code='{'x' * 65}' (outside codes.table)",
    ]


def test_an_election_may_set_a_levels_code_pattern():
    from dataclasses import replace

    strict = replace(ELECTION, code_patterns=(("table", r"^[0-9]{2}\.[0-9]$"),))
    raw = raw_rows({"table_code": "01.1"}, {"table_code": "1"})
    staged = stage(raw, deliveries("f1"), strict)
    assert staged.tallies.sort("source_row")["missing_or_unparsable"].to_list() == [
        None,
        "table_code='1' (outside codes.table)",  # the key that sets the pattern
    ]


def test_votes_unpivoted_as_written_equal_the_long_votes_row_for_row(tmp_path):
    """The staged votes table DuckDB unpivots from the wide votes is the long frame, in its
    order (candidate by candidate, rows as staged), with the long frame's column types."""
    raw = raw_rows(
        {"table_code": "01.9", "a": "7"},
        {"table_code": "01.2", "b": "x"},
        {"table_code": "01.5"},
        {"table_code": "01.5"},
    )
    staged = stage(raw, deliveries("f1"), ELECTION)
    assert staged.wide_votes is not None and staged.candidates == ("a", "b")
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("create schema staged")
        replace_staged(con, "staged", staged, {})
        written = con.sql("select * from staged.tally_votes").pl()
        columns = con.sql("describe staged.tally_votes").pl()
        replace_tables(con, "staged", {"tally_votes": staged.votes})
        assert columns.equals(con.sql("describe staged.tally_votes").pl())
    assert written.equals(staged.votes)
    assert written["candidate_id"].to_list() == ["a"] * 3 + ["b"] * 3


def test_padded_counts_are_trimmed_then_cast_and_described_trimmed():
    """Counts are cast as delivered and only suspect rows trimmed: a padded count still
    counts, a padded bad one is described as its trimmed text."""
    raw = raw_rows(
        {"table_code": "1"},
        {"table_code": "2", "a": " 40 ", "valid_votes": "\t60"},
        {"table_code": "3", "b": " -3 ", "a": " 4O"},
    )
    tallies = stage(raw, deliveries("f1"), ELECTION).tallies.sort("source_row")
    assert tallies["valid_votes"].to_list() == [60, 60, 60]
    assert tallies["missing_or_unparsable"].to_list() == [None, None, "a='4O'"]
    assert tallies["negative_or_fractional"].to_list() == [None, None, "b='-3'"]
    assert tallies["top_candidate_votes"].to_list() == [40, 40, None]


def test_rows_of_a_file_not_delivered_are_not_staged():
    raw = pl.concat(
        [raw_rows({"table_code": "1"}, sha="f1"), raw_rows({"table_code": "2"}, sha="f2")]
    )
    staged = stage(raw, deliveries("f1"), ELECTION)
    assert staged.tallies["tally_code"].to_list() == ["1"]
    assert staged.votes["tally_id"].to_list() == [(1 << 32) | 1] * 2


def test_joined_beside_keeps_the_frames_rows_and_order_and_refuses_a_key_found_twice():
    frame = pl.DataFrame({"k": [3, 1, 2, 1], "x": ["c", "a", "b", "a2"]})
    table = pl.DataFrame({"k": [1, 3], "y": [10, 30]})
    joined = joined_beside(frame, table, ["k"])
    assert joined.to_dict(as_series=False) == {
        "k": [3, 1, 2, 1],
        "x": ["c", "a", "b", "a2"],
        "y": [30, 10, None, 10],
    }
    with pytest.raises(pl.exceptions.ShapeError):
        joined_beside(frame, pl.DataFrame({"k": [1, 1], "y": [1, 2]}), ["k"])
