"""The cheaper full staging of a general election gives the same rows: the long votes mapped from
ballot positions to candidates by DuckDB as they are written (warehouse/staged_write.py), in the
order the polars mapping gives them."""

from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from landing.files import matching_files
from landing.synthetic_general import write_synthetic_general
from orchestration.cli_commands.common import election_config
from orchestration.settings import Settings
from transforms.contests import stage_general
from transforms.synthetic.general import generate_general
from warehouse.db import connect
from warehouse.raw_files import row_order, scan
from warehouse.raw_load import bind_election, load_feed_files
from warehouse.schema import ensure_schema
from warehouse.staged_write import replace_general_staged
from warehouse.withdrawals import read_deliveries


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("general_staging_speed")  # a warehouse of its own
    landing = root / "landing"
    general = generate_general_with_a_repeat()
    write_synthetic_general(general, landing)
    settings = replace(Settings(root / "data"), election="general")
    config = election_config(settings)
    con = connect(root / "w.duckdb")
    ensure_schema(con)
    bind_election(con, config.election.id)
    loaded = list(
        load_feed_files(con, matching_files(landing, config.contracts), config.election, "run")
    )
    assert all(o.error is None for _, _, o in loaded)
    yield con, config.election
    con.close()


def generate_general_with_a_repeat():
    """Three drops; the last repeats the first's rows with other votes (amendments: every unit
    of the first drop is staged from its later delivery)."""
    general = generate_general(200, contests=3, seed=11, drops=3)
    repeated = general.drops[0].with_columns(pl.col("votes") + 1)
    return replace(general, drops=[*general.drops[:2], pl.concat([general.drops[2], repeated])])


def test_the_votes_written_by_duckdb_are_the_polars_mapping(warehouse):
    con, election = warehouse
    raw = con.sql(  # in delivery order, as the raw step delivered them
        f"select r.* from {scan(con, 'tallies_general')} r order by {row_order('r')}"
    ).pl()
    general = stage_general(raw, read_deliveries(con), election)
    replace_general_staged(con, "staged", general, {})
    written = con.sql("select * from staged.tally_votes").pl()
    assert written.height > 0
    assert_frame_equal(written, general.staged.votes)
    assert_frame_equal(con.sql("select * from staged.tallies").pl(), general.tallies)
