"""A contract's long-layout aliases take the other spellings of their labels that a file uses
(case, spaces and punctuation aside, as contests and declared candidates are matched), never a
label that is an alias or a candidate as written, never one two targets could claim.
(tests/test_foreign_general_feeds2.py runs a Clarity export whose later file spells its count
rows its own way: without this, its precincts are quarantined and the run holds.)"""

import tomllib

from landing.files import read_feed
from tests.test_contracts import CONTRACT_TOML, ELECTION, FEED, contract
from tests.test_foreign_general_feeds2 import US_CONTRACT, US_ELECTION
from transforms.contract import apply_contract, parse_contract, with_spellings
from transforms.contract_models import parse_election


def _general():
    election = parse_election(tomllib.loads(US_ELECTION), "election.toml")
    return election, parse_contract(tomllib.loads(US_CONTRACT), election, "clarity")


def test_each_spelling_of_an_aliased_label_takes_its_target():
    election, clarity = _general()
    labels = ["OVER VOTES", "over-votes", "Write-In", " Times  Cast ", "Jane Doe", "Over Votes"]
    spelt = with_spellings(clarity, labels, election).aliases
    assert {label: spelt.get(label) for label in labels} == {
        "OVER VOTES": "null_votes",
        "over-votes": "null_votes",
        "Write-In": "other_votes",
        " Times  Cast ": "total_votes",
        "Jane Doe": None,  # a candidate of its contest, as delivered
        "Over Votes": "null_votes",  # the contract's own
    }
    assert list(spelt)[: len(clarity.aliases)] == list(clarity.aliases), "its own come first"


def test_a_spelling_two_targets_could_claim_stays_as_delivered():
    election, clarity = _general()
    second = '"Write-in" = "other_votes"\n"WRITE IN" = "null_votes"'
    text = US_CONTRACT.replace('"Write-in" = "other_votes"', second)
    both = parse_contract(tomllib.loads(text), election, "clarity")
    spelt = with_spellings(both, ["write-in", "WRITE IN"], election).aliases
    assert "write-in" not in spelt, "write-in is either count: neither is guessed"
    assert spelt["WRITE IN"] == "null_votes", "an alias as written keeps its target"


def test_a_candidate_id_as_written_is_that_candidate_in_an_election_of_one_contest():
    ana = contract(CONTRACT_TOML.replace('"ANA P." = "A"', '"ANA P." = "A", "b" = "A"'))
    spelt = with_spellings(ana, ["B", "ana p", "Ana P."], ELECTION).aliases
    assert "B" not in spelt, "B is candidate B's id, whatever an alias spelt b says"
    assert spelt["ana p"] == "A" and spelt["Ana P."] == "A"


def test_a_file_spelling_a_candidate_its_own_way_counts_it(tmp_path):
    path = tmp_path / "obs_1.txt"
    respelt = FEED.replace("20-7;Reg. Sur;ANA P.", "20-7;Reg. Sur;Ana P")
    path.write_bytes(respelt.encode("latin-1"))
    applied = apply_contract(read_feed(path, contract()), contract(), ELECTION)
    station = applied.tallies.filter(applied.tallies["station_code"] == "20.007").row(0, named=True)
    assert (station["A"], station["B"]) == ("1", "2")
