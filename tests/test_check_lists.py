"""`tallyhouse check` says when it shows only part of a file's labels (it cut both lists at 12
silently), and counts rows an [[include]] leaves out as the row filters', not [[exclude]]'s."""

from landing.dry_run import CheckReport, FileCheck, Label
from reporting.terminal.check import format_check


def _report(file: FileCheck) -> list[str]:
    return format_check(CheckReport("e", "E", ("state",), "landing", 1000, (file,), ()))


def test_a_long_list_of_labels_says_how_many_more_there_are():
    labels = tuple(Label(f"Cand {i}", f"c{i}", 3) for i in range(15)) + tuple(
        Label(f"Odd {i}", None, 2) for i in range(13)
    )
    lines = _report(FileCheck("f.csv", "k", "s", rows_read=80, labels=labels))
    [known] = [line for line in lines if "candidate labels:" in line]
    [unknown] = [line for line in lines if "labels no alias maps:" in line]
    assert known.endswith("Cand 11 → c11, … 3 more") and "Cand 12" not in known
    assert unknown.endswith("Odd 11 (2 rows), … 1 more")
    short = _report(FileCheck("f.csv", "k", "s", labels=labels[:2]))
    assert not any("more" in line for line in short)


def test_rows_left_out_are_named_by_both_filters():
    lines = _report(FileCheck("f.csv", "k", "s", rows_read=10, rows_excluded=4))
    assert any("4 left out by the row filters ([[include]], [[exclude]])" in x for x in lines)
