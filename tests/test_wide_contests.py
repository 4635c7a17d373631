"""A general election delivered wide (one row per station, a group of columns per contest):
read by pattern or by declared groups, it stages exactly as the same election written long, and
publishes every contest's exact figures. The shipped example is elections/wide_general."""

import csv
import io
import re
import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from landing.dry_run import _delivery
from landing.files import joined_header, read_feed
from tests.conftest import published, run
from transforms.contest_groups import GROUP_SPAN
from transforms.contests import stage_general
from transforms.contract import apply_contract, header_problems, parse_contract
from warehouse.configs import load_election, shipped_elections

SHIPPED = shipped_elections() / "wide_general"
WIDE = SHIPPED / "sample" / "stations_1.csv"
HEADER_CELL = re.compile(r"^([A-Z0-9]+)_(.+)$")

# The same election as a long feed: one row per station, contest and line, null and blank votes
# as labelled rows, no row for a contest or a candidate not on the station's ballot.
LONG_CONTRACT = """
id = "long"
source = { id = "long", kind = "official" }
[file]
pattern = "long_*.csv"
[codes]
state = "state"
station = "station"
[counts]
registered = "registered"
[candidates]
layout = "long"
candidate_column = "candidate"
votes_column = "votes"
aliases = { "NULL" = "null_votes", "BLANK" = "blank_votes" }
[contests]
columns = ["office"]
[[contests.rule]]
column = "office"
matches = '^COUNCIL([0-9]+)$'
level = "council"
seats = 1
"""

# The wide feed's groups declared one by one, two of them: the others come from the pattern.
DECLARED = """
[[contests.group]]
contest = "PRES"
counts = { null_votes = "PRES_NULL", blank_votes = "PRES_BLANK" }
candidates = { ANA = "PRES_ANA", "Beto Quiroga" = "PRES_BETO" }

[[contests.group]]
contest = "REF"
counts = { null_votes = "REF_NULL" }
candidates = { YES = "REF_YES", NO = "REF_NO" }
"""

# What the sample's 5 stations add up to, by hand from the CSV.
EXPECTED = {
    "president": {"ana": 240, "beto": 260},
    "governor": {"XAVIER": 105, "YOLANDA": 110, "ZOE": 135, "WALTER": 139},
    "ref": {"YES": 155, "NO": 110},
    "council1": {"CARLA": 133, "DIEGO": 162},
    "council2": {"ELENA": 88, "FELIX": 85},
}


def long_form(wide_text: str) -> str:
    """The wide feed rewritten long in plain Python: a row per non-empty contest cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["state", "station", "registered", "office", "candidate", "votes"])
    for row in csv.DictReader(io.StringIO(wide_text)):
        for column, value in row.items():
            hit = HEADER_CELL.match(column)
            if hit and value.strip():
                writer.writerow(
                    [row["state"], row["station"], row["registered"], *hit.groups(), value]
                )
    return out.getvalue()


def _staged(path: Path, contract, election) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The file read, mapped and staged as a run would: (tallies, votes) keyed by contest and
    station."""
    applied = apply_contract(read_feed(path, contract), contract, election)
    raw = applied.tallies.with_columns(pl.lit("f").alias("file_sha256"))
    staged = stage_general(raw, _delivery("f", contract, 1), election).staged
    counts = ["registered", "valid_votes", "null_votes", "blank_votes", "total_votes"]
    tallies = staged.tallies.select(
        "contest_id",
        "tally_code",
        "contest_district",
        *counts,
        "missing_or_unparsable",
        "candidate_sum",
    ).sort("contest_id", "tally_code")
    votes = (
        staged.votes.join(staged.tallies.select("tally_id", "tally_code"), on="tally_id")
        .select("contest_id", "tally_code", "candidate_id", "votes")
        .sort("contest_id", "tally_code", "candidate_id")
    )
    return tallies, votes


def _long_contract(election):
    return parse_contract(tomllib.loads(LONG_CONTRACT), election, "long")


def test_a_feed_grouped_by_pattern_stages_as_its_long_form(tmp_path):
    config = load_election("wide_general")
    election, wide = config.election, config.contracts[0]
    long_path = tmp_path / "long_1.csv"
    long_path.write_text(long_form(WIDE.read_text()))
    wide_tallies, wide_votes = _staged(WIDE, wide, election)
    long_tallies, long_votes = _staged(long_path, _long_contract(election), election)
    assert wide_tallies.equals(long_tallies)
    assert wide_votes.equals(long_votes)
    totals = wide_votes.group_by("contest_id", "candidate_id").agg(pl.col("votes").sum())
    found: dict = {}
    for cid, candidate, votes in totals.iter_rows():
        found.setdefault(cid, {})[candidate] = votes
    assert found == EXPECTED
    # a contest whose whole group is empty at a station is not on its ballot: no tally there
    on_ballot = dict(wide_tallies.group_by("contest_id").len().iter_rows())
    assert on_ballot == {"president": 5, "governor": 5, "ref": 3, "council1": 3, "council2": 2}
    districts = wide_tallies.filter(pl.col("contest_id").is_in(["council1", "governor"]))
    assert sorted(set(districts.select("contest_id", "contest_district").iter_rows())) == [
        ("council1", "1"),
        ("governor", "S1"),
        ("governor", "S2"),
    ]
    assert wide_tallies["missing_or_unparsable"].null_count() == wide_tallies.height


def test_declared_groups_and_a_pattern_together_read_the_same(tmp_path):
    config = load_election("wide_general")
    election, by_pattern = config.election, config.contracts[0]
    text = (SHIPPED / "contracts" / "stations.toml").read_text()
    # the declared groups go before the pattern, which then reads only the other columns
    text = text.replace("\n[[contests.pattern]]\n", DECLARED + "\n[[contests.pattern]]\n")
    declared = parse_contract(tomllib.loads(text), election, "declared")
    assert [g.contest for g in declared.contest_groups] == ["PRES", "REF"]
    for a, b in zip(
        _staged(WIDE, declared, election), _staged(WIDE, by_pattern, election), strict=True
    ):
        assert a.equals(b)


def test_a_count_read_as_a_candidate_column_by_alias():
    """`PRES_NULL` taken by the candidates pattern as candidate 'NULL', aliased to null votes,
    reads as a count pattern does."""
    config = load_election("wide_general")
    election, by_pattern = config.election, config.contracts[0]
    text = (SHIPPED / "contracts" / "stations.toml").read_text()
    text = re.sub(r"\n(null|blank)_votes = '[^']*'", "\n", text)
    text = text.replace(
        'layout = "grouped"',
        'layout = "grouped"\naliases = { NULL = "null_votes", BLANK = "blank_votes" }',
    )
    aliased = parse_contract(tomllib.loads(text), election, "aliased")
    assert aliased.contest_patterns[0].counts == {}
    for a, b in zip(
        _staged(WIDE, aliased, election), _staged(WIDE, by_pattern, election), strict=True
    ):
        assert a.equals(b)


def two_row_form(wide_text: str) -> str:
    """The wide feed with the contest above its candidates, as a spreadsheet's merged cells
    export: the contest's name over its first column only."""
    header, *rows = wide_text.splitlines()
    upper, lower, above = [], [], None
    for column in header.split(","):
        hit = HEADER_CELL.match(column)
        if not hit:
            upper.append(column)
            lower.append("")
            continue
        upper.append("" if hit[1] == above else hit[1])
        lower.append(hit[2])
        above = hit[1]
    return "\n".join([",".join(upper), ",".join(lower), *rows]) + "\n"


def test_a_two_row_header_reads_as_the_one_row_header(tmp_path):
    config = load_election("wide_general")
    election, one_row = config.election, config.contracts[0]
    path = tmp_path / "stations_1.csv"
    path.write_text(two_row_form(WIDE.read_text()))
    assert path.read_text().splitlines()[0].startswith("state,station,registered,PRES,,,,GOV,")
    text = (SHIPPED / "contracts" / "stations.toml").read_text()
    text = text.replace('pattern = "stations_*.csv"', 'pattern = "stations_*.csv"\nheader_rows = 2')
    text = text.replace("'^([A-Z0-9]+)_", "'^([^|]+)\\|")
    two_rows = parse_contract(tomllib.loads(text), election, "two_rows")
    assert two_rows.two_row_header and two_rows.contest_patterns[0].candidates == "^([^|]+)\\|(.+)$"
    assert read_feed(path, two_rows).columns[1:6] == [
        "state", "station", "registered", "PRES|ANA", "PRES|BETO",
    ]  # fmt: skip
    for a, b in zip(
        _staged(path, two_rows, election), _staged(WIDE, one_row, election), strict=True
    ):
        assert a.equals(b)


def test_joined_header_names():
    upper = ["", "state", "PRESIDENT", "", "", "registered", "GOV", ""]
    lower = ["station", "", "Ana", "Beto", "NULL", "", "X", "Y"]
    assert joined_header(upper, lower) == [
        "station", "state", "PRESIDENT|Ana", "PRESIDENT|Beto", "PRESIDENT|NULL", "registered",
        "GOV|X", "GOV|Y",
    ]  # fmt: skip


def test_empty_and_unparsable_cells_of_a_contest_on_the_ballot(tmp_path):
    """Some cells of a group empty: the contest is on the ballot and the empty cells are
    missing (rule E8), named with the file's row and the group's number."""
    config = load_election("wide_general")
    election, wide = config.election, config.contracts[0]
    bad = tmp_path / "stations_2.csv"
    header = WIDE.read_text().splitlines()[0]
    # station 6: Ana's cell empty (a declared candidate: missing), GOV_NULL not a number,
    # REF's group all empty (not on the ballot), COUNCIL1 given
    bad.write_text(header + "\nS2,6,100,,40,1,1,,,20,30,x,,,,10,12,,\n")
    tallies, votes = _staged(bad, wide, election)
    assert sorted(tallies["contest_id"]) == ["council1", "governor", "president"]
    notes = dict(tallies.select("contest_id", "missing_or_unparsable").iter_rows())
    assert notes["council1"] is None
    assert "null_votes='x'" in notes["governor"]
    assert notes["president"] == "ana=''"
    # a line of the ballot missing leaves the sum unknown (E8 says why; E3 judges no part-sum)
    sums = dict(tallies.select("contest_id", "candidate_sum").iter_rows())
    assert sums["president"] is None and sums["council1"] is not None
    ana = votes.filter(contest_id="president", candidate_id="ana")
    assert ana["votes"].to_list() == [None]
    rows = apply_contract(read_feed(bad, wide), wide, election).tallies
    assert sorted(rows["source_row"].unique()) == [
        1 * GROUP_SPAN + 1,
        1 * GROUP_SPAN + 2,
        1 * GROUP_SPAN + 4,
    ]


def test_a_candidate_spelt_differently_in_another_file_is_one(tmp_path):
    """A declared contest's candidate is matched by id, name or alias, case, spaces and
    punctuation aside; a label that is none of them is quarantined (E8, named)."""
    config = load_election("wide_general")
    election = config.election
    text = (
        "state,station,registered,office,candidate,votes\n"
        "S1,1,200,President,ANA PÉREZ,60\n"
        "S1,1,200,president,beto  quiroga,50\n"
        "S1,2,180,PRESIDENT,Ana,70\n"
        "S1,2,180,PRESIDENT,beto,40\n"
        "S1,2,180,PRESIDENT,Carlos,5\n"
    )
    path = tmp_path / "long_1.csv"
    path.write_text(text)
    tallies, votes = _staged(path, _long_contract(election), election)
    assert dict(votes.filter(tally_code="1").select("candidate_id", "votes").iter_rows()) == {
        "ana": 60,
        "beto": 50,
    }
    assert (
        "candidate='Carlos' (none of the contest's)"
        in tallies.filter(tally_code="2")["missing_or_unparsable"].item()
    )


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("state,station,registered,votes", "no column matches [[contests.pattern]]"),
        ("state,station,registered,PRES_ANA,PRES_NULL,GOV_NULL", "'GOV': count column(s) but no"),
    ],
)
def test_a_header_without_its_groups_is_drift(header, problem):
    contract = load_election("wide_general").contracts[0]
    found = header_problems(header.split(","), contract)
    assert found and problem in found and "\n" not in found


def test_a_pattern_never_takes_the_columns_the_contract_reads_elsewhere():
    election = load_election("wide_general").election
    text = (SHIPPED / "contracts" / "stations.toml").read_text()
    loose = parse_contract(
        tomllib.loads(text.replace("'^([A-Z0-9]+)_(.+)$'", "'^([^_]+)_(.+)$'")), election, "loose"
    )
    header = ["state_code", "state", "station", "registered", "PRES_ANA", "PRES_NULL"]
    loose = replace(loose, counts={**loose.counts, "total_votes": ("state_code",)})
    groups = loose.column_groups(header)
    assert [(g.contest, g.candidates, g.counts) for g in groups] == [
        ("PRES", {"ANA": ("PRES_ANA",)}, {"null_votes": ("PRES_NULL",)})
    ]


@pytest.mark.e2e
def test_the_wide_and_the_long_feed_publish_the_same_exact_results(settings, tmp_path):
    elections = tmp_path / "elections"
    shutil.copytree(SHIPPED, elections / "wide_general")
    (elections / "wide_general" / "contracts" / "long.toml").write_text(LONG_CONTRACT)
    with (elections / "wide_general" / "election.toml").open("a") as toml:
        toml.write("\n[quality]\nquarantine_threshold = 1\n")  # a delivery of 2 bad tallies
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(WIDE, landing / WIDE.name)
    (landing / "long_1.csv").write_text(long_form(WIDE.read_text()))
    # a later file: station 6 votes for president (Ana's cell empty) and governor (null 'x')
    header = WIDE.read_text().splitlines()[0]
    cells = dict.fromkeys(header.split(","), "")
    cells.update(state="S2", station="6", registered="100", PRES_BETO="40", PRES_NULL="1")
    cells.update(PRES_BLANK="1", GOV_ZOE="20", GOV_WALTER="30", GOV_NULL="x")
    bad = header + "\n" + ",".join(cells.values()) + "\n"
    (landing / "stations_2.csv").write_text(bad)
    (landing / "long_2.csv").write_text(long_form(bad))
    wide = replace(settings, election="wide_general", landing_dir=landing, elections_dir=elections)
    assert run(wide).success
    for source in ("stations", "long"):
        rows = published(
            wide,
            "select contest_id, candidate_id, votes from results "
            "where source_id = ? and level = 'national'",
            [source],
        )
        found: dict = {}
        for cid, candidate, votes in rows.iter_rows():
            found.setdefault(cid, {})[candidate] = votes
        assert found == EXPECTED, source
    for mart in ("results", "turnout", "coverage", "contest_status"):
        both = published(
            wide, f"select * exclude (source_id) from {mart} where source_id = ?", ["stations"]
        )
        other = published(
            wide, f"select * exclude (source_id) from {mart} where source_id = ?", ["long"]
        )
        keys = [c for c in both.columns]
        assert both.sort(keys).equals(other.sort(keys)), mart
    issues = published(
        wide,
        "select contest_id, rule_id, file_name, source_row, observed from quality_issues "
        "where severity = 'error' and source_id = 'stations' order by source_row",
    )
    # named by file, row (data row 1 × 1000 + the group's number) and field
    assert issues.select("contest_id", "rule_id", "file_name", "source_row").rows() == [
        ("president", "E8", "stations_2.csv", 1001),
        ("governor", "E8", "stations_2.csv", 1002),
    ]
    assert "ana=''" in issues["observed"][0] and "null_votes='x'" in issues["observed"][1]
    long_issues = published(
        wide,
        "select contest_id from quality_issues where severity = 'error' and source_id = 'long'",
    )
    assert sorted(long_issues["contest_id"]) == ["governor", "president"]
