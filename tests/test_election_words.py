"""The election's own words: a hand-written election whose levels are region > district >
precinct gets its summary, projection, forensic texts and report in those words, never
"state" or "centre"."""

from pathlib import Path

import pytest

from warehouse.db import connect

pytestmark = [
    pytest.mark.e2e,  # runs the CLI end to end (in this process)
    pytest.mark.usefixtures("vega_bundle_once"),
]

ELECTION = """
id = "isles"
name = "Isles referendum"
levels = ["region", "district", "precinct"]
expected_tallies = 40
candidates = [{ id = "YES", name = "Yes" }, { id = "NO", name = "No" }]
"""
CONTRACT = """
id = "commission"
source = { id = "commission", kind = "official", name = "Election commission" }

[file]
pattern = "precincts_*.csv"

[codes.precinct]
column = "precinct"

[codes.district]
level = "precinct"
slice = [0, 4]

[codes.region]
level = "precinct"
slice = [0, 2]

[names]
region = "region_name"

[counts]
registered = "voters"
valid_votes = "valid"
null_votes = "nulls"

[candidates.columns]
YES = "yes"
NO = "no"
"""


def _feed() -> str:
    """3 regions x 2 districts x 6 precincts, turnout near 60 %; one precinct at 98 %."""
    lines = ["precinct,region_name,voters,valid,nulls,yes,no"]
    for r in range(1, 4):
        for d in range(1, 3):
            for p in range(1, 7):
                code = f"{r:02d}{d:02d}{p:02d}"
                voters = 500 + 7 * p
                valid = 490 if code == "010106" else 290 + 3 * p
                yes = valid * (50 + r + p) // 100
                lines.append(f"{code},Region {r},{voters},{valid},0,{yes},{valid - yes}")
    return "\n".join(lines) + "\n"


def test_an_election_speaks_its_own_level_names(tmp_path: Path, tallyhouse):
    root = tmp_path / "elections"
    (root / "isles" / "contracts").mkdir(parents=True)
    (root / "isles" / "election.toml").write_text(ELECTION)
    (root / "isles" / "contracts" / "commission.toml").write_text(CONTRACT)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "precincts_1.csv").write_text(_feed())
    data = tmp_path / "data"
    done = tallyhouse(
        "run", "--election", "isles", "--elections-dir", str(root),
        "--landing", str(landing), "--data-dir", str(data),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    query = f"tallyhouse query --data-dir {data} \"select * from results where level = 'region'\""
    assert query in out and "'state'" not in out

    with connect(data / "marts.duckdb", read_only=True) as con:
        methods = {r[0] for r in con.sql("select distinct method from projection").fetchall()}
        forensics = con.sql(
            "select check_id, check_name, level, detail from forensics where check_id = 'F2'"
        ).fetchall()
        results = con.sql("select count(*) from results where level = 'region'").fetchall()[0][0]
    assert results > 0
    assert methods and all("stratified by region" in m for m in methods), methods
    flagged = [f for f in forensics if f[2] == "precinct"]
    assert flagged, "the 98 % precinct is flagged by F2"
    for _check, name, _level, detail in forensics:
        assert name == "precinct far outside its district"
        assert "centre" not in detail and "state" not in detail, detail
    assert "other tallies of district 0101" in flagged[0][3]
    summary = next(f[3] for f in forensics if f[2] == "national")
    assert "district(s) of at least 4 tallies" in summary and "their district" in summary

    html = data / "report.html"
    env = {"TALLYHOUSE_ELECTIONS_DIR": str(root)}  # report takes the folder from there
    made = tallyhouse("report", "--out", str(html), "--data-dir", str(data), env=env)
    assert made.returncode == 0, made.stderr
    page = html.read_text()
    assert "Results by region" in page and "district 0101" in page
    assert "centre" not in page.lower().replace("center", ""), "the report says centre"
