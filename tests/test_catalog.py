"""What Dagster's catalog shows: every asset with kinds, an owner and its table; every mart with
its declared columns and descriptions; row counts measured by each run."""

import dagster as dg
import pytest

from orchestration.catalog import ROW_COUNT, column_schema
from orchestration.definitions import build_definitions
from orchestration.settings import Settings, load_settings
from tests.conftest import published
from warehouse.mart_registry import MARTS_BY_NAME, describe


def _graph(settings: Settings):
    return build_definitions(settings).resolve_asset_graph()


def test_every_asset_has_kinds_an_owner_and_a_table(tmp_path):
    graph = _graph(Settings(tmp_path, owner="team:results-desk"))
    keys = graph.get_all_asset_keys()
    assert len(keys) >= 15
    for key in keys:
        node = graph.get(key)
        assert node.owners == ["team:results-desk"], key
        assert "duckdb" in node.kinds, key
        if key.path[0] != "published":
            assert node.metadata["dagster/table_name"].endswith("." + key.path[-1]), key
    assert "great_expectations" in graph.get(dg.AssetKey(["quality", "quarantine"])).kinds
    assert "polars" in graph.get(dg.AssetKey(["marts", "results"])).kinds


def test_every_mart_shows_its_declared_columns_with_descriptions(tmp_path):
    graph = _graph(Settings(tmp_path))
    marts = [k for k in graph.get_all_asset_keys() if k.path[0] == "marts"]
    assert {k.path[-1] for k in marts} <= set(MARTS_BY_NAME)
    for key in marts:
        schema = graph.get(key).metadata["dagster/column_schema"]
        declared = MARTS_BY_NAME[key.path[-1]].columns
        assert [c.name for c in schema.columns] == [
            getattr(item, "name", None) or item.shown_as for item in declared
        ], key
        assert all(c.description for c in schema.columns), key
    turnout = column_schema("turnout")
    registered = next(c for c in turnout.columns if c.name == "registered")
    assert registered.description == describe("turnout", "registered")


@pytest.mark.parametrize("owner", ["nobody", "team:", "team:a b", "x@", "a@b\nc"])
def test_a_bad_owner_is_refused_in_one_line(owner):
    with pytest.raises(ValueError, match="TALLYHOUSE_OWNER must be team:<name>"):
        load_settings("/tmp/x", env={"TALLYHOUSE_OWNER": owner})
    assert load_settings("/tmp/x", env={"TALLYHOUSE_OWNER": "ana@example.org"}).owner == (
        "ana@example.org"
    )


@pytest.mark.e2e
def test_a_run_records_each_tables_row_count(ran_sample):
    missing = [key for key, meta in ran_sample.materialized.items() if ROW_COUNT not in meta]
    assert missing == [("published", "marts")]  # a file of tables, not one table
    counts = {
        key: meta[ROW_COUNT].value
        for key, meta in ran_sample.materialized.items()
        if key not in missing
    }
    for name in ("results", "turnout", "coverage", "quality_summary", "contest_status"):
        rows = published(ran_sample.settings, f"select count(*) from {name}").item()
        assert counts[("marts", name)] == rows > 0, name
    assert counts[("raw", "deliveries")] >= 1
    assert counts[("staged", "tallies")] == ran_sample.sample.registry.height
    assert counts[("quality", "quarantine")] == 0
    assert ("marts", "forensics") in counts and ("marts", "projection") in counts
