"""A data directory whose path holds a comma is refused, with one line naming it, before anything
is written there: DuckDB finds the raw layer's files through its file_search_path, a
comma-separated list of folders that cannot quote one (warehouse.folders)."""

import pytest

from orchestration.settings import Settings
from warehouse.db import connect


def test_settings_refuse_a_data_directory_with_a_comma(tmp_path):
    with pytest.raises(ValueError, match=r"cannot hold a comma \(.*a,b\)"):
        Settings(tmp_path / "a,b")
    Settings(tmp_path / "a b")  # any other character is the folder's own business


def test_a_warehouse_in_a_folder_with_a_comma_is_refused_before_it_is_made(tmp_path):
    folder = tmp_path / "x,y"
    folder.mkdir()
    with pytest.raises(ValueError, match="cannot hold a comma"):
        connect(folder / "warehouse.duckdb")
    assert not any(folder.iterdir())


def test_the_command_says_so_in_one_line(tallyhouse, tmp_path):
    done = tallyhouse("run", "--data-dir", str(tmp_path / "night,1"))
    assert done.returncode == 2
    said = done.stderr.strip().splitlines()
    assert len(said) == 1 and "cannot hold a comma" in said[0], done.stderr
    assert not (tmp_path / "night,1").exists()
