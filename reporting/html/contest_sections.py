"""A general election's sections: each main contest in full, and every other contest in one
table the reader filters by typing (plain JavaScript in the page, no network)."""

import polars as pl

from reporting.html import charts
from reporting.html.blocks import Section, fmt_int, fmt_pct, fmt_text, table
from reporting.html.model import ContestView, ReportData

TABLE_ID = "contest-table"
FILTER_ID = "contest-filter"
COUNT_ID = "contest-filter-count"

FILTER_SCRIPT = f"""
(function () {{
  var box = document.getElementById('{FILTER_ID}');
  var table = document.getElementById('{TABLE_ID}');
  if (!box || !table) {{ return; }}
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var count = document.getElementById('{COUNT_ID}');
  function apply() {{
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row) {{
      var text = row.textContent.toLowerCase();
      var match = words.every(function (word) {{ return text.indexOf(word) >= 0; }});
      row.hidden = !match;
      if (match) {{ shown += 1; }}
    }});
    count.textContent = shown + ' of ' + rows.length + ' rows shown';
  }}
  box.addEventListener('input', apply);
  apply();
}})();
"""


def _plural(count: int, word: str) -> str:
    return f"{fmt_int(count)} {word}{'' if count == 1 else 's'}"


def _status_sentence(row: dict) -> str:
    """What contest_status says of one district, in words."""
    status = row.get("status")
    leaders = row.get("leaders") or "–"
    if status == "no votes":
        return "No votes counted yet."
    if status == "tied":
        return f"Tied at the last seat ({fmt_int(row.get('last_winner_votes'))} votes each)."
    still = row.get("outstanding_ballots")
    outstanding = (
        "nothing bounds the ballots still to arrive"
        if still is None
        else "no ballots still to arrive"
        if still == 0
        else f"at most {fmt_int(still)} ballots still to arrive"
    )
    verb = "Decided" if status == "decided" else "Leading, not yet decided"
    return (
        f"{verb}: {leaders}; margin {fmt_int(row.get('margin'))} votes between the last winner "
        f"and the first loser, {outstanding}."
    )


def _contest_note(view: ContestView) -> str:
    seats = f"{_plural(view.seats, 'seat')}, vote for {view.vote_for}"
    if view.level == "national":
        where = "Elected over the whole election"
        status = _status_sentence(view.status.row(0, named=True)) if view.status.height else ""
    else:
        decided = int(view.status["decided"].fill_null(False).sum()) if view.status.height else 0
        where = f"Elected in {_plural(view.status.height, view.level + ' district')}"
        status = f"{fmt_int(decided)} of them decided (see the table)."
    coverage, turnout = view.coverage, view.turnout
    expected = coverage.get("expected")
    counted = (
        f"{fmt_int(coverage.get('counted'))} of {fmt_int(expected)} tallies counted"
        if expected
        else f"{fmt_int(coverage.get('counted'))} tallies counted"
    )
    ballots = (
        f"{fmt_int(turnout.get('total_votes'))} ballots: {fmt_int(turnout.get('valid_votes'))} "
        f"valid votes, {fmt_int(turnout.get('null_votes'))} null or over votes, "
        f"{fmt_int(turnout.get('blank_votes'))} blank or under votes"
    )
    share = turnout.get("turnout")
    turnout_text = f"; turnout {fmt_pct(share)}" if share is not None and view.vote_for == 1 else ""
    return f"{where} ({seats}). {status} {counted}; {ballots}{turnout_text}."


def _first_two(by_state: pl.DataFrame) -> pl.DataFrame:
    """Per unit: the first and second candidates and their shares."""
    return (
        by_state.filter(pl.col("rank") <= 2)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .pivot(on="rank", index=["unit_code", "unit_name"], values=["candidate_name", "share"])
        .sort("unit_code")
    )


def contest_section(view: ContestView, number: int, top_level: str | None) -> Section:
    figures = [charts.national_chart(view.national, title=view.name)]
    tables = [
        table(
            view.national,
            [
                ("rank", "Rank", fmt_text),
                ("candidate_name", "Candidate", fmt_text),
                ("votes", "Votes", fmt_int),
                ("share", "Share", fmt_pct),
            ],
        )
    ]
    if view.level != "national" and view.status.height:
        tables.append(
            table(
                view.status,
                [
                    ("unit_name", view.level.capitalize(), fmt_text),
                    ("leaders", "Leading", fmt_text),
                    ("margin", "Margin", fmt_int),
                    ("status", "Status", fmt_text),
                    ("counted", "Tallies counted", fmt_int),
                    ("expected", "Expected", fmt_int),
                ],
                caption=f"By {view.level} district",
            )
        )
    if top_level is not None and not view.by_state.is_empty():
        figures.append(charts.states_chart(view.by_state, view.national, top_level))
        wide = _first_two(view.by_state)
        columns = [
            ("unit_code", "Code", fmt_text),
            ("unit_name", top_level.capitalize(), fmt_text),
            ("candidate_name_1", "First", fmt_text),
            ("share_1", "Share", fmt_pct),
            ("candidate_name_2", "Second", fmt_text),
            ("share_2", "Share", fmt_pct),
        ]
        tables.append(
            table(
                wide,
                [c for c in columns if c[0] in wide.columns],
                caption=f"By {top_level}",
            )
        )
    return Section(f"contest-{number}", view.name, _contest_note(view), figures, tables)


def others_section(data: ReportData) -> Section | None:
    frame = data.other_contests
    if frame is None:
        return None
    frame = frame.with_columns(
        pl.when(pl.col("level") == "national")
        .then(pl.lit("whole election"))
        .otherwise(pl.format("{} {}", pl.col("level"), pl.col("unit_name")))
        .alias("district")
    )
    contests = frame["contest_id"].n_unique()
    search = (
        f'<p class="filter"><label for="{FILTER_ID}">Filter</label> '
        f'<input type="search" id="{FILTER_ID}" autocomplete="off" '
        'placeholder="contest, district, candidate or status"> '
        f'<span id="{COUNT_ID}" aria-live="polite">{fmt_int(frame.height)} rows</span></p>'
    )
    return Section(
        "contests",
        f"Every other contest ({fmt_int(contests)})",
        f"{_plural(contests, 'contest')} in {_plural(frame.height, 'district')}, one row each "
        "(contest_status): the leaders up to the seats, the margin between the last winner and "
        "the first loser, and the status. Decided means the margin exceeds every ballot that "
        "could still arrive, by arithmetic; never by statistics. Type in the box to filter.",
        [],
        [
            search,
            table(
                frame,
                [
                    ("contest_name", "Contest", fmt_text),
                    ("contest_id", "Id", fmt_text),
                    ("district", "District", fmt_text),
                    ("leaders", "Leading", fmt_text),
                    ("margin", "Margin", fmt_int),
                    ("status", "Status", fmt_text),
                    ("counted", "Counted", fmt_int),
                    ("expected", "Expected", fmt_int),
                ],
                table_id=TABLE_ID,
            ),
        ],
    )


def header_facts(data: ReportData) -> list[tuple[str, str, str]]:
    """The header's cards for a general election: contests, then its first main contest."""
    lead = data.contests[0]
    leader = lead.national.row(0, named=True) if lead.national.height else {}
    expected, counted = lead.coverage.get("expected"), lead.coverage.get("counted")
    return [
        ("Contests", fmt_int(data.contest_count), f"{fmt_int(data.decided_count)} decided"),
        (
            f"Leading · {lead.name}",
            fmt_text(leader.get("candidate_name")),
            fmt_pct(leader.get("share")),
        ),
        (
            "Tallies counted",
            f"{fmt_int(counted)} of {fmt_int(expected)}",
            fmt_pct(counted / expected if expected else None),
        ),
        (
            "Turnout",
            fmt_pct(lead.turnout.get("turnout")),
            lead.name
            if lead.turnout.get("turnout") is not None
            else "registered voters not in feed",
        ),
    ]
