"""A report table shows a unit's code and its name, but not the same value twice: where every
unit is named by its code (DC's wards "1" to "8"), the code column goes."""

import re

import polars as pl

from reporting.html.blocks import fmt_int, fmt_text, table

COLUMNS = [("unit_code", "Code", fmt_text), ("unit_name", "Ward", fmt_text), ("n", "n", fmt_int)]


def _headers(html: str) -> list[str]:
    return re.findall(r"<th[^>]*>([^<]*)</th>", html)


def test_units_named_by_their_codes_show_one_column():
    wards = pl.DataFrame({"unit_code": ["1", "2"], "unit_name": ["1", "2"], "n": [3, 4]})
    assert _headers(table(wards, COLUMNS)) == ["Ward", "n"]


def test_units_with_names_keep_both_and_a_missing_name_keeps_the_code():
    named = pl.DataFrame({"unit_code": ["1", "2"], "unit_name": ["North", "2"], "n": [3, 4]})
    assert _headers(table(named, COLUMNS)) == ["Code", "Ward", "n"]
    unnamed = pl.DataFrame({"unit_code": ["1", "2"], "unit_name": [None, "2"], "n": [3, 4]})
    shown = table(unnamed, COLUMNS)
    assert _headers(shown) == ["Code", "Ward", "n"] and "<td" in shown and ">1</td>" in shown
