"""Feed files are read and mapped by a worker thread a few files ahead of the inserts
(warehouse.raw_load.READ_AHEAD): the raw rows, deliveries, rejections and outcomes are the ones
reading the files one after the other gives, a second file with the bytes of one still being
read or inserted included (skipped, or rejected as its twin was)."""

import shutil
from dataclasses import replace

import pytest

from landing.files import matching_files
from landing.synthetic_general import write_synthetic_general
from orchestration.cli_commands.common import election_config
from orchestration.settings import Settings
from transforms.synthetic.general import generate_general
from warehouse import raw_load
from warehouse.db import connect
from warehouse.raw_load import REJECTED, SKIPPED, bind_election, load_feed_files
from warehouse.schema import ensure_schema


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    write_synthetic_general(generate_general(300, contests=3, seed=7, drops=6), landing)
    first = sorted(landing.glob("general_*.csv"))[0]
    shutil.copy(first, landing / "general_002a.csv")  # the first's bytes, while it is in flight
    (landing / "general_003a.csv").write_bytes(b"\xff\xfe not a feed")  # unreadable
    shutil.copy(landing / "general_003a.csv", landing / "general_003b.csv")  # and its twin
    settings = replace(Settings(landing.parent / "data"), election="general")
    config = election_config(settings)
    return config, matching_files(landing, config.contracts)


def _load(tmp_path, config, files, ahead, batch_rows, monkeypatch, rehash=False):
    monkeypatch.setattr(raw_load, "READ_AHEAD", ahead)
    con = connect(tmp_path / f"w{ahead}_{batch_rows}_{rehash}.duckdb")
    ensure_schema(con)
    bind_election(con, config.election.id)
    loaded = list(load_feed_files(con, files, config.election, "run", rehash, batch_rows))
    outcomes = [(p.name, o.status, o.rows, o.read, o.error) for p, _, o in loaded]
    raw = con.sql("select * from raw.tallies_general order by all").fetchall()
    deliveries = con.sql(
        "select delivery_seq, file_name, file_sha256, row_count from raw.deliveries order by 1"
    ).fetchall()
    rejected = con.sql("select file_sha256, file_name, error from raw.rejected_files").fetchall()
    con.close()
    return outcomes, raw, deliveries, sorted(rejected)


@pytest.mark.parametrize("batch_rows", [1, 10**9])
@pytest.mark.parametrize("rehash", [False, True])
def test_reading_ahead_gives_what_reading_in_turn_gives(
    tmp_path, landed, monkeypatch, batch_rows, rehash
):
    config, files = landed
    in_turn = _load(tmp_path, config, files, 0, batch_rows, monkeypatch, rehash)
    for ahead in (1, 4, 100):
        got = _load(tmp_path, config, files, ahead, batch_rows, monkeypatch, rehash)
        assert got == in_turn, ahead
    outcomes, raw, deliveries, rejected = in_turn
    status = {name: s for name, s, *_ in outcomes}
    assert status["general_002a.csv"] == SKIPPED
    assert status["general_003a.csv"] == status["general_003b.csv"] == REJECTED
    assert len(rejected) == 1 and len(deliveries) == 6 and len(raw) > 1000


def test_a_failing_read_rejects_its_file_alone(tmp_path, landed, monkeypatch):
    config, files = landed
    real = raw_load._read_and_map
    broken = "general_004.csv"  # neither a twin nor unreadable

    def read(path, contract, election, sha):
        if path.name == broken:
            raise ValueError("a cell no type holds")
        return real(path, contract, election, sha)

    monkeypatch.setattr(raw_load, "_read_and_map", read)
    outcomes, _, deliveries, rejected = _load(tmp_path, config, files, 4, 10**9, monkeypatch)
    status = {name: s for name, s, *_ in outcomes}
    assert status[broken] == REJECTED
    assert broken in {name for _, name, _ in rejected}
    assert broken not in {name for _, name, _, _ in deliveries} and len(deliveries) == 5
