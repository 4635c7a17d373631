"""Every published mart has exactly the columns and types its registry declaration gives it,
with one source (reconciliation empty) and with two (reconciliation filled), and no built mart
needed a cast to get there."""

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from landing.files import write_synthetic
from orchestration.mart_builds import BUILDS
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import published, run
from transforms.synthetic.election import generate
from warehouse.mart_registry import MARTS_BY_NAME, Column, Step, Update, built_by, updated_by

REPO = Path(__file__).resolve().parents[1]


def with_a_second_source(root: Path) -> Path:
    """The sample election's configurations, plus a second feed `second` (second_*.csv)."""
    elections = root / "elections"
    shutil.copytree(REPO / "elections" / "sample", elections / "sample")
    contracts = elections / "sample" / "contracts"
    text = (contracts / "sample.toml").read_text(encoding="utf-8")
    text = text.replace(
        'id = "sample"\nsource = { id = "sample"', 'id = "second"\nsource = { id = "second"'
    )
    text = text.replace('pattern = "tallies_*.csv"', 'pattern = "second_*.csv"')
    (contracts / "second.toml").write_text(text, encoding="utf-8")
    return elections


def second_feed(feed: pl.DataFrame) -> pl.DataFrame:
    """The same tallies but the last ten, with three votes moved from c01 to c02 in some."""
    moved = (pl.int_range(pl.len()) % 17 == 0) & (pl.col("c01") >= 3)
    return feed.head(feed.height - 10).with_columns(
        pl.when(moved).then(pl.col("c01") - 3).otherwise(pl.col("c01")).alias("c01"),
        pl.when(moved).then(pl.col("c02") + 3).otherwise(pl.col("c02")).alias("c02"),
    )


class Casts(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module", params=[1, 2], ids=["one_source", "two_sources"])
def election_run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"sources{request.param}")
    settings = Settings(root / "data")
    if request.param == 2:
        settings = replace(settings, elections_dir=with_a_second_source(root))
    prepare_data_dir(settings)
    sample = generate(300, seed=5, drops=2)
    write_synthetic(sample, settings.landing)
    if request.param == 2:
        second_feed(pl.concat(sample.drops)).write_csv(settings.landing / "second_001.csv")
    casts, logger = Casts(), logging.getLogger("warehouse.publish")
    # import-linter's CLI (tests/test_layering.py) disables the loggers that exist when it runs
    disabled, logger.disabled = logger.disabled, False
    logger.addHandler(casts)
    try:
        assert run(settings).success
    finally:
        logger.removeHandler(casts)
        logger.disabled = disabled
    return settings, sample.election, request.param, casts.messages


def published_schemas(settings: Settings) -> dict[str, dict[str, str]]:
    columns = published(
        settings,
        "select table_name, column_name, data_type from duckdb_columns() "
        "where not internal and schema_name = 'main' order by table_name, column_index",
    )
    found: dict[str, dict[str, str]] = {}
    for table, column, type_ in columns.iter_rows():
        found.setdefault(table, {})[column] = type_
    return found


@pytest.mark.e2e
def test_every_declared_mart_is_published_with_its_declared_columns_and_types(election_run):
    settings, election, _, casts = election_run
    schemas = published_schemas(settings)
    assert sorted(schemas) == sorted(MARTS_BY_NAME)
    for table, schema in schemas.items():
        assert list(schema.items()) == list(MARTS_BY_NAME[table].schema(election).items()), table
    assert casts == [], "a built mart's types differ from its declaration"


@pytest.mark.e2e
def test_reconciliation_is_filled_only_with_two_sources(election_run):
    settings, _, sources, _ = election_run
    statuses = published(
        settings, "select status, count(*) n from reconciliation group by 1 order by 1"
    )
    if sources == 1:
        assert statuses.is_empty()
        assert published(settings, "select count(*) from reconciliation_summary").item() == 0
        return
    assert dict(statuses.iter_rows()) == {"agree": 272, "differ": 18, "only_in_a": 10}
    national = published(
        settings, "select * from reconciliation_summary where level = 'national'"
    ).row(0, named=True)
    assert (national["agree"], national["differ"], national["only_in_a"]) == (272, 18, 10)


def test_every_mart_of_the_marts_step_has_one_build_function():
    assert ["results", *BUILDS] == [m.name for m in built_by(Step.MARTS)]


def test_rows_swapped_by_an_update_are_named_by_declared_columns():
    for mart in updated_by(Update.BY_ROWS):
        columns = {c.name for c in mart.columns if isinstance(c, Column)}
        assert mart.keys and set(mart.keys) <= columns
