"""A general election's report, export and run summary: the main contests in full, every other
contest in the searchable table with its leaders from contest_status, hostile names escaped,
`export --contest` writes exactly that contest's rows."""

import html
import json
import re
import shutil
from dataclasses import replace

import duckdb
import polars as pl
import pytest

from landing.synthetic_general import write_synthetic_general
from orchestration.cli import main
from orchestration.settings import Settings, prepare_data_dir
from reporting.html.write import write_report
from reporting.terminal.run_summary import print_summary
from tests.conftest import published, run
from tests.test_report import assert_all_rendered, needs_chromium, render
from transforms.synthetic.general import generate_general

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("vega_bundle_once")]

HOSTILE_OFFICE = "SENATOR <script>alert(1)</script> (VOTE FOR 2)"  # still the senators' rule
HOSTILE_CANDIDATE = "<img src=x onerror=alert(2)>"
# a president's candidate, so in the charts: `<!--<script>` inside a script element used to
# stop every chart of the page from rendering
QUOTED_CANDIDATE = 'Aurora "<b>Bellido</b>" & Co <!--<script>'
SCRIPT_BLOCK = re.compile(r"<script[^>]*>.*?</script>", re.S)
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Five contests, the senators' office and two candidates renamed as a hostile feed
    would: markup in the names."""
    settings = replace(Settings(tmp_path_factory.mktemp("general") / "data"), election="general")
    prepare_data_dir(settings)
    write_synthetic_general(generate_general(300, contests=5, seed=5, drops=1), settings.landing)
    feeds = sorted(settings.landing.glob("general_*.csv"))
    first = feeds[0].read_text(encoding="utf-8")
    first_governor = first.split(",GOVERNOR,", 2)[1].split("\n")[0].split(",")[2]
    renamed = 0
    for path in feeds:
        text = path.read_text(encoding="utf-8")
        text = text.replace(",SENATOR (VOTE FOR 2),", f",{HOSTILE_OFFICE},")
        text = text.replace(f",{first_governor},", f",{HOSTILE_CANDIDATE},")
        quoted = '"' + QUOTED_CANDIDATE.replace('"', '""') + '"'  # a CSV field with quotes
        text = text.replace(",Aurora Bellido,", f",{quoted},")
        path.write_text(text, encoding="utf-8")
        renamed += 1
    assert renamed
    assert run(settings).success
    return settings


@pytest.fixture(scope="module")
def page(hostile, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("page") / "report.html"
    return write_report(hostile.published, out, featured=("president",)).path.read_text()


def _other_rows(page: str) -> list[list[str]]:
    table = page.split('<table id="contest-table">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [[html.unescape(c) for c in CELL.findall(row)] for row in ROW.findall(body)]


def test_the_main_contest_in_full_and_every_other_in_the_table(hostile, page):
    sections = re.findall(r'<section id="([^"]+)"><h2>(.*?)</h2>', page)
    full = [
        (anchor, html.unescape(title)) for anchor, title in sections if anchor[:8] == "contest-"
    ]
    assert full == [("contest-1", "President of the Republic")]
    president = published(
        hostile,
        "select candidate_name, votes from results where contest_id = 'president' "
        "and level = 'national' order by rank nulls last, candidate_id",
    )
    block = page.split('<section id="contest-1">', 1)[1].split("</section>", 1)[0]
    first_table = block.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    shown = [
        (html.unescape(cells[1]), int(cells[2].replace(",", "")))
        for cells in (CELL.findall(r) for r in ROW.findall(first_table))
    ]
    assert shown == president.rows()
    assert "By state" in block, "the contest's results by the election's first level"
    status = published(
        hostile,
        "select contest_id, leader_names, margin, status from contest_status "
        "where contest_id <> 'president' order by contest_name, contest_id, unit_code",
    )
    rows = _other_rows(page)
    assert len(rows) == status.height > 40
    assert [(r[1], r[3], r[4], r[5]) for r in rows] == [
        (
            cid,
            "–" if names is None else ", ".join(names),
            f"{margin:,}" if margin is not None else "–",
            st,
        )
        for cid, names, margin, st in status.iter_rows()
    ]
    assert f"Every other contest ({status['contest_id'].n_unique()})" in page
    assert 'id="contest-filter"' in page and "contest-filter-count" in page


def _strings(value) -> set[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        return {value}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return set().union(*(_strings(v) for v in items))


def test_hostile_contest_and_candidate_names_are_escaped(hostile, page):
    names = published(hostile, "select distinct contest_name from contest_status")
    assert HOSTILE_OFFICE in names["contest_name"].to_list(), "the name reached the marts"
    markup = SCRIPT_BLOCK.sub("", page)
    for raw in (HOSTILE_OFFICE, HOSTILE_CANDIDATE, QUOTED_CANDIDATE, "<b>", "<img"):
        assert raw not in markup
    for raw in (HOSTILE_OFFICE, HOSTILE_CANDIDATE, QUOTED_CANDIDATE):
        assert html.escape(raw) in markup
    specs = page.split('id="report-specs">', 1)[1].split("</script>", 1)[0]
    assert not set("<>&") & set(specs), "the chart specs cannot end or change their element"
    assert QUOTED_CANDIDATE in _strings(json.loads(specs))


@needs_chromium
def test_the_general_report_renders_offline(hostile, tmp_path):
    out = write_report(hostile.published, tmp_path / "report.html", featured=("president",))
    figures = assert_all_rendered(out.path, tmp_path)
    assert len(figures) >= 2


def test_export_of_one_contest_writes_exactly_its_rows(hostile, capsys, tmp_path):
    contest = published(
        hostile, "select contest_id from contest_status where level = 'state' limit 1"
    ).item()
    code = main(
        [
            "export",
            "--data-dir",
            str(hostile.data_dir),
            "--out",
            str(tmp_path),
            "--contest",
            contest,
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 0 and f"(contest {contest!r} only)" in out
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["contest"] == contest
    with duckdb.connect(str(hostile.published), read_only=True) as con:
        keyed = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_columns() where column_name = 'contest_id'"
            ).fetchall()
        }
        assert {e["table"] for e in manifest["tables"]} == keyed
        for entry in manifest["tables"]:
            mart = con.sql(
                f'select * from "{entry["table"]}" where contest_id = ?', params=[contest]
            ).pl()
            back = pl.read_parquet(tmp_path / entry["file"])
            assert entry["rows"] == back.height == mart.height
            assert set(back["contest_id"].to_list()) <= {contest}
            assert back.sort(back.columns).equals(mart.sort(mart.columns)), entry["table"]
    assert manifest["tables"] and any(e["rows"] > 0 for e in manifest["tables"])


def test_export_of_an_unknown_contest_is_a_one_line_usage_error(hostile, capsys, tmp_path):
    code = main(
        ["export", "--data-dir", str(hostile.data_dir), "--out", str(tmp_path), "--contest", "nope"]
    )
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    assert "unknown contest 'nope'" in err and "tallyhouse query" in err
    assert not (tmp_path / "manifest.json").exists()


def test_the_run_summary_groups_the_contests_elected_in_districts(hostile, capsys):
    print_summary(hostile.published)
    printed = capsys.readouterr().out
    assert "5 contests in " in printed and "President of the Republic (president)" in printed
    by_level = published(
        hostile,
        "select level, count(distinct contest_id), count(*) from contest_status "
        "where level <> 'national' group by 1 order by 1",
    )
    for level, contests, races in by_level.iter_rows():
        word = "contest" if contests == 1 else "contests"
        assert f"  {contests} {word} elected by {level}, {races} races: " in printed
    assert '  every race: tallyhouse query "select contest_name' in printed
    print_summary(hostile.published, data_dir=hostile.data_dir)
    printed = capsys.readouterr().out
    flag = f"--data-dir {hostile.data_dir}"
    assert f'  every race: tallyhouse query {flag} "select contest_name' in printed
    assert printed.count(f"tallyhouse report {flag}") == 1, "every hint works as printed"
    print_summary(hostile.published, data_dir=hostile.data_dir, election="dc 2016")
    printed = capsys.readouterr().out
    assert f"tallyhouse report {flag} --election 'dc 2016'\n" in printed, "named, quoted"


KEYED_FORENSICS = """create or replace table forensics as select * from (values
  ('general', 'president', 'F1', 'last-digit uniformity', 'state', '01', 'Uno', 'C01',
   400::bigint, 31.2, 0.0003, true, 'president digits far from uniform'),
  ('general', ?, 'F1', 'last-digit uniformity', 'state', '01', 'Uno', 'C01',
   400::bigint, 31.2, 0.0003, true, 'governor digits far from uniform'))
  t(source_id, contest_id, check_id, check_name, level, unit_code, unit_name, candidate_id, n,
    statistic, p_value, flagged, detail)"""


def test_marts_keyed_by_contest_show_the_main_contests(hostile, tmp_path):
    """Forensics (and projection, reconciliation, announced) gaining contest_id: the report
    lists the main contests' rows with their contest, not every contest's."""
    copy = tmp_path / "marts.duckdb"
    shutil.copy(hostile.published, copy)
    governor = published(
        hostile, "select contest_id from contest_status where contest_id like 'governor%' limit 1"
    ).item()
    with duckdb.connect(str(copy)) as con:
        con.execute(KEYED_FORENSICS, [governor])
    text = write_report(copy, tmp_path / "r.html", featured=("president",)).path.read_text()
    block = text.split('<section id="forensics">', 1)[1].split("</section>", 1)[0]
    assert "president digits far from uniform" in block
    assert "governor digits far from uniform" not in block
    assert '<th class="">Contest</th>' in block and '<td class="">president</td>' in block


@needs_chromium
def test_the_filter_box_hides_the_rows_that_do_not_match(hostile, page, tmp_path):
    """Typing in the filter box (simulated in headless Chromium) keeps only the rows whose text
    holds every word typed, and says how many."""
    typed = (
        "<script>var box = document.getElementById('contest-filter'); box.value = 'GOVERNOR "
        "leading'; box.dispatchEvent(new Event('input'));</script></body>"
    )
    filtered = tmp_path / "typed.html"
    filtered.write_text(page.replace("</body>", typed), encoding="utf-8")
    dom = render(filtered, tmp_path)
    table = dom.split('<table id="contest-table">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr( hidden=\"\")?>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    shown = [html.unescape(body) for hidden, body in rows if not hidden]
    expected = published(
        hostile,
        "select count(*) from contest_status where contest_id <> 'president' "
        "and contest_name ilike '%governor%' and status = 'leading'",
    ).item()
    assert len(shown) == expected > 0 and len(rows) > expected
    assert all("governor" in r.lower() and "leading" in r for r in shown)
    assert f"{expected} of {len(rows)} rows shown" in dom
