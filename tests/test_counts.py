"""Counts real feeds need: units without a list of registered voters, other (undeclared)
votes, long feeds without totals, and rows kept by [[include]]. Totals are exact."""

import json
import shutil
import tomllib
from dataclasses import replace

import polars as pl
import pytest

from landing.files import read_feed, write_synthetic
from reporting.html.write import write_report
from reporting.terminal.run_summary import print_summary
from tests.conftest import assert_same_marts, mart_snapshot, published, run
from tests.test_incremental import STEPS, hold_back, land_one_by_one, run_forced_full
from transforms.contract import ContractError, apply_contract, parse_contract
from transforms.model import Candidate, Election
from transforms.synthetic.election import generate
from warehouse.configs import shipped_elections
from warehouse.db import connect

COUNTY = Election(
    id="county",
    name="County",
    levels=("county", "precinct"),
    candidates=(Candidate("A", "Ana"), Candidate("B", "Beto")),
)
COUNTY_TOML = """
id = "county"
name = "County general"
levels = ["county", "precinct"]
candidates = [{ id = "A", name = "Ana" }, { id = "B", name = "Beto" }]
"""
# One row per precinct × candidate, as OpenElections publishes: no valid or total row; over
# and under votes and write-ins are rows of their own; other offices share the file.
LONG_CONTRACT = """
id = "openelections"
source = { id = "county", kind = "official" }

[file]
pattern = "oe_*.csv"

[codes]
county = "county"
precinct = "precinct"

[counts]

[candidates]
layout = "long"
candidate_column = "candidate"
votes_column = "votes"

[candidates.aliases]
"Ana" = "A"
"Beto" = "B"
"OVER VOTES" = "null_votes"
"UNDER VOTES" = "blank_votes"
"WRITE-IN" = "other_votes"

[[include]]
column = "office"
equals = "President"

[[exclude]]
column = "candidate"
matches = "(?i)^total"
"""
LONG_LAYOUT = LONG_CONTRACT[LONG_CONTRACT.index('layout = "long"') :].split("[[include]]")[0]
LONG_FEED = (
    "county,precinct,office,candidate,votes\n"
    "C1,P1,President,Ana,30\n"
    "C1,P1,President,Beto,20\n"
    "C1,P1,President,WRITE-IN,3\n"
    "C1,P1,President,OVER VOTES,2\n"
    "C1,P1,President,UNDER VOTES,1\n"
    "C1,P1,President,Total,56\n"
    "C1,P1,Senate,Xavier,99\n"
    "C1,P2,President,Ana,5\n"
    "C1,P2,President,Beto,10\n"
    "C1,P2,President,WRITE-IN,0\n"
    "C1,P2,President,OVER VOTES,1\n"
    "C1,P2,President,UNDER VOTES,4\n"
)


def _long_contract(text: str = LONG_CONTRACT):
    return parse_contract(tomllib.loads(text), COUNTY, "openelections")


def test_a_long_feed_without_totals_derives_valid_votes_from_its_rows(tmp_path):
    path = tmp_path / "oe_1.csv"
    path.write_text(LONG_FEED)
    applied = apply_contract(read_feed(path, _long_contract()), _long_contract(), COUNTY)
    rows = {r["precinct_code"]: r for r in applied.tallies.to_dicts()}
    assert (applied.rows_read, applied.excluded, applied.tallies.height) == (12, 2, 2)
    p1, p2 = rows["P1"], rows["P2"]
    assert (p1["A"], p1["B"], p1["other_votes"], p1["valid_votes"]) == ("30", "20", "3", "53")
    assert (p1["null_votes"], p1["blank_votes"], p1["total_votes"]) == ("2", "1", None)
    assert (p2["other_votes"], p2["valid_votes"], p2["null_votes"], p2["blank_votes"]) == (
        "0",
        "15",
        "1",
        "4",
    )


def test_valid_votes_mapped_to_the_votes_column_is_refused_in_one_line():
    text = LONG_CONTRACT.replace("[counts]\n", '[counts]\nvalid_votes = "votes"\n')
    with pytest.raises(ContractError) as caught:
        _long_contract(text)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("openelections.counts.valid_votes: 'votes' is the long layout's")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (  # the wide layout still needs valid votes
            LONG_LAYOUT,
            'layout = "wide"\ncolumns = { A = "a", B = "b" }\n\n',
            "openelections.counts: missing key 'valid_votes'",
        ),
        (
            "[counts]\n",
            '[counts]\nnull_votes = "over"\n',
            "openelections.candidates.aliases: null_votes is both mapped in [counts]",
        ),
        (
            '"WRITE-IN" = "other_votes"',
            '"WRITE-IN" = "turnout"',
            "openelections.candidates.aliases: unknown candidate(s) turnout",
        ),
        ('equals = "President"', 'matches = "(?<=x)"', "openelections.include[0].matches"),
    ],
)
def test_long_feed_mistakes_are_refused_naming_the_key(old, new, message):
    assert old in LONG_CONTRACT
    with pytest.raises(ContractError) as caught:
        _long_contract(LONG_CONTRACT.replace(old, new, 1))
    assert str(caught.value).startswith(message), str(caught.value)


def _county(tmp_path, settings, contract: str, feed: str, name: str = "oe_1.csv"):
    elections = tmp_path / "elections"
    (elections / "county" / "contracts").mkdir(parents=True)
    (elections / "county" / "election.toml").write_text(COUNTY_TOML)
    (elections / "county" / "contracts" / "feed.toml").write_text(contract)
    landing = tmp_path / "county_landing"
    landing.mkdir()
    (landing / name).write_text(feed)
    return replace(settings, election="county", landing_dir=landing, elections_dir=elections)


def _warehouse(settings, sql: str) -> pl.DataFrame:
    with connect(settings.warehouse, read_only=True) as con:
        return con.sql(sql).pl()


@pytest.mark.e2e
def test_a_long_feed_without_totals_publishes_exact_counts(settings, tmp_path):
    county = _county(tmp_path, settings, LONG_CONTRACT, LONG_FEED)
    assert run(county).success
    turnout = published(
        county,
        "select valid_votes, null_votes, blank_votes, total_votes from turnout "
        "where level = 'national'",
    )
    assert turnout.row(0) == (68, 3, 5, 76)
    results = published(
        county,
        "select candidate_id, candidate_name, votes, share, rank from results "
        "where level = 'national' order by candidate_id",
    )
    assert results.rows() == [
        ("A", "Ana", 35, 35 / 68, 1),
        ("B", "Beto", 30, 30 / 68, 2),
        ("_other", "Other candidates (not declared)", 3, 3 / 68, None),
    ]
    quarantined = _warehouse(county, "select count(*) from quality.quarantine").item()
    assert quarantined == 0, "derived valid votes agree with the rows (E3), totals with E4"
    delivery = _warehouse(
        county, "select rows_read, rows_used, rows_excluded, row_count from raw.deliveries"
    )
    assert delivery.row(0) == (12, 10, 2, 2)


# A national feed with special polling stations: `ln` (lista nominal) is 0 where the station
# has no list of registered voters. One ordinary station exceeds its list.
SPECIAL_TOML = """
id = "casillas"
source = { id = "ine", kind = "official" }

[file]
pattern = "mx_*.csv"

[codes]
county = "estado"
precinct = "casilla"

[counts]
registered = { column = "ln", absent_when = [0, ""] }
valid_votes = "validos"
null_votes = "nulos"
total_votes = "total"
other_votes = "no_registrados"

[candidates.columns]
A = "a"
B = "b"
"""
SPECIAL_FEED = (
    "estado,casilla,ln,a,b,no_registrados,validos,nulos,total\n"
    "01,0101B,100,40,30,2,72,3,75\n"  # with a list: turnout 75 %
    "01,0102S,0,300,200,10,510,5,515\n"  # special: no list, 515 ballots
    "01,0103S,,120,100,0,220,2,222\n"  # special, list left empty: no list either
    "02,0201B,50,30,25,0,55,1,56\n"  # exceeds its list (56 > 50): quarantined by E2
    "02,0202B,200,90,60,1,151,4,155\n"
)


@pytest.mark.e2e
@pytest.mark.usefixtures("vega_bundle_once")
def test_special_stations_count_every_vote_and_only_a_unit_over_its_list_is_stopped(
    settings, tmp_path, capsys
):
    settings = replace(settings, quarantine_threshold=0.5)  # 1 of 5 tallies is stopped
    mx = _county(tmp_path, settings, SPECIAL_TOML, SPECIAL_FEED, "mx_1.csv")
    assert run(mx).success
    stopped = _warehouse(
        mx,
        "select t.tally_code, i.rule_id from quality.quarantine q join staged.tallies t "
        "using (tally_id) join quality.issues i using (tally_id) order by 1, 2",
    )
    assert stopped.rows() == [("0201B", "E2")]
    national = published(
        mx,
        "select registered, valid_votes, null_votes, total_votes, turnout, units_without_list, "
        "votes_without_list from turnout where level = 'national'",
    )
    # registered and turnout over the stations with a list (0101B, 0202B); all ballots counted
    assert national.row(0) == (300, 72 + 510 + 220 + 151, 3 + 5 + 2 + 4, 75 + 515 + 222 + 155,
                               (75 + 155) / 300, 2, 515 + 222)  # fmt: skip
    votes = published(
        mx,
        "select candidate_id, votes, rank from results where level = 'national' order by 1",
    )
    assert votes.rows() == [("A", 550, 1), ("B", 390, 2), ("_other", 13, None)]
    specials = published(
        mx,
        "select unit_code, registered, turnout, units_without_list from turnout "
        "where level = 'precinct' and unit_code like '%S' order by 1",
    )
    assert specials.rows() == [("0102S", 0, None, 1), ("0103S", 0, None, 1)]
    print_summary(mx.published)
    printed = capsys.readouterr().out
    assert "\n    - Other candidates (not declared)" in printed, "never ranked"
    assert "turnout: 76.67 % (230 ballots, 300 registered)" in printed
    assert "units without a list of registered voters: 2, ballots 737 (not in turnout" in printed
    page = write_report(mx.published, tmp_path / "report.html").path.read_text()
    assert "2 units without a list: 737 ballots not in turnout" in page


def _other_votes_sample(tmp_path, settings):
    """The sample election in its own folder, its contract reading an other_votes column."""
    elections = tmp_path / "elections"
    (elections / "sample" / "contracts").mkdir(parents=True)
    shipped = shipped_elections() / "sample"
    shutil.copy(shipped / "election.toml", elections / "sample" / "election.toml")
    text = (shipped / "contracts" / "sample.toml").read_text()
    text = text.replace('"total_votes",\n', '"total_votes", "other_votes",\n')
    text = text.replace('total_votes = "total_votes"\n', 'total_votes = "total_votes"\n'
                        'other_votes = "other_votes"\n')  # fmt: skip
    assert text.count("other_votes") == 3
    (elections / "sample" / "contracts" / "sample.toml").write_text(text)
    return replace(settings, elections_dir=elections)


def test_the_generator_writes_unlisted_tables_and_other_votes_with_exact_truth():
    plain = generate(300, seed=5, drops=2)
    both = generate(300, seed=5, drops=2, unlisted=0.1, other_votes=True)
    feed = pl.concat(both.drops)
    assert "other_votes" in feed.columns and "other_votes" not in pl.concat(plain.drops).columns
    national = both.truth["national"]
    without = feed.filter(pl.col("registered") == 0)
    assert national["units_without_list"] == without.height > 0
    assert national["votes_without_list"] == without["total_votes"].sum()
    assert national["other_votes"] == feed["other_votes"].sum() > 0
    assert national["valid_votes"] == national["other_votes"] + sum(national["candidates"].values())
    assert both.registry.filter(pl.col("registered") == 0).height == without.height
    # without the options, nothing moves: the same seed writes the same election
    again = generate(300, seed=5, drops=2, unlisted=0.0)
    assert again.truth == plain.truth and "units_without_list" not in plain.truth["national"]


@pytest.mark.e2e
def test_unlisted_tables_and_other_votes_publish_the_truth_incrementally_as_in_full(
    settings, tmp_path
):
    settings = _other_votes_sample(tmp_path, settings)
    sample = generate(400, seed=11, drops=3, unlisted=0.1, other_votes=True)
    write_synthetic(sample, settings.landing)
    drops, held = hold_back(settings, tmp_path)
    seen = land_one_by_one(settings, drops, held)
    assert seen[1:] == [dict.fromkeys(STEPS.values(), "incremental")] * 2
    one_by_one = mart_snapshot(settings)
    truth = json.loads((settings.landing / "truth.json").read_text())["national"]
    national = published(
        settings,
        "select registered, valid_votes, total_votes, units_without_list, votes_without_list, "
        "turnout from turnout where level = 'national'",
    ).row(0, named=True)
    assert national == {
        "registered": truth["registered"],
        "valid_votes": truth["valid_votes"],
        "total_votes": truth["total_votes"],
        "units_without_list": truth["units_without_list"],
        "votes_without_list": truth["votes_without_list"],
        "turnout": pytest.approx(
            (truth["total_votes"] - truth["votes_without_list"]) / truth["registered"]
        ),
    }
    other = published(
        settings, "select votes, rank from results where level = 'national' and "
        "candidate_id = '_other'",
    )  # fmt: skip
    assert other.row(0) == (truth["other_votes"], None)
    assert published(settings, "select count(*) from results where rank is null").item() == (
        published(settings, "select count(*) from turnout").item()
    ), "one unranked line per unit: the other votes"
    assert run_forced_full(settings) == dict.fromkeys(STEPS.values(), "full")
    assert_same_marts(mart_snapshot(settings), one_by_one)


def test_derived_valid_votes_add_other_votes_from_a_column(tmp_path):
    text = LONG_CONTRACT.replace('"WRITE-IN" = "other_votes"\n', "").replace(
        "[counts]\n", '[counts]\nother_votes = "others"\n'
    )
    contract = _long_contract(text)
    path = tmp_path / "oe_1.csv"
    path.write_text(
        "county,precinct,office,candidate,votes,others\n"
        "C1,P1,President,Ana,30,4\n"
        "C1,P1,President,Beto,20,4\n"
        "C1,P1,President,OVER VOTES,2,4\n"
        "C1,P1,President,UNDER VOTES,1,4\n"
        "C1,P2,President,Ana,x,0\n"  # not a count: valid votes cannot be derived
        "C1,P2,President,Beto,1,0\n"
        "C1,P2,President,OVER VOTES,0,0\n"
        "C1,P2,President,UNDER VOTES,0,0\n"
    )
    rows = apply_contract(read_feed(path, contract), contract, COUNTY).tallies.to_dicts()
    by_code = {r["precinct_code"]: r for r in rows}
    assert (by_code["P1"]["valid_votes"], by_code["P1"]["other_votes"]) == ("54", "4")
    assert by_code["P2"]["valid_votes"] == "", "missing (E8), never a partial sum"


def test_absent_when_marks_units_without_a_list_and_keeps_empty_cells_missing(tmp_path):
    election = Election("county", "County", ("county", "precinct"), COUNTY.candidates)
    text = SPECIAL_TOML.replace('absent_when = [0, ""]', "absent_when = 0")
    contract = parse_contract(tomllib.loads(text), election, "casillas")
    path = tmp_path / "mx_1.csv"
    path.write_text(SPECIAL_FEED)
    rows = apply_contract(read_feed(path, contract), contract, election).tallies
    got = rows.select("precinct_code", "registered", "no_list").rows()
    assert got == [
        ("0101B", "100", None),
        ("0102S", None, "1"),  # no list: absent, never judged
        ("0103S", "", None),  # empty and not declared absent: missing (rule E8)
        ("0201B", "50", None),
        ("0202B", "200", None),
    ]
    with pytest.raises(ContractError, match=r"casillas\.counts\.registered"):
        wrong = text.replace("absent_when = 0", "absent_when = true")
        parse_contract(tomllib.loads(wrong), election, "casillas")
