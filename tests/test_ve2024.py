"""The real Venezuela 2024 feeds, through the shipped contracts (../shared/data/ve2024), and the
report on every one of them at once: the source with the most tallies by default, bulletins by
name and judged in words, every chart label whole.

A run of these feeds costs seconds: the tests that read what every feed landed together gives
share one run of the module (each source's rows are its own files' alone); V1 alone and a
renamed column have runs of their own."""

import re
import shutil
from dataclasses import replace

import pytest

from orchestration.runner import rejected_files
from orchestration.settings import Settings, prepare_data_dir
from reporting.html.announced import verdict
from reporting.html.charts import wrapped
from reporting.html.write import write_report
from tests.conftest import SHARED_VE2024, published, run
from tests.test_report import assert_all_rendered, needs_chromium, sections
from warehouse.configs import load_election

pytestmark = [
    pytest.mark.e2e,  # every test here runs the job
    pytest.mark.skipif(
        not (SHARED_VE2024 / "RESULTADOS_2024_CSV_V1.csv").is_file(),
        reason=f"the real Venezuela 2024 feeds are not at {SHARED_VE2024} (a fresh clone has no "
        "../shared): these tests need them",
    ),
]
V1 = "RESULTADOS_2024_CSV_V1.csv"
V2 = "RESULTADOS_2024_CSV_V2.csv"
LONG = "actas_long_headers.csv"
QR = "qr_decoded_actas.csv"
QR_TOTALS = "qr_decoded_actas_with_totals.csv"
FEEDS = (V1, V2, LONG, QR, QR_TOTALS)
V1_FIGURES = {
    "EG": 7_156_462,
    "NM": 3_241_461,
    "valid": 10_659_128,
    "null": 1_139,
    "registered": 17_745_239,
    "others": 261_205,
}


def ve_run(settings, tmp_path, *files):
    """Run the ve2024 election on a landing folder holding copies of the chosen real files."""
    landing = tmp_path / "landing_ve"
    landing.mkdir()
    for name in files:
        shutil.copyfile(SHARED_VE2024 / name, landing / name)  # landing refuses symlinks
    ve = replace(settings, election="ve2024", landing_dir=landing)
    result = run(ve)
    assert result.success
    return ve, result


@pytest.fixture(scope="module")
def every_feed(tmp_path_factory):
    """Every real feed landed together and run once; the tests that read it only read it."""
    root = tmp_path_factory.mktemp("ve_every_feed")
    settings = Settings(root / "data")
    prepare_data_dir(settings)
    ve, _ = ve_run(settings, root, *FEEDS)
    return ve


@pytest.fixture(scope="module")
def page(every_feed, tmp_path_factory, vega_bundle_once):
    primary = load_election("ve2024").election.primary_source
    out = tmp_path_factory.mktemp("ve_report") / "report.html"
    return write_report(every_feed.published, out, primary=primary)


def national(settings, source):
    votes = published(
        settings,
        "select candidate_id, votes from results where level = 'national' and source_id = ?",
        [source],
    )
    turnout = published(
        settings, "select * from turnout where level = 'national' and source_id = ?", [source]
    ).row(0, named=True)
    return dict(votes.iter_rows()), turnout


def counts(settings, source):
    return published(
        settings,
        "select level, count(distinct unit_code) n from results where source_id = ? group by 1",
        [source],
    ).rows()


def test_v1_alone_reproduces_the_published_figures(settings, tmp_path):
    ve, _ = ve_run(settings, tmp_path, V1)
    votes, turnout = national(ve, "opposition")
    assert votes["EG"] == V1_FIGURES["EG"]
    assert votes["NM"] == V1_FIGURES["NM"]
    assert sum(v for c, v in votes.items() if c not in ("EG", "NM")) == V1_FIGURES["others"]
    assert turnout["valid_votes"] == V1_FIGURES["valid"]
    assert turnout["null_votes"] == V1_FIGURES["null"]
    assert turnout["registered"] == V1_FIGURES["registered"]
    assert (
        round(100 * (turnout["valid_votes"] + turnout["null_votes"]) / turnout["registered"], 2)
        == 60.07
    )
    levels = dict(counts(ve, "opposition"))
    assert (levels["table"], levels["centre"], levels["state"]) == (24_532, 12_817, 24)
    coverage = published(ve, "select counted, expected from coverage where level = 'national'")
    assert coverage.row(0) == (24_532, 30_026)


def test_v1_and_v2_together_give_v2_never_a_sum(every_feed):
    ve = every_feed
    votes, turnout = national(ve, "opposition")
    assert (votes["EG"], votes["NM"]) == (7_303_480, 3_316_142)
    assert (turnout["valid_votes"], turnout["null_votes"]) == (10_887_262, 1_213)
    assert dict(counts(ve, "opposition"))["table"] == 25_073
    dropped = published(
        ve,
        "select count(*) from results where source_id = 'opposition' "
        "and unit_code in ('210510003.01', '210510003.03')",
    ).item()
    assert dropped == 0, "V2 dropped those two mesas; V1's copies must not linger"
    kept = published(
        ve,
        "select count(*) from results where source_id = 'opposition_long_headers' "
        "and unit_code in ('210510003.01', '210510003.03')",
    ).item()
    assert kept > 0, "a copy of V1 of its own, the long-header file, still has them"


def test_the_long_header_variant_gives_v1s_totals(every_feed):
    votes, turnout = national(every_feed, "opposition_long_headers")
    assert (votes["EG"], votes["NM"]) == (V1_FIGURES["EG"], V1_FIGURES["NM"])
    assert (turnout["valid_votes"], turnout["registered"]) == (
        V1_FIGURES["valid"],
        V1_FIGURES["registered"],
    )


def test_reconciling_qr_decodes_with_v2_finds_the_seven_differences(every_feed):
    ve = every_feed  # V2 supersedes V1 whole: the opposition's tallies are V2's
    pair = "source_a = 'opposition' and source_b = 'qr_decoded'"
    differ = published(
        ve, f"select unit_code from reconciliation where {pair} and status = 'differ' order by 1"
    )
    assert differ["unit_code"].to_list() == [
        "030602001.02",
        "070301020.01",
        "070904028.04",
        "070908043.01",
        "110202070.01",
        "190601010.01",
        "200701014.02",
    ]
    deltas = published(
        ve, f"select votes_apart from reconciliation where {pair} and status = 'differ'"
    )
    assert set(deltas["votes_apart"]) <= {1, 2, 3, 4, 5, 6, 7, 8}
    only_qr = published(
        ve, f"select count(*) from reconciliation where {pair} and status = 'only_in_b'"
    ).item()
    assert only_qr == 15
    summary = published(
        ve, f"select * from reconciliation_summary where level = 'national' and {pair}"
    ).row(0, named=True)
    assert (summary["differ"], summary["only_in_b"]) == (7, 15)
    assert summary["agree"] + summary["differ"] + summary["only_in_a"] == 25_073


def test_latin1_and_bom_files_keep_their_names(every_feed):
    ve = every_feed
    names = published(ve, "select distinct unit_name from results where level = 'parish'")
    assert "CAÑO EL TIGRE" in names["unit_name"].to_list()
    mojibake = published(ve, "select count(*) from results where unit_name like '%Ã%'").item()
    assert mojibake == 0
    states = published(ve, "select distinct unit_name from results where level = 'state'")
    assert "DTTO. CAPITAL" in states["unit_name"].to_list()


def test_a_renamed_column_is_rejected_naming_it(settings, tmp_path):
    landing = tmp_path / "landing_ve"
    landing.mkdir()
    text = (SHARED_VE2024 / V1).read_text(encoding="utf-8-sig")
    (landing / V1).write_text(text.replace("VOTOS_NULOS", "NULOS", 1), encoding="utf-8-sig")
    shutil.copy(SHARED_VE2024 / QR, landing / QR)
    ve = replace(settings, election="ve2024", landing_dir=landing)
    result = run(ve)
    assert result.success, "the rest of the delivery proceeds"
    assert rejected_files(result) == [
        f"{V1}: columns no longer match the contract: missing column(s) VOTOS_NULOS; "
        "unexpected column(s) NULOS"
    ]
    assert published(ve, "select distinct source_id from results")["source_id"].to_list() == [
        "qr_decoded"
    ]


def test_announced_totals_against_the_tallies(every_feed):
    ve = every_feed  # the opposition's tallies are V2's
    row = published(
        ve, "select * from announced_vs_tallied where bulletin_id = 'cne_2' and candidate_id = 'NM'"
    ).row(0, named=True)
    assert (row["announced_votes"], row["tallied_votes"]) == (6_408_844, 3_316_142)
    assert row["votes_needed"] == 6_408_844 - 3_316_142
    assert row["uncounted_tallies"] == 30_026 - 25_073
    assert row["capacity_basis"] == "counted turnout"
    assert row["votes_needed"] > row["uncounted_capacity"]
    assert row["possible"] is False
    eg = published(
        ve, "select * from announced_vs_tallied where bulletin_id = 'cne_2' and candidate_id = 'EG'"
    ).row(0, named=True)
    assert eg["tallied_exceeds_announced"] and eg["possible"] is False


# --- the report on every feed -----------------------------------------------------------


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
