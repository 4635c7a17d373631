"""`tallyhouse report`: the page is self-contained, every chart renders in headless Chromium, and
the numbers it shows are the published marts'."""

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest

from landing.files import write_synthetic
from orchestration.cli import main
from orchestration.settings import Settings, prepare_data_dir
from reporting.html.data import ReportError, read_report_data
from reporting.html.write import write_report
from tests.conftest import SHARED_VE2024, run
from transforms.synthetic.election import generate
from transforms.synthetic.faults import inject_faults
from warehouse.db import connect

pytestmark = [
    pytest.mark.e2e,  # every test here runs the job or the CLI
    pytest.mark.usefixtures("vega_bundle_once"),
]

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless Chromium is not at /usr/bin/chromium (apt-get install chromium; "
    ".ci/run installs it)",
)
needs_ve2024 = pytest.mark.skipif(
    not (SHARED_VE2024 / "RESULTADOS_2024_CSV_V1.csv").is_file(),
    reason=f"the real Venezuela 2024 feeds are not at {SHARED_VE2024} (a fresh clone has no "
    "../shared): this test needs them",
)
FIGURE = re.compile(r'<figure class="chart-figure">(.*?)</figure>', re.S)
MARK_GROUP = re.compile(
    r'<g class="mark-(?:rect|symbol|rule)[^"]*role-mark[^"]*"[^>]*>(.*?)</g>', re.S
)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Settings:
    """One small election, 1 % of tallies flagged W1 (kept, so the quality chart has bars)."""
    settings = Settings(tmp_path_factory.mktemp("report") / "data")
    prepare_data_dir(settings)
    election = inject_faults(generate(1_500, seed=11, drops=2), {"W1": 0.01}, seed=3)
    write_synthetic(election, settings.landing)
    assert run(settings).success
    return settings


def render(page: Path, tmp_path: Path) -> str:
    """The DOM after the page's scripts ran in headless Chromium, with no network."""
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def charts_in(dom: str) -> dict[str, str]:
    figures = {}
    for figure in FIGURE.findall(dom):
        chart_id = re.search(r'id="(chart-\d+)"', figure).group(1)
        figures[chart_id] = figure
    return figures


def marks(figure: str) -> int:
    """Drawn marks (bars, cells, points, rules) in a rendered chart's SVG."""
    return sum(len(re.findall(r"<(?:path|line)\b", group)) for group in MARK_GROUP.findall(figure))


def assert_all_rendered(page: Path, tmp_path: Path) -> dict[str, str]:
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", html), "every script is inline"
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # the page, not the JS
    assert not re.search(r"\b(?:src|href)\s*=\s*[\"']?https?:", markup), "nothing fetched"
    assert not re.search(r"url\(\s*[\"']?https?:", markup), "no external CSS resources"
    assert "<link" not in markup, "styles are inline"
    containers = re.findall(r'<div class="chart" id="(chart-\d+)"', html)
    assert containers, "the page has charts"
    dom = render(page, tmp_path)
    errors = re.search(r'<div id="report-errors" data-count="(\d+)"[^>]*>(.*?)</div>', dom, re.S)
    assert errors is not None, "the error hook's element is in the rendered page"
    assert errors.group(1) == "0", f"script errors: {errors.group(2)}"
    assert f'data-charts-done="{len(containers)}"' in dom, "every embed settled"
    figures = charts_in(dom)
    assert sorted(figures) == sorted(containers)
    for chart_id, figure in figures.items():
        assert "<svg" in figure, f"{chart_id} has no SVG"
        assert marks(figure) > 0, f"{chart_id} drew no marks"
    return figures


def sections(page: Path) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', page.read_text(encoding="utf-8"))


@needs_chromium
def test_every_chart_renders_offline_with_the_published_numbers(sample_run, tmp_path):
    page = tmp_path / "report.html"
    written = write_report(sample_run.published, page)
    figures = assert_all_rendered(page, tmp_path)
    assert written.charts == len(figures)
    assert written.bytes < 3_000_000, "binned, never one point per tally"
    assert sections(page) == [
        "national",
        "by-state",
        "coverage-turnout",
        "fingerprint",
        "turnout-distribution",
        "quality",
        "forensics",
    ]
    with connect(sample_run.published, read_only=True) as con:
        national = con.execute(
            "select candidate_name, votes from results where level = 'national' order by rank"
        ).fetchall()
        flagged = con.execute(
            "select flagged from quality_summary where level = 'national'"
        ).fetchone()[0]
    text = page.read_text(encoding="utf-8")
    for name, votes in national:
        assert f'{name}</td><td class="num">{votes:,}</td>' in text
    national_chart = figures["chart-1"]
    assert marks(national_chart) >= len(national), "a bar per candidate"
    assert flagged > 0 and f"{flagged:,} flagged" in text


def test_binned_rows_account_for_every_counted_tally(sample_run):
    data = read_report_data(sample_run.published)
    counted = data.national_coverage["counted"][0]
    assert data.tally_level == "table" and data.top_level == "state"
    assert data.turnout_distribution["tallies"].sum() == counted
    per_candidate = data.fingerprint.group_by("candidate_id").agg(pl.col("tallies").sum())
    assert per_candidate.height == 2
    assert per_candidate["tallies"].to_list() == [counted, counted]
    assert data.fingerprint.height <= 2 * 50 * 50
    leaders = data.national.sort("rank")["candidate_id"].head(2).to_list()
    assert sorted(per_candidate["candidate_id"]) == sorted(leaders)
    assert data.projection is not None and data.forensics is not None, "published by the run"


PROJECTION = """create or replace table projection as select * from (values
  ('sample', 'C01', 'Ana', 100::bigint, 180.0, 170.0, 190.0, 0.6, 0.57, 0.63, 100::bigint,
   260::bigint, 50::bigint, 90::bigint, 'registered', 'ratio estimate'),
  ('sample', 'C02', 'Ben', 60::bigint, 120.0, 110.0, 130.0, 0.4, 0.37, 0.43, 60::bigint,
   220::bigint, 50::bigint, 90::bigint, 'registered', 'ratio estimate'),
  ('other', 'C01', 'Ana', 1::bigint, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1::bigint, 1::bigint,
   1::bigint, 1::bigint, 'registered', 'x'))
  t(source_id, candidate_id, candidate_name, counted_votes, projected_votes, lower_95, upper_95,
    projected_share, share_lower_95, share_upper_95, worst_case_min, worst_case_max,
    tallies_counted, tallies_expected, weighting, method)"""
FORENSICS = """create or replace table forensics as select * from (values
  ('sample', 'F1', 'last-digit uniformity', 'state', '01', 'Estado Uno', 'C01', 400::bigint,
   31.2, 0.0003, true, 'last digits far from uniform (chi2 31.2, p 0.0003)'),
  ('sample', 'F2', 'table far outside its centre', 'table', '010101001.01', 'Mesa 1', null,
   1::bigint, 5.1, null, false, 'within its centre'),
  ('sample', 'F3', 'turnout x vote-share fingerprint', 'national', 'national', 'Nation', 'C01',
   1500::bigint, 0.01, 0.4, false, 'no smear towards 100 %'))
  t(source_id, check_id, check_name, level, unit_code, unit_name, candidate_id, n, statistic,
    p_value, flagged, detail)"""


@needs_chromium
def test_projection_and_forensics_render_from_the_published_file_alone(sample_run, tmp_path):
    copy = tmp_path / "elsewhere" / "marts.duckdb"
    copy.parent.mkdir()
    shutil.copy(sample_run.published, copy)  # no warehouse beside it: the report needs none
    with duckdb.connect(str(copy)) as con:
        con.execute(PROJECTION)
        con.execute(FORENSICS)
    page = tmp_path / "with-extras.html"
    write_report(copy, page, source="sample")
    figures = assert_all_rendered(page, tmp_path)
    found = sections(page)
    assert "projection" in found and "forensics" in found
    text = page.read_text(encoding="utf-8")
    assert "last digits far from uniform (chi2 31.2, p 0.0003)" in text
    assert "within its centre" not in text, "only flagged rows are listed"
    assert "1 of 3 units or tallies examined were flagged" in text
    assert '<td class="num">57.00 %</td>' in text, "the projection's interval, in the table"
    by_section = {re.search(r'data-section="([^"]+)"', f).group(1): f for f in figures.values()}
    assert marks(by_section["projection"]) >= 4, "a point and an interval per candidate"


def test_an_unknown_source_or_a_missing_file_is_a_clear_error(sample_run, tmp_path, capsys):
    with pytest.raises(ReportError, match="no source 'nosuch'.*it holds: sample"):
        read_report_data(sample_run.published, "nosuch")
    assert main(["report", "--data-dir", str(tmp_path / "empty")]) == 1
    assert "no published marts" in capsys.readouterr().err


@needs_chromium
@needs_ve2024
def test_the_venezuela_2024_report_renders(settings, tmp_path):
    landing = tmp_path / "landing_ve"
    landing.mkdir()
    for name in ("RESULTADOS_2024_CSV_V1.csv", "qr_decoded_actas.csv"):
        shutil.copyfile(SHARED_VE2024 / name, landing / name)  # landing refuses symlinks
    ve = replace(settings, election="ve2024", landing_dir=landing)
    assert run(ve).success
    page = tmp_path / "ve2024.html"
    written = write_report(ve.published, page)
    assert written.source == "opposition", "the source with the most tallies counted"
    assert_all_rendered(page, tmp_path)
    found = sections(page)
    for section in ("fingerprint", "turnout-distribution", "reconciliation", "announced"):
        assert section in found
    text = page.read_text(encoding="utf-8")
    assert "7,156,462" in text and "Edmundo González" in text
    assert "24,532 of 30,026" in text
