"""`tallyhouse results`' unit titles, in memory: level, code and name each said once (DC 2016
names its precincts and districts by their codes), the parent when it says something, and an
unranked line with a dash."""

import re

from reporting.terminal.tables import format_unit

TWICE = re.compile(r"(?<!\S)(\S+)\s+\1(?!\S)", re.I)  # a word or number, then itself again


def unit_rows(level: str, code: str, name: str | None, parent: str | None) -> list[dict]:
    head = {
        "source_id": "precinct",
        "contest_id": "anc-1a01",
        "level": level,
        "unit_code": code,
        "unit_name": name,
        "parent_code": parent,
        "turnout": None,
        "total_votes": 722,
        "registered": None,
        "expected": None,
        "counted": 1,
        "percent_reporting": None,
    }
    return [
        {**head, "rank": 1, "candidate_name": "Valerie Baron", "votes": 400, "share": 0.6144},
        {**head, "rank": None, "candidate_name": "Other candidates", "votes": 5, "share": 0.0077},
    ]


def title(level, code, name, parent, contest=True) -> str:
    return format_unit(unit_rows(level, code, name, parent), contest).splitlines()[0]


def test_a_unit_named_by_its_code_is_said_once():
    assert title("smd", "1A01", "1A01", "1") == "[precinct] anc-1a01 smd 1A01, in 1"
    assert title("ward", "1", "1", "national") == "[precinct] anc-1a01 ward 1"
    assert title("precinct", "41", "41", "1", contest=False) == "[precinct] precinct 41, in 1"


def test_the_national_unit_is_said_once_whatever_its_name():
    named = "[precinct] anc-1a01 national District of Columbia 2016"
    assert title("national", "national", "District of Columbia 2016", None) == named
    assert title("national", "national", "National", None) == "[precinct] anc-1a01 national"
    assert title("national", "national", None, None) == "[precinct] anc-1a01 national"


def test_a_named_unit_keeps_code_and_name_and_no_title_repeats_a_word():
    assert title("state", "01", "Estado Vaguabe", "national") == (
        "[precinct] anc-1a01 state 01 Estado Vaguabe"
    )
    for level, code, name, parent in [
        ("smd", "1A01", "1A01", "1"),
        ("ward", "1", "1", "national"),
        ("national", "national", "national", None),
        ("state", "01", "01", "national"),
    ]:
        assert not TWICE.search(title(level, code, name, parent))


def test_the_unranked_line_shows_a_dash_not_null():
    printed = format_unit(unit_rows("ward", "1", "1", "national"))
    assert "null" not in printed
    assert re.search(r"^ +- +Other candidates +5 +0\.77 %$", printed, re.M), printed
