"""Feed contracts: parsing is strict, applying is exact; a new feed needs no code."""

import re
import tomllib
from dataclasses import replace

import pytest

from landing.files import read_feed
from tests.conftest import published, run
from transforms.contract import ContractError, apply_contract, parse_contract
from transforms.model import Candidate, Election

ELECTION = Election(
    id="mini",
    name="Mini",
    levels=("region", "station"),
    candidates=(Candidate("A", "Ana"), Candidate("B", "Beto")),
    expected_tallies=4,
)
ELECTION_TOML = """
id = "mini"
name = "Mini Republic"
levels = ["region", "station"]
expected_tallies = 4
candidates = [{ id = "A", name = "Ana" }, { id = "B", name = "Beto" }]
"""
# A feed nobody here designed: semicolons, Latin-1, two title lines, one row per candidate,
# a composite station code, and an embedded subtotal row per region.
CONTRACT_TOML = """
id = "observers"
source = { id = "observers", kind = "observer", name = "Observer mission" }

[file]
pattern = "obs_*.txt"
separator = ";"
encoding = "latin-1"
skip_lines = 2

[codes.station]
parts = [
    { column = "Code", split = "-", take = [0] },
    { column = "Code", split = "-", take = [1], pad = 3 },
]
separator = "."

[codes.region]
level = "station"
slice = [0, 2]

[names]
region = { column = "Region", strip = '^Reg\\.\\s*' }

[counts]
valid_votes = { sum = ["Valid1", "Valid2"] }
null_votes = "Nulls"

[candidates]
layout = "long"
candidate_column = "Candidate"
votes_column = "Votes"
aliases = { "ANA P." = "A", "BETO Q." = "B" }

[[exclude]]
column = "Code"
matches = "(?i)^subtotal"
"""
FEED = (
    "Observer mission tally export\n"
    "generated 2024-07-29\n"
    "Code;Region;Candidate;Votes;Valid1;Valid2;Nulls\n"
    "10-1;Reg. Peñas;ANA P.;30;40;10;1\n"
    "10-1;Reg. Peñas;BETO Q.;20;40;10;1\n"
    "10-2;Reg. Peñas;ANA P.;5;5;10;0\n"
    "10-2;Reg. Peñas;BETO Q.;10;5;10;0\n"
    "SUBTOTAL 10;Reg. Peñas;ANA P.;35;45;20;1\n"
    "20-7;Reg. Sur;ANA P.;1;1;2;0\n"
    "20-7;Reg. Sur;BETO Q.;2;1;2;0\n"
)


def contract(text: str = CONTRACT_TOML):
    return parse_contract(tomllib.loads(text), ELECTION, "observers")


def test_a_new_feed_needs_only_a_contract(tmp_path):
    path = tmp_path / "obs_1.txt"
    path.write_bytes(FEED.encode("latin-1"))
    applied = apply_contract(read_feed(path, contract()), contract(), ELECTION)
    assert applied.excluded == 1
    rows = applied.tallies.sort("station_code").to_dicts()
    assert [r["station_code"] for r in rows] == ["10.001", "10.002", "20.007"]
    assert [r["region_code"] for r in rows] == ["10", "10", "20"]
    assert rows[0]["region_name"] == "Peñas"
    assert [(r["A"], r["B"], r["valid_votes"], r["null_votes"]) for r in rows] == [
        ("30", "20", "50", "1"),
        ("5", "10", "15", "0"),
        ("1", "2", "3", "0"),
    ]
    assert rows[0]["registered"] is None, "a field the contract does not map stays absent"


def observer_election(tmp_path, settings, feed: str = FEED):
    """The mini election in its own elections folder, its feed landed: settings to run it."""
    elections = tmp_path / "elections"
    (elections / "mini" / "contracts").mkdir(parents=True)
    (elections / "mini" / "election.toml").write_text(ELECTION_TOML)
    (elections / "mini" / "contracts" / "observers.toml").write_text(CONTRACT_TOML)
    landing = tmp_path / "obs_landing"
    landing.mkdir()
    (landing / "obs_1.txt").write_bytes(feed.encode("latin-1"))
    return replace(settings, election="mini", landing_dir=landing, elections_dir=elections)


@pytest.mark.e2e
def test_the_contract_runs_end_to_end_from_an_elections_folder(settings, tmp_path):
    mini = observer_election(tmp_path, settings)
    assert run(mini).success
    totals = published(mini, "select candidate_id, votes from results where level = 'national'")
    assert dict(totals.iter_rows()) == {"A": 36, "B": 32}
    left_out = published(mini, "select count(*) from results where unit_code like 'SUB%'")
    assert left_out.item() == 0
    coverage = published(mini, "select counted, expected from coverage where level = 'national'")
    assert coverage.row(0) == (3, 4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "observer"', 'kind = "rumour"'), "observers.source.kind: 'rumour' is not"),
        (('encoding = "latin-1"', 'encoding = "ebcdic"'), "observers.file.encoding"),
        (
            ('[codes.region]\nlevel = "station"\nslice = [0, 2]\n', ""),
            "observers.codes: no code for level(s) region",
        ),
        (
            ('null_votes = "Nulls"', 'nul_votes = "Nulls"'),
            "observers.counts: unknown field(s) nul_votes",
        ),
        (('matches = "(?i)^subtotal"', 'matches = "("'), "observers.exclude[0].matches"),
        (('pattern = "obs_*.txt"', ""), "observers.file: missing key 'pattern'"),
        (
            ('aliases = { "ANA P." = "A", "BETO Q." = "B" }', 'aliases = { "ANA P." = "Z" }'),
            "observers.candidates.aliases: unknown candidate",
        ),
    ],
)
def test_an_invalid_contract_is_refused_naming_the_key(change, message):
    old, new = change
    assert old in CONTRACT_TOML
    with pytest.raises(ContractError, match=re.escape(message)):
        contract(CONTRACT_TOML.replace(old, new))


def test_jsonl_feeds_and_wide_sums(tmp_path):
    text = """
id = "jl"
source = { id = "jl", kind = "official" }
file = { pattern = "*.jsonl", format = "jsonl" }
codes = { station = "station", region = { level = "station", slice = [0, 1] } }
counts = { valid_votes = "valid" }
candidates = { columns = { A = "a", B = { sum = ["b1", "b2"] } } }
"""
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"station": "N1", "valid": 9, "a": 4, "b1": 2, "b2": 3}\n'
        '{"station": "S1", "valid": 1, "a": 1, "b1": 0, "b2": 0}\n'
    )
    jl = parse_contract(tomllib.loads(text), ELECTION, "jl")
    rows = apply_contract(read_feed(path, jl), jl, ELECTION).tallies.to_dicts()
    assert [(r["region_code"], r["A"], r["B"], r["valid_votes"]) for r in rows] == [
        ("N", "4", "5", "9"),
        ("S", "1", "0", "1"),
    ]


TABLE_ONLY = """
id = "tables_only"
source = { id = "tables_only", kind = "qr-decoded" }
levels = ["table"]   # the feed names the table alone; the registry places it
file = { pattern = "tallies_*.csv" }
codes = { table = "table_code" }
counts = { valid_votes = "valid_votes", null_votes = "null_votes" }

[candidates.columns]
c01 = "c01"
c02 = "c02"
c03 = "c03"
c04 = "c04"
c05 = "c05"
c06 = "c06"
c07 = "c07"
c08 = "c08"
c09 = "c09"
c10 = "c10"
"""


@pytest.mark.e2e
def test_a_feed_carrying_only_the_table_is_placed_by_the_registry(settings, sample, tmp_path):
    from warehouse.configs import shipped_elections

    elections = tmp_path / "elections"
    (elections / "sample" / "contracts").mkdir(parents=True)
    election_toml = (shipped_elections() / "sample" / "election.toml").read_text()
    (elections / "sample" / "election.toml").write_text(election_toml)
    (elections / "sample" / "contracts" / "tables_only.toml").write_text(TABLE_ONLY)
    placed = replace(settings, elections_dir=elections)
    assert run(placed).success
    states = published(
        placed, "select unit_code, candidate_id, votes from results where level = 'state'"
    )
    truth = sample.truth["states"]
    for state, candidate, votes in states.iter_rows():
        assert votes == truth[state]["candidates"][candidate]
    assert len({s for s, _, _ in states.iter_rows()}) == len(truth)


def test_a_feed_short_of_levels_needs_a_registry(tmp_path):
    from warehouse.configs import load_election

    folder = tmp_path / "mini"
    (folder / "contracts").mkdir(parents=True)
    (folder / "election.toml").write_text(ELECTION_TOML)
    short = CONTRACT_TOML.replace("[file]", 'levels = ["station"]\n[file]').replace(
        '[codes.region]\nlevel = "station"\nslice = [0, 2]\n', ""
    )
    short = short.replace("region = { column = \"Region\", strip = '^Reg\\.\\s*' }", "")
    (folder / "contracts" / "observers.toml").write_text(short)
    with pytest.raises(
        ContractError, match="does not carry region, and election 'mini' has no registry"
    ):
        load_election("mini", tmp_path)
