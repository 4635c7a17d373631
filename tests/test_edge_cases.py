"""Inputs at the edges: every row ends up somewhere, and nothing crashes or undercounts."""

import json
import tomllib
from dataclasses import replace

import polars as pl
import pytest

from landing.files import natural_key, read_feed
from orchestration.runner import failure_messages
from tests.conftest import published, run
from tests.test_contracts import CONTRACT_TOML, ELECTION, FEED, contract, observer_election
from transforms.contract import ContractError, apply_contract, parse_contract
from transforms.verification import announced_vs_tallied
from warehouse.db import connect


@pytest.mark.e2e
def test_long_layout_missing_or_conflicting_candidate_rows_are_quarantined(settings, tmp_path):
    lines = FEED.splitlines()
    feed = "\n".join([*lines[:4], *lines[5:], "20-7;Reg. Sur;BETO Q.;3;1;2;0"]) + "\n"
    # 10-1 lost BETO's row; 20-7 has two BETO rows that disagree (2 and 3)
    mini = observer_election(tmp_path, settings, feed)
    assert run(replace(mini, quarantine_threshold=1.0)).success
    with connect(mini.warehouse, read_only=True) as con:
        held = dict(con.sql("select tally_code, observed from quality.quarantine").fetchall())
    assert held == {
        "10.001": "E8: missing_or_unparsable=B=''",
        "20.007": "E8: missing_or_unparsable=B='2|3'",
    }
    totals = published(mini, "select candidate_id, votes from results where level = 'national'")
    assert dict(totals.iter_rows()) == {"A": 5, "B": 10}


@pytest.mark.e2e
def test_long_layout_unknown_candidate_rejects_the_file_naming_it(settings, tmp_path):
    # `BETO  Q` would be BETO Q. spelt another way (tests/test_alias_spellings.py): BETTO is not
    mini = observer_election(tmp_path, settings, FEED.replace("BETO Q.;20", "BETTO Q;20"))
    result = run(mini)
    assert not result.success, "its only file was rejected: nothing to build"
    assert (
        "obs_1.txt: row 2: candidate 'BETTO Q' is neither a candidate id nor one of the "
        "contract's aliases" in "\n".join(failure_messages(result))
    )


def test_long_layout_columns_the_contract_does_not_read_do_not_split_a_tally(tmp_path):
    feed = FEED.replace("Nulls\n", "Nulls;Scan\n").replace(";1\n", ";1;img\n")
    feed = (
        "\n".join(
            line if line.count(";") != 6 or line.startswith("Code") else line + ";x"
            for line in feed.splitlines()
        )
        + "\n"
    )
    path = tmp_path / "obs_1.txt"
    path.write_bytes(feed.encode("latin-1"))
    frame = read_feed(path, contract())
    rows = apply_contract(frame, contract(), ELECTION).tallies
    assert sorted(rows["station_code"]) == ["10.001", "10.002", "20.007"]


JSONL = """
id = "jl"
source = { id = "jl", kind = "official" }
file = { pattern = "*.jsonl", format = "jsonl" }
codes = { station = "station", region = { level = "station", slice = [0, 1] } }
counts = { valid_votes = "valid" }
candidates = { columns = { A = "a", B = "b" } }
"""


def test_jsonl_nulls_are_missing_and_whole_floats_are_whole(tmp_path):
    jl = parse_contract(tomllib.loads(JSONL), ELECTION, "jl")
    path = tmp_path / "f.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"station": "N1", "valid": 5.0, "a": 4, "b": 1},
                {"station": "N2", "valid": None, "a": 1, "b": 0},
                {"station": "N3", "valid": 2, "b": 2},
            ]
        )
        + "\n"
    )
    rows = apply_contract(read_feed(path, jl), jl, ELECTION).tallies.to_dicts()
    assert [(r["valid_votes"], r["A"], r["B"]) for r in rows] == [
        ("5", "4", "1"),
        ("", "1", "0"),
        ("2", "", "2"),
    ]


def test_jsonl_with_nested_values_is_rejected_not_a_crash(tmp_path):
    from landing.files import FileRejected

    jl = parse_contract(tomllib.loads(JSONL), ELECTION, "jl")
    path = tmp_path / "f.jsonl"
    path.write_text('{"station": "N1", "valid": [1, 2], "a": 1, "b": 0}\n')
    with pytest.raises(FileRejected, match="lists or objects"):
        read_feed(path, jl)


def test_misspelt_keys_inside_tables_are_refused():
    with pytest.raises(ContractError, match=r"observers.file: unknown key\(s\) encodng"):
        contract(CONTRACT_TOML.replace('encoding = "latin-1"', 'encodng = "latin-1"'))
    release = CONTRACT_TOML.replace("[file]", "release = { number = 2, snapshott = true }\n[file]")
    with pytest.raises(ContractError, match=r"observers.release: unknown key\(s\) snapshott"):
        contract(release)


@pytest.mark.e2e
def test_rows_without_a_code_never_supersede_each_other(settings, sample):
    for name in ("tallies_001.csv", "tallies_002.csv"):
        path = settings.landing / name
        lines = path.read_text().splitlines()
        cells = lines[1].split(",")
        cells[4] = ""  # table_code
        lines[1] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
    assert run(settings).success
    with connect(settings.warehouse, read_only=True) as con:
        raw = con.sql("select count(*) from raw.tallies_sample").fetchall()[0][0]
        versions = con.sql("select sum(copies) from staged.tally_versions").fetchall()[0][0]
        held = con.sql("select count(*) from quality.quarantine where rule_ids = 'E8'").fetchall()
    assert versions == raw, "every raw row is one version of one unit"
    assert held[0][0] == 2


@pytest.mark.e2e
def test_header_only_feeds_fail_with_a_clear_message(settings):
    elections_contract = (
        "state_code,municipality_code,parish_code,centre_code,table_code,"
        "registered,valid_votes,null_votes,blank_votes,total_votes,"
        + ",".join(f"c{i:02d}" for i in range(1, 11))
    )
    (settings.landing / "tallies_001.csv").write_text(elections_contract + "\n")
    result = run(settings)
    assert not result.success
    assert "hold no tally rows" in "\n".join(failure_messages(result))


@pytest.mark.e2e
def test_a_zero_threshold_passes_a_clean_feed(settings, sample):
    assert run(replace(settings, quarantine_threshold=0.0)).success


def test_announced_shares_need_an_announced_total():
    from tests.test_verification_data import AnnouncedCase

    frame = announced_vs_tallied(*AnnouncedCase.args())
    no_total = frame.filter(bulletin_id="b1")
    assert no_total["announced_share"].to_list() == [None, None]
    assert no_total["bulletin_votes_needed"].to_list() == [20, 20]
    assert no_total["bulletin_possible"].to_list() == [True, True], "20 needed, 30 ballots left"
    with_total = frame.filter(bulletin_id="b2", candidate_id="A").row(0, named=True)
    assert with_total["announced_share"] == pytest.approx(60 / 100)
    assert with_total["bulletin_votes_needed"] == 30
    assert with_total["bulletin_possible"] is False, "B's tallies already exceed its 30"


def test_drops_arrive_in_natural_order():
    names = ["tallies_10.csv", "tallies_9.csv", "tallies_100.csv", "tallies_1.csv"]
    assert sorted(names, key=natural_key) == [
        "tallies_1.csv",
        "tallies_9.csv",
        "tallies_10.csv",
        "tallies_100.csv",
    ]
    assert pl.Series(names).len() == 4


@pytest.mark.parametrize(
    ("data", "cut"),
    [
        (b"a,b,c\n1,2,3\n4,5", True),  # stopped mid-row
        (b"a,b,c\r\n1,2,3\r\n4", True),
        (b"a;b;c\r1;2;3\r4;5", True),  # bare CR line ends (the DC precinct file's)
        (b"a,b,c\n1,2,3\n4,5,6", False),  # no final line break, but whole
        (b"a,b,c\n1,2,3\n4,5\n", False),  # a short row inside the file: its cells are judged
        (b'a,b,c\n1,2,"x,y"', False),
        (b"a,b,c", False),
    ],
)
def test_a_file_is_cut_short_only_when_its_unended_last_row_lacks_fields(data, cut):
    from landing.files import _cut_short

    separator = ";" if b";" in data else ","
    assert (_cut_short(data, separator) is not None) == cut
