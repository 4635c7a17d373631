"""What Dagster's catalog shows of each asset, said in one place: its kinds (the engines that
make it), its owner (TALLYHOUSE_OWNER), its table (`dagster/table_name`) and, for every mart,
its columns with their types and descriptions (`dagster/column_schema`) from the mart registry.
Row counts (`dagster/row_count`) are measured when a step materializes (`row_count_metadata`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg

from orchestration.assets.keys import MARTS, PUBLISHED, QUALITY, RAW, STAGED
from transforms.model import Election
from warehouse.mart_registry import MARTS_BY_NAME, Column

ROW_COUNT = "dagster/row_count"
WAREHOUSE_DB = "warehouse"  # the working file's catalog name in DuckDB (warehouse.duckdb)
PUBLISHED_DB = "marts"  # the published file's (marts.duckdb)

# The engines behind each layer, as Dagster's kind tags name them.
KINDS = {
    RAW: {"duckdb"},
    STAGED: {"polars", "duckdb"},
    QUALITY: {"great_expectations", "polars", "duckdb"},
    MARTS: {"polars", "duckdb"},
    PUBLISHED: {"duckdb"},
}


def table_name(key: dg.AssetKey) -> str | None:
    """The DuckDB table behind an asset: warehouse.<schema>.<table> for the working layers,
    marts.main.<mart> for a published mart; None for the published file itself."""
    layer, name = key.path[0], key.path[-1]
    if layer == MARTS:
        return f"{PUBLISHED_DB}.main.{name}"
    if layer == PUBLISHED:
        return None
    return f"{WAREHOUSE_DB}.{layer}.{name}"


def column_schema(mart_name: str, election: Election | None = None) -> dg.TableSchema | None:
    """A mart's declared columns with types and descriptions; an election-shaped family (one
    column per candidate) is one entry named by its pattern unless an election is given."""
    mart = MARTS_BY_NAME.get(mart_name)
    if mart is None:
        return None
    columns = []
    for item in mart.columns:
        if isinstance(item, Column):
            columns.append(dg.TableColumn(item.name, item.type, item.description))
        elif election is not None:
            columns += [
                dg.TableColumn(name, item.type, mart.describe(name))
                for name in item.names(election)
            ]
        else:  # Family, without an election: one entry as the data dictionary names it
            columns.append(dg.TableColumn(item.shown_as, item.type, item.summary))
    return dg.TableSchema(columns=columns)


def _catalogued(spec: dg.AssetSpec, owner: str) -> dg.AssetSpec:
    layer = spec.key.path[0]
    table = table_name(spec.key)
    metadata: dict = {"dagster/table_name": table} if table else {}
    schema = column_schema(spec.key.path[-1]) if layer == MARTS else None
    if schema is not None:
        metadata["dagster/column_schema"] = schema
    return spec.merge_attributes(
        kinds=KINDS.get(layer, set()), metadata=metadata
    ).replace_attributes(owners=[owner])


def catalogued(assets: Iterable[dg.AssetsDefinition], owner: str) -> list[dg.AssetsDefinition]:
    """The assets with their kinds, owner, table names and column schemas."""
    return dg.map_asset_specs(lambda spec: _catalogued(spec, owner), list(assets))


def row_count_metadata(count: int, extra: Mapping | None = None) -> dict:
    """A materialization's metadata with the table's rows under the key Dagster shows."""
    return {ROW_COUNT: int(count), **(extra or {})}
