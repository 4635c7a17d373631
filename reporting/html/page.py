"""Assemble the report: one self-contained HTML page, charts rendered by inlined Vega JavaScript.

`build_report` is pure: data and the JavaScript bundle in, the page out. `vega_bundle` returns
vega, vega-lite and vega-embed as one script (bundled offline by the vl-convert package), so the
page needs no network. Every number charted also appears in a table, for print.
"""

import html
import json
from datetime import datetime

import altair as alt
import polars as pl

from reporting.html import charts, contest_sections
from reporting.html.announced import announced_section
from reporting.html.blocks import Column, Section, fmt_float, fmt_int, fmt_pct, fmt_text, table
from reporting.html.model import ReportData
from reporting.html.outlook import outlook

ERRORS_ID = "report-errors"


def vega_bundle() -> str:
    """vega + vega-lite + vega-embed as one script, defining window.vegaEmbed."""
    import vl_convert

    version = "_".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return vl_convert.javascript_bundle(vl_version=f"v{version}")


# ---- sections ------------------------------------------------------------------------------


def quality_by_rule(quality: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """Tallies per rule for the national row of quality_summary, in catalogue order."""
    row = quality.row(0, named=True) if quality.height else {}
    return rules.with_columns(
        pl.Series(
            "tallies", [int(row.get(r.lower()) or 0) for r in rules["rule_id"]], dtype=pl.Int64
        )
    )


def _national_section(data: ReportData) -> Section:
    return Section(
        "national",
        "National result",
        "Votes per candidate in the accepted tallies counted so far; shares are of valid votes.",
        [charts.national_chart(data.national)],
        [
            table(
                data.national,
                [
                    ("rank", "Rank", fmt_text),
                    ("candidate_name", "Candidate", fmt_text),
                    ("votes", "Votes", fmt_int),
                    ("share", "Share", fmt_pct),
                ],
            )
        ],
    )


def _states_section(data: ReportData) -> Section | None:
    level = data.top_level
    if level is None or data.by_state.is_empty():
        return None
    wide = (
        data.by_state.filter(pl.col("rank") <= 2)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .pivot(on="rank", index=["unit_code", "unit_name"], values=["candidate_name", "share"])
        .join(data.state_turnout.select("unit_code", "valid_votes"), on="unit_code", how="left")
        .sort("unit_code")
    )
    columns = [
        ("unit_code", "Code", fmt_text),
        ("unit_name", level.capitalize(), fmt_text),
        ("candidate_name_1", "First", fmt_text),
        ("share_1", "Share", fmt_pct),
        ("candidate_name_2", "Second", fmt_text),
        ("share_2", "Share", fmt_pct),
        ("valid_votes", "Valid votes", fmt_int),
    ]
    columns = [c for c in columns if c[0] in wide.columns]
    return Section(
        "by-state",
        f"Results by {level}",
        f"Shares of valid votes in each {level}; the leading candidates nationally are named, "
        "the rest summed as Others.",
        [charts.states_chart(data.by_state, data.national, level)],
        [table(wide, columns)],
    )


def _coverage_turnout_section(data: ReportData) -> Section | None:
    level = data.top_level
    frame = data.state_turnout
    if level is None or frame.is_empty():
        return None
    has_expected = frame["percent_reporting"].drop_nulls().len() > 0
    has_turnout = frame["turnout"].drop_nulls().len() > 0
    figures = [
        charts.coverage_chart(frame, level) if has_expected else charts.counted_chart(frame, level)
    ]
    if has_turnout:
        figures.append(charts.turnout_chart(frame, level))
    coverage = (
        "Coverage: tallies counted against the tallies expected from the registry. "
        if has_expected
        else f"Coverage: tallies counted; the feed gives no expected number per {level}, "
        "only nationally (see the header). "
    )
    note = coverage + (
        "Turnout: ballots cast over registered voters."
        if has_turnout
        else "Turnout is not shown: this source's feed carries no registered voters."
    )
    return Section(
        "coverage-turnout",
        f"Coverage and turnout by {level}",
        note,
        figures,
        [
            table(
                frame,
                [
                    ("unit_code", "Code", fmt_text),
                    ("unit_name", level.capitalize(), fmt_text),
                    ("expected", "Tallies expected", fmt_int),
                    ("counted", "Counted", fmt_int),
                    (
                        "percent_reporting",
                        "Reporting",
                        lambda v: fmt_pct(None if v is None else v / 100),
                    ),
                    ("registered", "Registered", fmt_int),
                    ("total_votes", "Ballots", fmt_int),
                    ("turnout", "Turnout", fmt_pct),
                ],
            )
        ],
    )


def _fingerprint_section(data: ReportData) -> Section:
    level = data.tally_level
    if data.fingerprint.is_empty():
        return Section(
            "fingerprint",
            "Turnout × vote-share fingerprint",
            f"Not drawn: no {level} in this source has both turnout and shares "
            "(the feed carries no registered voters).",
        )
    cells = (
        data.fingerprint.group_by("candidate_name")
        .agg(
            pl.col("tallies").sum().alias("units"),
            pl.col("tallies")
            .filter((pl.col("turnout_bin") >= 0.9) & (pl.col("share_bin") >= 0.9))
            .sum()
            .alias("corner"),
        )
        .join(data.national.select("candidate_name", "rank"), on="candidate_name", how="left")
        .sort("rank")
    )
    return Section(
        "fingerprint",
        "Turnout × vote-share fingerprint",
        f"Each cell counts the {level}s with that turnout and that candidate's share "
        "(Klimek et al., 2012). Ballot stuffing shows as a smear towards the top-right corner; "
        "a clean count is one or two compact blobs. A flag for a closer look, never proof.",
        [charts.fingerprint_chart(data.fingerprint, level)],
        [
            table(
                cells,
                [
                    ("candidate_name", "Candidate", fmt_text),
                    ("units", f"{level.capitalize()}s charted", fmt_int),
                    ("corner", "With turnout and share ≥ 90 %", fmt_int),
                ],
            )
        ],
    )


def _turnout_distribution_section(data: ReportData) -> Section | None:
    level = data.tally_level
    frame = data.turnout_distribution
    if frame.is_empty():
        return Section(
            "turnout-distribution",
            "Distribution of turnout",
            f"Not drawn: no {level} in this source has a turnout (the feed carries no "
            "registered voters).",
        )
    summary = frame.select(
        pl.col("tallies").sum().alias("units"),
        pl.col("tallies").filter(pl.col("turnout_bin") >= 0.95).sum().alias("over_95"),
        pl.col("tallies").filter(pl.col("turnout_bin") >= 1.0).sum().alias("at_100"),
    )
    grid = (
        frame.with_columns(
            (pl.col("turnout_bin") * 100).round(0).cast(pl.Int64).alias("point"),
        )
        .with_columns(
            (pl.col("point") // 10 * 10).alias("decade"),
            (pl.col("point") % 10).cast(pl.String).alias("unit"),
        )
        .pivot(on="unit", index="decade", values="tallies", sort_columns=True)
        .sort("decade")
        .with_columns(pl.format("{} %", pl.col("decade")).alias("from"))
    )
    digits = [str(d) for d in range(10) if str(d) in grid.columns]
    return Section(
        "turnout-distribution",
        "Distribution of turnout",
        f"{level.capitalize()}s per turnout point. Real elections give one smooth hump; spikes "
        "at round numbers or a second peak near 100 % deserve a look.",
        [charts.turnout_distribution_chart(frame, level)],
        [
            table(
                summary,
                [
                    ("units", f"{level.capitalize()}s", fmt_int),
                    ("over_95", "Turnout ≥ 95 %", fmt_int),
                    ("at_100", "Turnout 100 % or more", fmt_int),
                ],
            ),
            table(
                grid,
                [("from", "Turnout", fmt_text)] + [(d, f"+{d}", fmt_int) for d in digits],
                caption=f"{level.capitalize()}s per turnout point: row + column "
                "(e.g. 60 % row, +3 column: turnout from 63 % to under 64 %)",
            ),
        ],
    )


def _quality_section(data: ReportData) -> Section:
    by_rule = quality_by_rule(data.quality, data.rules)
    row = data.quality.row(0, named=True) if data.quality.height else {}
    note = (
        f"{fmt_int(row.get('received'))} tallies received, {fmt_int(row.get('accepted'))} "
        f"accepted, {fmt_int(row.get('quarantined'))} quarantined (errors, kept out of every "
        f"figure), {fmt_int(row.get('flagged'))} flagged (warnings, counted). Each issue is "
        "listed with its file and row in the quality_issues mart."
    )
    tables = [
        table(
            by_rule,
            [
                ("rule_id", "Rule", fmt_text),
                ("severity", "Severity", fmt_text),
                ("description", "What it catches", fmt_text),
                ("tallies", "Tallies", fmt_int),
            ],
        )
    ]
    if not by_rule["tallies"].sum():
        note += " No tally broke any rule."
    if data.overrides is not None:
        note += (
            " The election's quality policy demotes some error rules to warnings for this "
            "source: their tallies are flagged and counted, for the reasons below."
        )
        tables.append(
            table(
                data.overrides,
                [
                    ("rule_id", "Rule overridden", fmt_text),
                    ("override_reason", "Reason (election.toml)", fmt_text),
                    ("tallies", "Tallies flagged instead of quarantined", fmt_int),
                ],
            )
        )
    return Section(
        "quality",
        "Quality issues by rule",
        note,
        [charts.quality_chart(by_rule)] if by_rule["tallies"].sum() > 0 else [],
        tables,
    )


def _shown(data: ReportData, frame: pl.DataFrame, *columns: Column) -> list[Column]:
    """The columns the frame has; the contest only in a general election."""
    return [c for c in columns if c[0] in frame.columns and (c[0] != "contest_id" or data.contests)]


def _reconciliation_section(data: ReportData) -> Section | None:
    frame = data.reconciliation
    if frame is None:
        return None
    return Section(
        "reconciliation",
        "Reconciliation between sources",
        "Accepted tallies of two sources compared tally by tally: agree, differ (votes_apart "
        "sums the differences), or present in one source only.",
        [charts.reconciliation_chart(frame)],
        [
            table(
                frame,
                _shown(
                    data,
                    frame,
                    ("contest_id", "Contest", fmt_text),
                    ("source_a", "Source a", fmt_text),
                    ("source_b", "Source b", fmt_text),
                    ("agree", "Agree", fmt_int),
                    ("differ", "Differ", fmt_int),
                    ("only_in_a", "Only in a", fmt_int),
                    ("only_in_b", "Only in b", fmt_int),
                    ("votes_apart", "Votes apart", fmt_int),
                ),
            )
        ],
    )


def _projection_section(data: ReportData) -> Section | None:
    frame = data.projection
    if frame is None:
        return None
    counted, expected = frame["tallies_counted"][0], frame["tallies_expected"][0]
    if expected is not None and counted >= expected:
        return None  # everything is in: the national result is the final one
    method = ", ".join(sorted({str(m) for m in frame["method"].drop_nulls()})) or "–"
    seats = data.contests[0].seats if data.contests else 1
    said = outlook(frame.to_dicts(), seats)
    frame = frame.with_columns(
        pl.col("candidate_id").replace_strict(said, return_dtype=pl.String).alias("outlook")
    )
    return Section(
        "projection",
        "Projected final result",
        f"Estimated final votes with 95 % intervals, from {fmt_int(frame['tallies_counted'][0])} "
        f"of {fmt_int(frame['tallies_expected'][0])} tallies (weighting: "
        f"{fmt_text(frame['weighting'][0])}; method: {method}). Whatever the estimate, a "
        "candidate has at least the votes counted and at most those plus every ballot the "
        "uncounted tallies could hold; the last column says what that leaves possible.",
        [charts.projection_chart(frame)],
        [
            table(
                frame,
                [
                    ("candidate_name", "Candidate", fmt_text),
                    ("counted_votes", "Counted", fmt_int),
                    ("projected_votes", "Projected", fmt_int),
                    ("lower_95", "Lower 95 %", fmt_int),
                    ("upper_95", "Upper 95 %", fmt_int),
                    ("projected_share", "Share", fmt_pct),
                    ("share_lower_95", "Share low", fmt_pct),
                    ("share_upper_95", "Share high", fmt_pct),
                    ("worst_case_max", "At most", fmt_int),
                    ("outlook", "Can they still win?", fmt_text),
                ],
            )
        ],
    )


def _forensics_section(data: ReportData) -> Section | None:
    frame = data.forensics
    if frame is None:
        return None
    flagged = frame.filter(pl.col("flagged").fill_null(False))
    return Section(
        "forensics",
        "Forensic flags",
        f"{fmt_int(flagged.height)} of {fmt_int(frame.height)} units or tallies examined were "
        "flagged. Statistical flags point to where to look; they are never proof of fraud.",
        [charts.forensics_chart(frame)],
        [
            table(
                flagged,
                _shown(
                    data,
                    flagged,
                    ("contest_id", "Contest", fmt_text),
                    ("check_id", "Check", fmt_text),
                    ("check_name", "Name", fmt_text),
                    ("level", "Level", fmt_text),
                    ("unit_code", "Code", fmt_text),
                    ("unit_name", "Unit", fmt_text),
                    ("candidate_id", "Candidate", fmt_text),
                    ("n", "n", fmt_int),
                    ("statistic", "Statistic", fmt_float),
                    ("p_value", "p", fmt_float),
                    ("detail", "Why", fmt_text),
                ),
                caption="Flagged",
                empty="no unit or tally was flagged by any check.",
            )
        ],
    )


def _general_sections(data: ReportData) -> list[Section | None]:
    """A general election: each main contest in full, every other contest in the searchable
    table, then the election-wide sections for the first main contest."""
    lead = data.contests[0].name
    level_sections = [
        _coverage_turnout_section(data),
        _fingerprint_section(data),
        _turnout_distribution_section(data),
    ]
    for section in level_sections:
        if section is not None:
            section.title = f"{section.title}: {lead}"
    return [
        *(
            contest_sections.contest_section(view, number, data.top_level)
            for number, view in enumerate(data.contests, start=1)
        ),
        contest_sections.others_section(data),
        _projection_section(data),
        *level_sections,
        _quality_section(data),
        _forensics_section(data),
        _reconciliation_section(data),
        announced_section(data.announced, bool(data.contests)),
    ]


def sections(data: ReportData) -> list[Section]:
    if data.contests:
        return [s for s in _general_sections(data) if s is not None]
    built = [
        _national_section(data),
        _projection_section(data),
        _states_section(data),
        _coverage_turnout_section(data),
        _fingerprint_section(data),
        _turnout_distribution_section(data),
        _quality_section(data),
        _forensics_section(data),
        _reconciliation_section(data),
        announced_section(data.announced, bool(data.contests)),
    ]
    return [s for s in built if s is not None]


# ---- page ----------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _turnout_note(turnout: dict) -> str:
    """Under the turnout: why it is unknown, or the ballots of units without a list, which it
    leaves out."""
    unlisted = turnout.get("units_without_list") or 0
    apart = (
        f"{fmt_int(unlisted)} units without a list: {fmt_int(turnout.get('votes_without_list'))} "
        "ballots not in turnout"
        if unlisted
        else ""
    )
    if turnout.get("turnout") is None:
        return "; ".join(x for x in ("registered voters not in feed", apart) if x)
    return apart


def _header(data: ReportData) -> str:
    coverage = data.national_coverage.row(0, named=True) if data.national_coverage.height else {}
    turnout = data.national_turnout.row(0, named=True) if data.national_turnout.height else {}
    leader = data.national.row(0, named=True) if data.national.height else {}
    expected = coverage.get("expected")
    counted = coverage.get("counted")
    share = counted / expected if expected else None
    facts = [
        ("Leading", fmt_text(leader.get("candidate_name")), fmt_pct(leader.get("share"))),
        (
            "Tallies counted",
            f"{fmt_int(counted)} of {fmt_int(expected)}",
            fmt_pct(share),
        ),
        ("Valid votes", fmt_int(turnout.get("valid_votes")), ""),
        ("Turnout", fmt_pct(turnout.get("turnout")), _turnout_note(turnout)),
    ]
    if data.contests:
        facts = contest_sections.header_facts(data)
    cards = "".join(
        f'<div class="fact"><div class="label">{html.escape(a)}</div>'
        f'<div class="value">{html.escape(b)}</div><div class="sub">{html.escape(c)}</div></div>'
        for a, b, c in facts
    )
    return (
        f'<header><div class="kicker">Election results report</div>'
        f"<h1>{html.escape(data.election_name or 'Election results')}</h1>"
        f'<p class="meta">Source <strong>{html.escape(data.source)}</strong> · publication run '
        f"<code>{html.escape(data.run_id or '–')}</code> · published "
        f"{html.escape(_when(data.published_at))} · coverage {html.escape(fmt_int(counted))} of "
        f"{html.escape(fmt_int(expected))} tallies ({html.escape(fmt_pct(share))})</p>"
        f'<div class="facts">{cards}</div>'
        f'<p class="provenance">Every number in this report is read from the published marts '
        f"file <code>{html.escape(data.published_file)}</code> and traces to a source file and "
        "row: the marts keep each tally's file, sha256 and row, and every quarantined or flagged "
        "tally is listed in <code>quality_issues</code>.</p></header>"
    )


def _sources_table(data: ReportData) -> str:
    if data.sources.height < 2:
        return ""
    return (
        '<section id="sources"><h2>Sources in this file</h2><p class="note">This report shows '
        f"<strong>{html.escape(data.source)}</strong>. By default a report shows the source with "
        "the most tallies counted (on a tie, the election's <code>primary_source</code>); choose "
        "another with <code>tallyhouse report --source NAME</code>.</p>"
        + table(
            data.sources,
            [
                ("source_id", "Source", fmt_text),
                ("counted", "Tallies counted", fmt_int),
                ("expected", "Expected", fmt_int),
                ("valid_votes", "Valid votes", fmt_int),
                ("turnout", "Turnout", fmt_pct),
                ("leader", "Leading", fmt_text),
                ("leader_share", "Share", fmt_pct),
            ],
        )
        + "</section>"
    )


STYLE = """
:root { --ink:#1b1f24; --muted:#5b6470; --rule:#dde1e6; --accent:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; font-family: Georgia, 'Times New Roman', serif; color:var(--ink);
  background:#fff; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 64px; }
header { border-bottom: 3px solid var(--ink); padding-bottom: 12px; margin-bottom: 8px; }
.kicker { font: 600 12px/1.2 Helvetica, Arial, sans-serif; letter-spacing: .12em;
  text-transform: uppercase; color: var(--accent); }
h1 { font-size: 34px; line-height: 1.15; margin: 6px 0 8px; }
h2 { font-size: 22px; margin: 0 0 4px; }
.meta, .note, .provenance, table, .fact { font-family: Helvetica, Arial, sans-serif; }
.meta { color: var(--muted); font-size: 14px; margin: 0 0 14px; }
.provenance { color: var(--muted); font-size: 12.5px; margin: 12px 0 0; }
.facts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.fact { border-top: 1px solid var(--rule); padding-top: 8px; }
.fact .label { font-size: 12px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); }
.fact .value { font-size: 22px; font-weight: 700; margin-top: 2px; }
.fact .sub { font-size: 13px; color: var(--muted); }
section { border-top: 1px solid var(--rule); padding: 22px 0 6px; }
.note { color: var(--muted); font-size: 14px; margin: 0 0 12px; max-width: 760px; }
figure { margin: 8px 0 14px; }
.table-wrap { overflow-x: auto; margin: 6px 0 10px; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
.empty { font: 14px Helvetica, Arial, sans-serif; margin: 6px 0 10px; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
th { font-weight: 600; border-bottom: 1.5px solid var(--ink); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-size: 12px; }
.filter { font-family: Helvetica, Arial, sans-serif; font-size: 14px; margin: 4px 0 8px; }
.filter input { font: inherit; padding: 3px 6px; width: 22em; margin: 0 8px; }
#report-errors { color: #c8102e; font-family: monospace; white-space: pre-wrap; }
footer { color: var(--muted); font: 12px Helvetica, Arial, sans-serif; margin-top: 24px; }
@media print { main { max-width: none; padding: 0; } section { break-inside: avoid-page; } }
"""

ERROR_HOOK = f"""
window.reportErrors = [];
function recordReportError(message) {{
  window.reportErrors.push(String(message));
  var box = document.getElementById('{ERRORS_ID}');
  if (box) {{
    box.textContent = window.reportErrors.join('\\n');
    box.setAttribute('data-count', String(window.reportErrors.length));
    box.hidden = false;
  }}
}}
window.onerror = function (message, source, line, column) {{
  recordReportError(message + ' (' + source + ':' + line + ':' + column + ')');
}};
window.addEventListener('unhandledrejection', function (event) {{
  recordReportError('unhandled rejection: ' + event.reason);
}});
"""

EMBED = """
(function () {
  var specs = JSON.parse(document.getElementById('report-specs').textContent);
  var pending = Object.keys(specs).map(function (id) {
    return vegaEmbed('#' + id, specs[id], {renderer: 'svg', actions: false})
      .then(function () { document.getElementById(id).setAttribute('data-rendered', 'true'); })
      .catch(function (error) { recordReportError(id + ': ' + error); });
  });
  Promise.all(pending).then(function () {
    document.body.setAttribute('data-charts-done', String(pending.length));
  });
})();
"""


def _script_json(value) -> str:
    """JSON inert inside a <script> element: `<`, `>` and `&` written as \\u escapes (which
    JSON.parse reads back), so no `</script>`, `<!--` or `<script` from a feed's names can end
    or change the element."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def build_report(data: ReportData, bundle: str) -> str:
    """The whole page. `bundle`: the script defining vegaEmbed (see vega_bundle)."""
    specs: dict[str, dict] = {}
    body = [_header(data), _sources_table(data)]
    for section in sections(data):
        figures = []
        for chart in section.charts:
            chart_id = f"chart-{len(specs) + 1}"
            specs[chart_id] = chart.to_dict()
            figures.append(
                f'<figure class="chart-figure"><div class="chart" id="{chart_id}" '
                f'data-section="{section.anchor}"></div></figure>'
            )
        body.append(
            f'<section id="{section.anchor}"><h2>{html.escape(section.title)}</h2>'
            f'<p class="note">{html.escape(section.note)}</p>'
            + "".join(figures)
            + "".join(section.tables)
            + "</section>"
        )
    footer = (
        "<footer>Made by tallyhouse <code>report</code> from the published marts. "
        "Charts: Vega-Lite, embedded in this file; the page needs no network.</footer>"
    )
    title = html.escape(f"{data.election_name or 'Election'}: results report ({data.source})")
    script = bundle.replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style>"
        f"<script>{ERROR_HOOK}</script>"
        f"<script>{script}</script>"
        "</head><body><main>"
        f'<div id="{ERRORS_ID}" data-count="0" hidden></div>' + "".join(body) + footer + "</main>"
        f'<script type="application/json" id="report-specs">{_script_json(specs)}</script>'
        f"<script>{EMBED}</script>"
        + (f"<script>{contest_sections.FILTER_SCRIPT}</script>" if data.contests else "")
        + "</body></html>\n"
    )
