"""The report on every real Venezuela 2024 feed at once (../shared/data/ve2024): the source with
the most tallies by default, bulletins by name and judged in words, every chart label whole."""

import re
import shutil
from dataclasses import replace

import pytest

from orchestration.settings import Settings, prepare_data_dir
from reporting.html.announced import verdict
from reporting.html.charts import wrapped
from reporting.html.write import write_report
from tests.conftest import SHARED_VE2024, published, run
from tests.test_report import assert_all_rendered, needs_chromium, needs_ve2024, sections
from warehouse.configs import load_election

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("vega_bundle_once"), needs_ve2024]

FEEDS = (
    "RESULTADOS_2024_CSV_V1.csv",
    "RESULTADOS_2024_CSV_V2.csv",
    "actas_long_headers.csv",
    "qr_decoded_actas.csv",
    "qr_decoded_actas_with_totals.csv",
)


@pytest.fixture(scope="module")
def every_feed(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("ve_every_feed")
    landing = root / "landing_ve"
    landing.mkdir()
    for name in FEEDS:
        shutil.copyfile(SHARED_VE2024 / name, landing / name)  # landing refuses symlinks
    settings = replace(Settings(root / "data"), election="ve2024", landing_dir=landing)
    prepare_data_dir(settings)
    assert run(settings).success
    return settings


@pytest.fixture(scope="module")
def page(every_feed, tmp_path_factory):
    primary = load_election("ve2024").election.primary_source
    out = tmp_path_factory.mktemp("ve_report") / "report.html"
    return write_report(every_feed.published, out, primary=primary)


def test_the_default_source_is_the_one_with_the_most_tallies(every_feed, page):
    counted = published(
        every_feed,
        "select source_id, counted from coverage where level = 'national' order by counted desc",
    ).rows()
    assert counted[0] == ("opposition", 25_073) and counted[1][1] < counted[0][1]
    assert ("opposition_long_headers", 24_532) in counted, "a source with turnout, fewer tallies"
    assert page.source == "opposition"
    text = page.path.read_text(encoding="utf-8")
    assert "25,073 of 30,026" in text
    assert "7,303,480" in text, "V2's count for González, the headline of the source shown"


def test_bulletins_read_by_name_and_each_figure_is_judged_in_words(every_feed, page):
    text = page.path.read_text(encoding="utf-8")
    assert "cne_1" not in text and "cne_2" not in text, "never the raw ids"
    rows = published(
        every_feed,
        "select * from announced_vs_tallied where source_id = 'opposition' order by all",
    )
    assert rows.height == 4
    for row in rows.iter_rows(named=True):
        assert row["bulletin"] in text
        said = verdict(row)
        assert said in text
        if row["tallied_votes"] > row["announced_votes"]:
            assert said.startswith("Cannot be the final total")
        elif row["possible"]:
            assert said.startswith("Could still be reached")
        else:
            assert said.startswith("Cannot be reached")
        assert f"{row['votes_needed']:,}" in said or row["votes_needed"] == 0


@needs_chromium
def test_every_chart_label_is_drawn_in_full(every_feed, page, tmp_path):
    figures = assert_all_rendered(page.path, tmp_path)
    drawn = " ".join(figures.values())
    assert "…" not in drawn, "a label cut short"
    reconciliation = next(f for f in figures.values() if 'data-section="reconciliation"' in f)
    found = re.findall(r"<tspan[^>]*>([^<]*)</tspan>|<text[^>]*>([^<]+)</text>", reconciliation)
    texts = {a or b for a, b in found}
    pairs = published(
        every_feed,
        "select source_a || ' vs ' || source_b from reconciliation_summary "
        "where level = 'national' and 'opposition' in (source_a, source_b)",
    )
    assert pairs.height == 3
    for (pair,) in pairs.rows():
        lines = wrapped(pair).split("\n")
        assert set(lines) <= texts and " ".join(lines) == pair, f"{pair} drawn whole"
    assert {"announced", "reconciliation", "forensics"} <= set(sections(page.path))
    flagged = published(every_feed, "select count(*) from forensics where flagged").item()
    if not flagged:
        assert "Flagged: no unit or tally was flagged by any check." in page.path.read_text()
