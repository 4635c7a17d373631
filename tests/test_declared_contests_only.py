"""A general election that declares every contest and does not discover others
(`discover_contests = false`) may still read the contest from feed columns (`[contests]
columns`): a label that is a declared contest's id, name or alias is that contest, and any other
label (a misspelt office) is no contest: its rows count nowhere and break E8, which names the
label, the file and the row. Discovering, the same label would make a contest of its own.

The feed is Zurich's long file of tests/test_foreign_general_feeds.py (a vote-for-3 council and
a referendum, `Vorlage 1` being the referendum's alias), one Stimmbezirk's referendum rows
misspelt."""

import tomllib
from collections import Counter
from dataclasses import replace

import polars as pl
import pytest

from tests.conftest import published, run
from tests.test_foreign_general_feeds import (
    BEZIRKE,
    STADTRAT,
    VORLAGE,
    ZH_CONTRACT,
    ZH_ELECTION,
    landed,
    results_at,
    swiss_file,
)
from transforms.contract import apply_contract, parse_contract
from transforms.contract_models import parse_election

CLOSED = ZH_ELECTION.replace("discover_contests = true", "discover_contests = false")
MISSPELT, BEZIRK = "Vorlag 1", "0102"


def misspelt_file() -> bytes:
    """Zurich's file with BEZIRK's referendum rows labelled MISSPELT."""
    lines = swiss_file().decode().splitlines()
    wrong = [
        line.replace(";Vorlage 1;", f";{MISSPELT};") if line.split(";")[1] == BEZIRK else line
        for line in lines
    ]
    return ("\n".join(wrong) + "\n").encode()


def contest_ids(election_text: str, data: bytes) -> dict[str | None, int]:
    """contest_id → rows, of the file as the contract maps it."""
    election = parse_election(tomllib.loads(election_text), "election.toml")
    contract = parse_contract(tomllib.loads(ZH_CONTRACT), election, "wahlen")
    frame = pl.read_csv(data, separator=";", infer_schema=False).with_row_index("source_row", 1)
    tallies = apply_contract(frame, contract, election).tallies
    return dict(tallies.group_by("contest_id").len().iter_rows())


def test_a_closed_election_reads_its_contests_from_columns_and_names_no_other():
    opened = contest_ids(ZH_ELECTION, misspelt_file())
    closed = contest_ids(CLOSED, misspelt_file())
    assert opened.pop("vorlag-1") > 0  # discovering: a contest of its own
    assert closed.pop(None) == len(VORLAGE)  # closed: BEZIRK's referendum rows, no contest
    assert opened == closed
    spelt_right = contest_ids(CLOSED, swiss_file())
    per_unit = spelt_right["vorlage-1"] // len(BEZIRKE)  # the lines, each unit the same
    assert closed["vorlage-1"] == per_unit * (len(BEZIRKE) - 1)
    assert set(closed) == {"stadtrat", "vorlage-1"}


@pytest.mark.e2e
def test_a_misspelt_office_of_a_closed_election_is_quarantined_naming_it(settings, tmp_path):
    files = {"resultate_2026.csv": misspelt_file()}
    roomy = replace(settings, quarantine_threshold=1.0)  # 1 tally of 6: over the default
    zh = landed(roomy, tmp_path, "zh", CLOSED, {"wahlen": ZH_CONTRACT}, files)
    assert run(zh).success
    expected = Counter()
    for bezirk, (_, _, stadtrat, vorlage) in BEZIRKE.items():
        for contest, labels, lines in (
            ("stadtrat", STADTRAT, stadtrat),
            ("vorlage-1", VORLAGE, vorlage),
        ):
            if contest == "vorlage-1" and bezirk == BEZIRK:
                continue  # no contest: counted nowhere
            for label, n in zip(labels, lines, strict=True):
                line = "_other" if label == "Vereinzelte" else label
                expected[(contest, "national", "national", line)] += n
    found = results_at(zh, ("national",))
    assert {c for c, *_ in found} == {"stadtrat", "vorlage-1"}  # no contest of the misspelling
    lines = {k: v for k, v in expected.items() if k[3] not in VORLAGE[2:] + STADTRAT[5:]}
    assert {k: v for k, v in found.items() if k in lines} == lines
    issues = published(
        zh,
        "select rule_id, contest_id, tally_code, observed, file_name, source_row "
        "from quality_issues order by source_row",
    )
    assert set(issues["rule_id"]) == {"E8"}
    assert issues["contest_id"].is_null().all()
    assert set(issues["tally_code"]) == {BEZIRK}
    assert (
        issues["observed"]
        .str.contains(f"contest='{MISSPELT}' (none of the election's)", literal=True)
        .all()
    )
    assert set(issues["file_name"]) == {"resultate_2026.csv"}
    data_rows = misspelt_file().decode().splitlines()[1:]
    misspelt_rows = [i for i, line in enumerate(data_rows, 1) if f";{MISSPELT};" in line]
    assert len(misspelt_rows) == len(VORLAGE)
    assert issues["source_row"].to_list() == misspelt_rows[:1]  # one tally, at its first row
    coverage = published(
        zh, "select counted from coverage where contest_id = 'vorlage-1' and level = 'national'"
    )
    assert coverage["counted"].to_list() == [len(BEZIRKE) - 1]
