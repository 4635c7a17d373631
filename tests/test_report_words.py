"""The report's words, in memory: which source it shows by default, announced bulletins by name
and judged in a sentence, labels in full, and empty tables said in a sentence."""

import re
import shutil

import duckdb
import polars as pl
import pytest

from reporting.html import charts
from reporting.html.announced import announced_section, named_bulletins, verdict
from reporting.html.blocks import fmt_int, table
from reporting.html.data import ReportError, choose_source
from reporting.html.outlook import outlook
from transforms.contract import ContractError
from warehouse.configs import load_election, shipped_elections


def coverage(*counted: tuple[str, int]) -> duckdb.DuckDBPyConnection:
    """A published file's coverage, nationally: (source, tallies counted) per source."""
    con = duckdb.connect()
    con.execute(
        "create table coverage (source_id varchar, contest_id varchar, level varchar, "
        "unit_code varchar, counted bigint)"
    )
    for source, n in counted:
        con.execute(
            "insert into coverage values (?, 'c', 'national', 'national', ?), "
            "(?, 'c', 'state', '01', ?)",
            [source, n, source, n * 10],  # a lower level never decides
        )
    return con


VENEZUELA = (
    ("opposition_long_headers", 24_532),
    ("opposition", 25_073),
    ("qr_decoded", 21_952),
    ("qr_decoded_totals", 8_037),
)


def test_the_default_source_has_the_most_tallies_counted_whatever_its_turnout():
    # the Venezuelan figures: the long-header copy of V1 has turnout, V2 has more tallies
    assert choose_source(coverage(*VENEZUELA)) == "opposition"
    assert choose_source(coverage(*VENEZUELA), primary="qr_decoded") == "opposition"


def test_a_tie_goes_to_the_primary_source_then_to_the_first_by_name():
    tied = coverage(("b_source", 100), ("a_source", 100), ("c_source", 99))
    assert choose_source(tied) == "a_source"
    assert choose_source(tied, primary="b_source") == "b_source"
    assert choose_source(tied, primary="c_source") == "a_source", "fewer tallies: no tie"
    assert choose_source(tied, primary="nosuch") == "a_source"


def test_no_national_coverage_is_a_clear_error():
    with pytest.raises(ReportError, match="no results yet"):
        choose_source(coverage())


def test_venezuela_names_the_opposition_its_primary_source():
    assert load_election("ve2024").election.primary_source == "opposition"
    assert load_election("sample").election.primary_source is None


def test_a_primary_source_no_contract_feeds_is_refused_in_one_line(tmp_path):
    shutil.copytree(shipped_elections() / "sample", tmp_path / "sample")
    config = tmp_path / "sample" / "election.toml"
    config.write_text(config.read_text() + '\nprimary_source = "cne"\n')
    with pytest.raises(ContractError) as caught:
        load_election("sample", tmp_path)
    assert str(caught.value) == (
        "sample/election.toml: primary_source: no contract feeds source 'cne'; sources: sample"
    )


def bulletin_row(**values) -> dict:
    row = {
        "announced_votes": 100,
        "tallied_votes": 60,
        "votes_needed": 40,
        "uncounted_capacity": 50,
        "uncounted_tallies": 5,
    }
    return {**row, **values}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {},
            "Could still be reached: needs 40 more votes; the 5 uncounted tallies hold at most "
            "50 ballots (it needs 80 % of them).",
        ),
        (
            {"uncounted_capacity": 39},
            "Cannot be reached: needs 40 more votes, but the 5 uncounted tallies hold at most 39 "
            "ballots.",
        ),
        (
            {"tallied_votes": 7_156_462, "announced_votes": 4_445_978, "votes_needed": 0},
            "Cannot be the final total: the counted tallies already give 2,710,484 votes more "
            "than announced.",
        ),
        (
            {"tallied_votes": 100, "votes_needed": 0},
            "Reached: the counted tallies give exactly the announced votes.",
        ),
        (
            {"uncounted_capacity": None, "uncounted_tallies": None},
            "Unknown: needs 40 more votes; how many ballots uncounted tallies could hold is not "
            "known.",
        ),
    ],
)
def test_each_announced_figure_is_judged_in_words_with_its_numbers(values, expected):
    assert verdict(bulletin_row(**values)) == expected


def announced_rows() -> pl.DataFrame:
    """announced_vs_tallied as ve2024 publishes it (V1 against the two CNE bulletins)."""
    return pl.DataFrame(
        {
            "bulletin_id": ["cne_1", "cne_1", "cne_2", "cne_2"],
            "bulletin": [
                "CNE first bulletin (80 % of tallies transmitted)",
                "CNE first bulletin (80 % of tallies transmitted)",
                "CNE second bulletin (96.87 % of tallies transmitted)",
                "CNE second bulletin (96.87 % of tallies transmitted)",
            ],
            "source_id": ["opposition"] * 4,
            "candidate_id": ["EG", "NM"] * 2,
            "candidate_name": ["Edmundo González", "Nicolás Maduro"] * 2,
            "announced_votes": [4_445_978, 5_150_092, 5_326_104, 6_408_844],
            "tallied_votes": [7_156_462, 3_241_461] * 2,
            "difference": [-2_710_484, 1_908_631, -1_830_358, 3_167_383],
            "uncounted_tallies": [5_494] * 4,
            "votes_needed": [0, 1_908_631, 0, 3_167_383],
            "uncounted_capacity": [2_387_392] * 4,
            "capacity_basis": ["counted turnout"] * 4,
            "possible": [False, True, False, False],
        }
    )


def test_the_announced_section_names_its_bulletins_and_says_what_is_possible():
    section = announced_section(announced_rows(), contests=False)
    page = "".join(section.tables)
    assert "cne_1" not in page and "cne_2" not in page
    assert page.count("CNE first bulletin (80 % of tallies transmitted)") == 2
    assert "Possible" not in page and ">no<" not in page, "no bare yes/no column"
    assert "Cannot be the final total: the counted tallies already give 2,710,484" in page
    assert (
        "Could still be reached: needs 1,908,631 more votes; the 5,494 uncounted tallies hold "
        "at most 2,387,392 ballots (it needs 80 % of them)." in page
    )
    assert "Cannot be reached: needs 3,167,383 more votes" in page
    assert "the ballots of an average counted tally" in section.note
    spec = section.charts[0].to_dict()
    assert "cne_1" not in str(spec), "the chart's panels are titled by name too"


def test_a_file_without_bulletin_names_falls_back_to_the_ids():
    frame = named_bulletins(announced_rows().drop("bulletin"))
    assert frame["bulletin_name"].to_list() == ["cne_1", "cne_1", "cne_2", "cne_2"]


def test_an_empty_table_is_a_sentence_not_headers():
    empty = pl.DataFrame({"check_id": []}, schema={"check_id": pl.String})
    html = table(empty, [("check_id", "Check", str)], caption="Flagged", empty="none was.")
    assert "<table" not in html and "<th" not in html
    assert html == '<p class="empty">Flagged: none was.</p>'
    full = table(pl.DataFrame({"n": [1_000]}), [("n", "N", fmt_int)])
    assert "<th" in full and "1,000" in full


LONG = "opposition_long_headers vs qr_decoded_totals"


def test_long_labels_are_wrapped_into_lines_never_cut():
    text = charts.wrapped(LONG)
    assert text.replace("\n", " ") == LONG
    assert all(len(line) <= charts.LABEL_WIDTH for line in text.split("\n"))
    assert charts.wrapped("x" * 70).replace("\n", "") == "x" * 70
    assert charts.wrapped(None) == "–"


def _y_axes(spec: dict) -> list[dict]:
    """Every y encoding of a chart spec, layers and facets included."""
    found = []
    for key, value in spec.items():
        if key == "encoding" and "y" in value:
            found.append(value["y"])
        if isinstance(value, dict):
            found += _y_axes(value)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found += _y_axes(item)
    return found


def test_two_pairs_of_one_source_read_apart_in_the_reconciliation_chart():
    pairs = pl.DataFrame(
        {
            "source_a": ["opposition_long_headers"] * 2,
            "source_b": ["qr_decoded", "qr_decoded_totals"],
            "agree": [21_917, 8_023],
            "differ": [7, 4],
            "only_in_a": [2_608, 16_505],
            "only_in_b": [28, 10],
        }
    )
    spec = charts.reconciliation_chart(pairs).to_dict()
    labels = {row[charts.LABEL] for row in spec["data"]["values"]}
    assert {label.replace("\n", " ") for label in labels} == {
        "opposition_long_headers vs qr_decoded",
        "opposition_long_headers vs qr_decoded_totals",
    }
    (axis,) = _y_axes(spec)
    assert axis["field"] == charts.LABEL and axis["axis"]["labelLimit"] == 0
    assert "split(datum.label" in axis["axis"]["labelExpr"]
    statuses = {row["status"] for row in spec["data"]["values"]}
    assert not any(re.search(r"_in_", s) for s in statuses), "the legend speaks words"


def candidates(*bounds: tuple[str, int, int]) -> list[dict]:
    """Projection rows: (name, worst_case_min, worst_case_max) per candidate."""
    return [
        {"candidate_id": n, "candidate_name": n, "worst_case_min": lo, "worst_case_max": hi}
        for n, lo, hi in bounds
    ]


def test_whether_each_candidate_can_still_win_is_said_with_the_numbers():
    # Venezuela's V2 against its worst-case bounds: the lead is not yet safe
    said = outlook(
        candidates(("González", 7_303_480, 11_429_329), ("Maduro", 3_316_142, 7_441_991),
                   ("Martínez", 86_225, 4_212_074))
    )  # fmt: skip
    assert said["González"] == (
        "Leads, not yet decided: 7,303,480 votes so far; Maduro could still reach 7,441,991."
    )
    assert said["Maduro"] == (
        "Could still win: up to 7,441,991 votes if every uncounted ballot went to Maduro, "
        "against the 7,303,480 González has so far."
    )
    assert outlook(candidates(("Ana", 600, 700), ("Ben", 300, 400)))["Ana"] == (
        "Wins whatever the uncounted tallies hold: 600 votes already, more than any other "
        "candidate could reach (400 at most)."
    )
    assert outlook(candidates(("Ana", 600, 700), ("Ben", 300, 400)))["Ben"] == (
        "Cannot win: at most 400 votes even with every uncounted ballot, fewer than the 600 Ana "
        "already has."
    )
    tie = outlook(candidates(("Ana", 600, 700), ("Ben", 300, 600)))
    assert tie["Ana"].startswith("Leads, not yet decided") and tie["Ben"].startswith("Could still")


def test_with_two_seats_the_candidate_to_pass_holds_the_second():
    said = outlook(
        candidates(("Ana", 900, 950), ("Ben", 500, 550), ("Cas", 450, 520), ("Dan", 100, 150)),
        seats=2,
    )
    assert said["Ana"].startswith("Wins whatever"), "nobody else can reach Ana's 900"
    assert said["Ben"].startswith("Could still win a seat") and "against the 450 Cas" in said["Ben"]
    assert said["Cas"].startswith("Could still win a seat") and "against the 500 Ben" in said["Cas"]
    assert said["Dan"] == (
        "Cannot win a seat: at most 150 votes even with every uncounted ballot, fewer than the "
        "500 Ben already has."
    )
