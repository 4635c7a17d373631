"""The raw load's cheaper paths keep what the raw layer holds: blank rows are found by testing
every cell only where the first one is empty (transforms.contract.filled_rows), and raw rows
reach DuckDB as polars' string views (warehouse.raw_load._insert_frame), which must keep empty
text apart from null, long text and any script as delivered."""

from dataclasses import replace

import polars as pl
import pytest

from landing.files import matching_files
from orchestration.cli_commands.common import election_config
from orchestration.settings import Settings
from transforms.contract import filled_rows
from warehouse.db import connect
from warehouse.raw_load import LOADED, bind_election, load_feed_files
from warehouse.schema import ensure_schema

HEADER = (
    "state_code,municipality_code,parish_code,centre_code,table_code,registered,office,"
    "district,party,candidate,votes"
)
UNIT = "14,1417,141702,141702026,141702026.01"


def test_only_rows_whose_every_cell_is_empty_or_spaces_are_blank():
    frame = pl.DataFrame(
        {
            "a": ["1", "", None, " ", "x", "\t"],
            "b": ["2", "3", None, "  ", None, " "],
            "source_row": [1, 2, 3, 4, 5, 6],
        }
    )
    assert filled_rows(frame)["source_row"].to_list() == [1, 2, 5]
    assert filled_rows(frame.head(1)).equals(frame.head(1))
    assert filled_rows(frame.head(0)).height == 0


def test_a_frame_without_blank_rows_is_left_as_it_is():
    frame = pl.DataFrame({"a": ["1", "2"], "b": ["", None], "source_row": [1, 2]})
    assert filled_rows(frame).equals(frame)


@pytest.fixture
def general(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    settings = replace(Settings(tmp_path / "data"), election="general")
    return landing, election_config(settings)


def test_raw_rows_keep_empty_text_null_long_text_and_any_script(tmp_path, general):
    landing, config = general
    long_name = "Ñandú Ōtsuka-Льво́вич 李小龍 " * 6  # past any inline string view
    rows = [
        f"{UNIT},767,PRESIDENT,,SOC,{long_name.strip()},159",
        f"{UNIT},767,PRESIDENT,,VRD,Tomás Quintero,",  # an empty votes cell: missing, not null
        "",  # a blank line
        ",1417,141702,141702026,141702026.01,767,PRESIDENT,,IND,Lidia Marcano,3",
        " , , ,,,,,,,,",  # spaces only
        f"{UNIT},767,PRESIDENT,,,OVER VOTES,2",
    ]
    (landing / "general_001.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    con = connect(tmp_path / "w.duckdb")
    ensure_schema(con)
    bind_election(con, config.election.id)
    files = matching_files(landing, config.contracts)
    [(_, _, outcome)] = load_feed_files(con, files, config.election, "run")
    assert (outcome.status, outcome.rows, outcome.blank, outcome.read) == (LOADED, 4, 2, 6)
    raw = con.sql(
        "select source_row, state_code, candidate, count_field, votes, state_name "
        "from raw.tallies_general order by source_row"
    ).fetchall()
    con.close()
    assert raw == [
        (1, "14", long_name.strip(), None, "159", None),
        (2, "14", "Tomás Quintero", None, "", None),
        (4, "", "Lidia Marcano", None, "3", None),
        (6, "14", "OVER VOTES", "null_votes", "2", None),
    ]
