import polars as pl

from transforms.model import Candidate, Election, Source
from transforms.staging import field_problems, stage

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
        pl.lit(sha).alias("file_sha256"), pl.int_range(1, frame.height + 1).alias("source_row")
    )


def deliveries(*shas: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file_sha256": list(shas),
            "source_id": ["feed"] * len(shas),
            "delivery_seq": list(range(1, len(shas) + 1)),
            "loaded_at": [None] * len(shas),
        }
    )


def test_field_problems_name_row_and_field():
    raw = raw_rows(
        {},
        {"a": "4O"},
        {"b": "-3"},
        {"valid_votes": ""},
        {"blank_votes": ""},
        {"table_code": " "},
        {"null_votes": "1.5"},
    )
    found = {(p.source_row, p.field) for p in field_problems(raw, ELECTION)}
    assert found == {(2, "a"), (3, "b"), (4, "valid_votes"), (6, "table_code"), (7, "null_votes")}
    message = field_problems(raw, ELECTION)[0].describe()
    assert message == "row 2, field 'a': '4O' is not a whole number"


def test_stage_casts_counts_and_keeps_provenance():
    staged = stage(raw_rows({"table_code": " 01.1 ", "a": " 40"}), deliveries("f1"), ELECTION)
    row = staged.tallies.row(0, named=True)
    assert row["tally_code"] == "01.1"
    assert (row["registered"], row["valid_votes"], row["total_votes"]) == (100, 60, 61)
    assert (row["file_sha256"], row["source_row"], row["source_id"]) == ("f1", 1, "feed")
    votes = dict(staged.votes.select("candidate_id", "votes").iter_rows())
    assert votes == {"a": 40, "b": 20}


def test_later_delivery_supersedes_and_copies_collapse():
    first = raw_rows({"table_code": "01.1"}, {"table_code": "01.2"}, sha="f1")
    second = raw_rows({"table_code": "01.1", "a": "41", "valid_votes": "61"}, sha="f2")
    staged = stage(pl.concat([first, second]), deliveries("f1", "f2"), ELECTION)
    assert staged.tallies.height == 2
    t1 = staged.tallies.filter(tally_code="01.1").row(0, named=True)
    assert (t1["file_sha256"], t1["valid_votes"]) == ("f2", 61)
    assert staged.votes.height == 4
