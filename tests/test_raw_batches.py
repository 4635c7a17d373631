"""Feed files are inserted into raw in batches of one transaction (warehouse.raw_load
.load_feed_files): the raw rows, deliveries and outcomes do not depend on the batch size, a
second file with the same bytes in the same batch is skipped, and a file that cannot be read is
rejected alone."""

import shutil
from dataclasses import replace

import pytest

from landing.files import matching_files
from landing.synthetic_general import write_synthetic_general
from orchestration.cli_commands.common import election_config
from orchestration.settings import Settings
from transforms.synthetic.general import generate_general
from warehouse.db import connect
from warehouse.raw_load import REJECTED, SKIPPED, bind_election, load_feed_files
from warehouse.schema import ensure_schema


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    write_synthetic_general(generate_general(300, contests=3, seed=5, drops=4), landing)
    first = sorted(landing.glob("general_*.csv"))[0]
    shutil.copy(first, landing / "general_900.csv")  # the same bytes again
    (landing / "general_901.csv").write_bytes(b"\xff\xfe not a feed")  # unreadable
    settings = replace(Settings(landing.parent / "data"), election="general")
    config = election_config(settings)
    return config, matching_files(landing, config.contracts)


def _load(tmp_path, config, files, batch_rows):
    con = connect(tmp_path / f"w{batch_rows}.duckdb")
    ensure_schema(con)
    bind_election(con, config.election.id)
    loaded = list(load_feed_files(con, files, config.election, "run", batch_rows=batch_rows))
    outcomes = [(p.name, o.status, o.rows, o.read) for p, _, o in loaded]
    raw = con.sql("select * exclude (file_sha256) from raw.tallies_general order by all").fetchall()
    deliveries = con.sql(
        "select delivery_seq, file_name, row_count, rows_read from raw.deliveries order by 1"
    ).fetchall()
    con.close()
    return outcomes, raw, deliveries


def test_the_batch_size_changes_nothing(tmp_path, landed):
    config, files = landed
    one_each = _load(tmp_path, config, files, batch_rows=1)
    all_in_one = _load(tmp_path, config, files, batch_rows=10**9)
    assert one_each == all_in_one
    outcomes, raw, deliveries = all_in_one
    status = {name: s for name, s, _, _ in outcomes}
    assert status["general_900.csv"] == SKIPPED
    assert status["general_901.csv"] == REJECTED
    assert [name for _, name, _, _ in deliveries] == [
        n for n, s, _, _ in outcomes if s not in (SKIPPED, REJECTED)
    ]
    assert len(raw) == sum(rows for _, s, rows, _ in outcomes if s not in (SKIPPED, REJECTED))
    assert len(raw) > 1000


def test_a_rejected_file_is_not_read_again_until_its_bytes_change(tmp_path, landed, monkeypatch):
    from warehouse import raw_load

    config, files = landed
    bad = [(p, c) for p, c in files if p.name == "general_901.csv"]
    con = connect(tmp_path / "w.duckdb")
    ensure_schema(con)
    bind_election(con, config.election.id)
    [(_, _, first)] = load_feed_files(con, bad, config.election, "run-1")
    assert first.status == REJECTED

    def never(*_args):
        raise AssertionError("a rejected file with the same bytes was read again")

    with monkeypatch.context() as patched:
        patched.setattr(raw_load, "_read_and_map", never)
        [(_, _, again)] = load_feed_files(con, bad, config.election, "run-2")
    assert (again.status, again.error) == (REJECTED, first.error)
    [(_, _, full)] = load_feed_files(con, bad, config.election, "run-3", rehash=True)
    assert full.status == REJECTED, "a full run reads it again (a corrected contract may take it)"
    path = bad[0][0]
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\nmore")
        read = []
        with monkeypatch.context() as patched:
            real = raw_load._read_and_map
            patched.setattr(raw_load, "_read_and_map", lambda *a: read.append(1) or real(*a))
            [(_, _, changed)] = load_feed_files(con, bad, config.election, "run-4")
        assert read == [1], "new bytes are read"
        assert changed.status == REJECTED
    finally:
        path.write_bytes(original)
    con.close()
