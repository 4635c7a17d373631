"""The election and contract models: every shipped configuration reads as it always did, every
invalid one is refused in one line naming the file, the key, what was expected and what came."""

import dataclasses
import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from tests.test_contracts import CONTRACT_TOML, ELECTION, ELECTION_TOML, TABLE_ONLY
from tests.test_edge_cases import JSONL
from transforms.contract import ContractError, parse_contract
from transforms.contract_models import CountsSpec, json_schemas, parse_election
from transforms.feed import COUNT_FIELDS
from warehouse.configs import load_election, shipped_elections

# What the hand-written parser produced for each configuration before the models replaced it
# (written by that parser; key order matters: it orders the levels built and the columns read).
SNAPSHOT = Path(__file__).parent / "snapshots" / "parsed_configs.json"


# Keys added with general elections: empty in every configuration of one contest.
GENERAL_KEYS = {
    "two_row_header",
    "contest_id",
    "contest_columns",
    "contest_rules",
    "contest_groups",
    "contest_patterns",
}
# ...and with sources above the polling units: None for a source at the polling units
GENERAL_KEYS |= {"source_level"}


# ...and keys added since with a default the snapshot's contracts all keep
NEW_DEFAULTS = {"compression": "none", "label_fallback": None, "label_parts": ()}
NEW_DEFAULTS |= {"repeat": None, "fill_down": ()}


def _asdict(contract) -> dict:
    found = {
        k: v
        for k, v in dataclasses.asdict(contract).items()
        if (k not in GENERAL_KEYS or v) and NEW_DEFAULTS.get(k, object()) != v
    }
    for spec in found["codes"].values():  # a fixed part (`value`) came later: none here
        for part in spec["parts"]:
            assert part.pop("value") is None
    return found


def _parsed_now() -> dict:
    out: dict = {}
    for eid in ("sample", "ve2024"):
        config = load_election(eid)
        out[f"election:{eid}"] = config.election.to_dict()
        out[f"announced:{eid}"] = config.announced
        for c in config.contracts:
            out[f"contract:{eid}/{c.id}"] = _asdict(c)
    for name, text, election in [
        ("observers", CONTRACT_TOML, ELECTION),
        ("jl", JSONL, ELECTION),
        ("tables_only", TABLE_ONLY, load_election("sample").election),
    ]:
        contract = parse_contract(tomllib.loads(text), election, name)
        out[f"contract:test/{name}"] = _asdict(contract)
    return out


def test_every_shipped_configuration_parses_as_before():
    before = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    now = json.loads(json.dumps(_parsed_now(), ensure_ascii=False))
    assert sorted(now) == sorted(before)
    for key in before:
        # compared as text so that the order of every table's keys is compared too
        assert json.dumps(now[key], ensure_ascii=False) == json.dumps(
            before[key], ensure_ascii=False
        ), key


# --- refusals: one line each, naming the key, what was expected and what came ------------------


def _refusal(text: str, name: str = "observers") -> str:
    with pytest.raises(ContractError) as caught:
        parse_contract(tomllib.loads(text), ELECTION, name)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message and "pydantic" not in message
    return message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "skip_lines = 2",
            'skip_lines = "abc"',
            "observers.file.skip_lines: expected a whole number, got 'abc'",
        ),
        (
            "skip_lines = 2",
            "skip_lines = -1",
            "observers.file.skip_lines: expected a number >= 0, got -1",
        ),
        ('separator = ";"', "separator = 5", "observers.file.separator: expected a string, got 5"),
        (
            'separator = ";"',
            'separator = ",,"',
            "observers.file.separator: expected a string of at most 1 character, got ',,'",
        ),
        (
            'separator = ";"',
            'separator = "¦"',
            "observers.file.separator: expected one ASCII character other than a quote or a line "
            "break, got '¦'",
        ),
        (
            "slice = [0, 2]",
            'slice = [0, "a"]',
            "observers.codes.region.slice[1]: expected a whole number, got 'a'",
        ),
        (
            "slice = [0, 2]",
            "slice = [2, 1]",
            "observers.codes.region.slice: expected [start, end] with start < end, got [2, 1]",
        ),
        (
            "skip_lines = 2",
            'skip_lines = 2\ncolumns = "abc"',
            "observers.file.columns: expected a list, got 'abc'",
        ),
        (
            "skip_lines = 2",
            'skip_lines = 2\ncolumns = ["a", "b", 3]',
            "observers.file.columns[2]: expected a string, got 3",
        ),
        (
            "skip_lines = 2",
            'skip_lines = 2\ncolumns = ["a", "a"]',
            "observers.file.columns: 'a' is listed twice",
        ),
        (
            'encoding = "latin-1"',
            'encoding = "ebcdic"',
            "observers.file.encoding: 'ebcdic' is not one of 'utf-8', 'utf-8-sig', 'latin-1', "
            "'windows-1250' or 'windows-1252'",
        ),
        (
            'encoding = "latin-1"',
            'encodng = "latin-1"',
            "observers.file: unknown key(s) encodng; allowed: pattern, format, separator, "
            "encoding, compression, skip_lines, header_rows, columns, thousands, fill_down, repeat",
        ),
        (
            'null_votes = "Nulls"',
            'null_votes = { sum = ["Nulls", 3] }',
            "observers.counts.null_votes.sum[1]: expected a string, got 3",
        ),
        (
            'null_votes = "Nulls"',
            "null_votes = 5",
            "observers.counts.null_votes: expected a column name or { sum = [columns] }, got 5",
        ),
        (
            'null_votes = "Nulls"',
            'nul_votes = "Nulls"',
            "observers.counts: unknown field(s) nul_votes; allowed: registered, valid_votes, "
            "null_votes, blank_votes, total_votes, other_votes",
        ),
        (
            '{ column = "Code", split = "-", take = [0] }',
            '{ column = "Code", take = [0] }',
            "observers.codes.station.parts[0]: 'take' needs 'split' (the separator to split on)",
        ),
        (
            '{ column = "Code", split = "-", take = [0] }',
            '{ column = "Code", level = "region" }',
            "observers.codes.station.parts[0]: give exactly one of 'column', 'level' or 'value'",
        ),
        (
            'level = "station"\nslice',
            'level = "nowhere"\nslice',
            "observers.codes.region: refers to unknown level 'nowhere'",
        ),
        (
            'level = "station"\nslice',
            'level = "region"\nslice',
            "observers.codes: levels region refer to each other in a circle",
        ),
        (
            'votes_column = "Votes"',
            "",
            "observers.candidates: missing key 'votes_column' (layout = \"long\")",
        ),
        (
            'matches = "(?i)^subtotal"',
            'matches = "(?i)^subtotal"\nequals = "x"',
            "observers.exclude[0]: give exactly one of 'equals' or 'matches'",
        ),
        (
            "[file]",
            'levels = ["region", "nope"]\n[file]',
            "observers.levels[1]: expected one of the election's levels (region, station), "
            "got 'nope'",
        ),
        (
            "[file]",
            'release = { number = "2" }\n[file]',
            "observers.release.number: expected a whole number, got '2'",
        ),
        (
            'id = "observers"\n',
            'id = "Observers"\n',
            "observers.id: expected an identifier (lower-case letter, then letters, digits or "
            "underscores, at most 63 characters), got 'Observers'",
        ),
        (
            'source = { id = "observers", kind = "observer", name = "Observer mission" }',
            'source = "observers"',
            "observers.source: expected a table, got 'observers'",
        ),
    ],
)
def test_an_invalid_contract_is_refused_in_one_line(old, new, message):
    assert old in CONTRACT_TOML
    assert _refusal(CONTRACT_TOML.replace(old, new, 1)) == message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('matches = "(?i)^subtotal"', "matches = '(?<=SUB)TOTAL'", "exclude[0].matches"),
        ("strip = '^Reg\\.\\s*'", "strip = '^Reg(?=\\.)'", "names.region.strip"),
    ],
)
def test_a_pattern_polars_cannot_run_is_refused_though_python_accepts_it(old, new, key):
    assert old in CONTRACT_TOML
    pattern = new.split("'")[1]
    re.compile(pattern)  # Python's engine would take it; polars' (Rust `regex`) does not
    assert _refusal(CONTRACT_TOML.replace(old, new)).startswith(
        f"observers.{key}: expected a regular expression polars can run (look-around, "
    )


def test_a_hostile_value_is_never_echoed_whole():
    huge = "\x1b[31m" + "x" * 100_000 + "\n"
    text = CONTRACT_TOML.replace('pattern = "obs_*.txt"', f"pattern = {json.dumps(huge)}")
    message = _refusal(text)
    assert message.startswith("observers.file.pattern: expected a string of at most 200 ")
    assert len(message) < 200 and "\x1b" not in message and "\\x1b" in message
    keys = CONTRACT_TOML.replace("[file]", "[file]\n" + "".join(f"k{i} = 1\n" for i in range(99)))
    assert _refusal(keys) == (
        "observers.file: unknown key(s) k0, k1, k2, k3, k4, …; allowed: pattern, format, "
        "separator, encoding, compression, skip_lines, header_rows, columns, thousands, "
        "fill_down, repeat"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'levels = ["region", "station"]',
            'levels = ["region", "national"]',
            "mini/election.toml: levels[1]: 'national' is implicit above the levels and must "
            "not be listed",
        ),
        (
            'levels = ["region", "station"]',
            'levels = "region"',
            "mini/election.toml: levels: expected a list, got 'region'",
        ),
        (
            "expected_tallies = 4",
            'expected_tallies = "4"',
            "mini/election.toml: expected_tallies: expected a whole number, got '4'",
        ),
        (
            "expected_tallies = 4",
            'expected_tallies = 4\nregistry = "../registry.csv"',
            "mini/election.toml: registry: expected a file name in the landing folder, "
            "got '../registry.csv'",
        ),
        (
            "expected_tallies = 4",
            "expected_tallies = 4\nexpected_tally = 4",
            "mini/election.toml: unknown key(s) expected_tally; allowed: id, name, levels, "
            "candidates, contest, discover_contests, districts, expected_tallies, "
            "primary_source, registry, names, quality, codes, ignore",
        ),
        (
            '{ id = "B", name = "Beto" }',
            '{ id = "A", name = "Beto" }',
            "mini/election.toml: candidates[1].id: 'A' is listed twice",
        ),
        (
            '{ id = "B", name = "Beto" }',
            '{ id = "B" }',
            "mini/election.toml: candidates[1]: missing key 'name'",
        ),
    ],
)
def test_an_invalid_election_is_refused_in_one_line_naming_the_file(tmp_path, old, new, message):
    folder = tmp_path / "mini"
    (folder / "contracts").mkdir(parents=True)
    assert old in ELECTION_TOML
    (folder / "election.toml").write_text(ELECTION_TOML.replace(old, new))
    (folder / "contracts" / "observers.toml").write_text(CONTRACT_TOML)
    with pytest.raises(ContractError) as caught:
        load_election("mini", tmp_path)
    assert str(caught.value) == message


def _mini(tmp_path, contract: str = CONTRACT_TOML, announced: str | None = None) -> Path:
    folder = tmp_path / "mini"
    (folder / "contracts").mkdir(parents=True)
    (folder / "election.toml").write_text(ELECTION_TOML)
    (folder / "contracts" / "observers.toml").write_text(contract)
    if announced is not None:
        (folder / "announced.toml").write_text(announced)
    return folder


def test_a_contract_read_from_its_folder_is_refused_naming_its_file(tmp_path):
    _mini(tmp_path, CONTRACT_TOML.replace("skip_lines = 2", "skip_lines = 2.5"))
    with pytest.raises(ContractError) as caught:
        load_election("mini", tmp_path)
    assert str(caught.value) == (
        "mini/contracts/observers.toml: file.skip_lines: expected a whole number, got 2.5"
    )


def test_a_file_that_is_not_toml_is_refused_naming_it(tmp_path):
    _mini(tmp_path, CONTRACT_TOML + "\nid = ")
    with pytest.raises(ContractError, match=r"^mini/contracts/observers.toml: not valid TOML \("):
        load_election("mini", tmp_path)


ANNOUNCED = """
[[bulletin]]
id = "first"
counted_share = 0.5
votes = { A = 5, B = 3 }
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "A = 5",
            "Z = 5",
            "mini/announced.toml: bulletin[0].votes: unknown candidate(s) Z; known: A, B",
        ),
        (
            "A = 5",
            'A = "5"',
            "mini/announced.toml: bulletin[0].votes.A: expected a whole number, got '5'",
        ),
        (
            "0.5",
            "1.5",
            "mini/announced.toml: bulletin[0].counted_share: expected a number <= 1.0, got 1.5",
        ),
    ],
)
def test_invalid_announced_totals_are_refused_when_read(tmp_path, old, new, message):
    _mini(tmp_path, announced=ANNOUNCED.replace(old, new))
    with pytest.raises(ContractError) as caught:
        load_election("mini", tmp_path)
    assert str(caught.value) == message


def test_announced_totals_are_kept_as_read(tmp_path):
    _mini(tmp_path, announced=ANNOUNCED)
    assert load_election("mini", tmp_path).announced == tomllib.loads(ANNOUNCED)


# --- the JSON Schema ----------------------------------------------------------------------------


def test_the_schemas_describe_every_key_and_accept_every_shipped_file():
    jsonschema = pytest.importorskip("jsonschema")
    schemas = json_schemas()
    assert sorted(schemas) == ["contract", "election"]
    shipped = shipped_elections()
    files = {
        "contract": sorted(shipped.glob("*/contracts/*.toml")),
        "election": sorted(shipped.glob("*/election.toml")),
    }
    assert len(files["contract"]) >= 6 and len(files["election"]) >= 2
    for kind, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] and schema["description"]
        json.dumps(schema)  # plain JSON, ready to write
        validator = jsonschema.Draft202012Validator(schema)
        for path in files[kind]:
            errors = list(validator.iter_errors(tomllib.loads(path.read_text())))
            assert not errors, (path, errors[0].message)
        for table in [schema, *schema.get("$defs", {}).values()]:
            for key, prop in table.get("properties", {}).items():
                assert prop.get("description"), f"{kind}: {key} has no description"
    wrong = {"id": "x", "file": {"pattern": "*.csv", "separator": ",,", "skip_lines": "abc"}}
    problems = {
        e.message for e in jsonschema.Draft202012Validator(schemas["contract"]).iter_errors(wrong)
    }
    assert "'abc' is not of type 'integer'" in problems and "',,' is too long" in problems


def test_the_count_fields_are_the_canonical_ones():
    assert tuple(CountsSpec.model_fields) == COUNT_FIELDS


def test_ignore_patterns_are_file_names_in_the_landing_folder():
    base = {"id": "x", "levels": ["table"], "candidates": [{"id": "a", "name": "A"}]}
    assert parse_election({**base, "ignore": ["README*", "truth.json"]}).ignored_files == (
        "README*",
        "truth.json",
    )
    for bad in ("../secrets/*", "sub/file.csv", "a\nb"):
        with pytest.raises(ContractError, match=r"ignore\[0\]"):
            parse_election({**base, "ignore": [bad]})


# --- a wide feed of several contests (layout = "grouped") --------------------------------------

WIDE_GENERAL = shipped_elections() / "wide_general"
GROUPED = (WIDE_GENERAL / "contracts" / "stations.toml").read_text()
PATTERN = "[[contests.pattern]]\ncandidates = '^([A-Z0-9]+)_(.+)$'"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'pattern = "stations_*.csv"',
            'pattern = "stations_*.csv"\nheader_rows = 3',
            "contracts/stations.toml: file.header_rows: expected a number <= 2, got 3",
        ),
        (
            'pattern = "stations_*.csv"',
            'pattern = "stations_*.csv"\nformat = "jsonl"\nheader_rows = 2',
            "contracts/stations.toml: file.header_rows: a two-row header is read in delimited "
            "files only",
        ),
        (
            'layout = "grouped"',
            'layout = "wide"',
            "contracts/stations.toml: candidates: missing key 'columns' (layout = \"wide\")",
        ),
        (
            'layout = "grouped"',
            'layout = "grouped"\ncandidate_column = "c"',
            "contracts/stations.toml: candidates: 'candidate_column' is not read with layout = "
            '"grouped": each contest\'s columns are in [[contests.group]] or [[contests.pattern]]',
        ),
        (
            PATTERN,
            "[[contests.pattern]]\ncandidates = '^([A-Z0-9]+)_.+$'",
            "contracts/stations.toml: contests.pattern[0].candidates: expected a pattern with 2 "
            "group(s), got '^([A-Z0-9]+)_.+$'",
        ),
        (
            "null_votes = '^([A-Z0-9]+)_NULL$'",
            "null_votes = '_NULL$'",
            "contracts/stations.toml: contests.pattern[0].null_votes: expected a pattern with 1 "
            "group(s), got '_NULL$'",
        ),
        (
            "null_votes = '^([A-Z0-9]+)_NULL$'",
            "nul_votes = '^([A-Z0-9]+)_NULL$'",
            "contracts/stations.toml: contests.pattern[0]: unknown key(s) nul_votes; allowed: "
            "candidates, registered, valid_votes, null_votes, blank_votes, total_votes, "
            "other_votes",
        ),
        (
            "null_votes = '^([A-Z0-9]+)_NULL$'",
            "null_votes = '^(?<=x)([A-Z0-9]+)_NULL$'",
            "contracts/stations.toml: contests.pattern[0].null_votes: expected a regular "
            "expression polars can run",
        ),
        (
            "matches = '^COUNCIL([0-9]+)$'",
            "column = \"office\"\nmatches = '^COUNCIL([0-9]+)$'",
            "contracts/stations.toml: contests.rule[0].column: left out in a grouped feed: the "
            "rule tests each group's contest label",
        ),
        (
            PATTERN,
            '[[contests.group]]\ncontest = "PRES"\ncandidates = { ANA = "PRES_ANA" }\n'
            '[[contests.group]]\ncontest = "PRES"\ncandidates = { BETO = "PRES_BETO" }\n' + PATTERN,
            "contracts/stations.toml: contests.group[1].contest: 'PRES' has two groups",
        ),
        (
            PATTERN,
            '[[contests.group]]\ncontest = "PRES"\ncandidates = {}\n' + PATTERN,
            "contracts/stations.toml: contests.group[0].candidates: expected a table of at least 1 "
            "item(s), got {}",
        ),
        (
            PATTERN,
            '[[contests.group]]\ncontest = "PRES"\ncounts = { nul_votes = "N" }\n'
            'candidates = { A = "A" }\n' + PATTERN,
            "contracts/stations.toml: contests.group[0].counts: unknown field(s) nul_votes; "
            "allowed: registered, valid_votes, null_votes, blank_votes, total_votes, other_votes",
        ),
        (
            '[candidates]\nlayout = "grouped"',
            '[contests]\nid = "president"\n[candidates]\nlayout = "grouped"',
            "contracts/stations.toml: contests: give exactly one of 'id' (one contest), 'columns' "
            "(discovered from a long feed) or [[contests.group]] / [[contests.pattern]]",
        ),
    ],
)
def test_an_invalid_grouped_contract_is_refused_in_one_line(tmp_path, old, new, message):
    assert old in GROUPED
    shutil.copytree(WIDE_GENERAL, tmp_path / "wide_general")
    (tmp_path / "wide_general" / "contracts" / "stations.toml").write_text(
        GROUPED.replace(old, new)
    )
    with pytest.raises(ContractError) as caught:
        load_election("wide_general", tmp_path)
    assert str(caught.value).startswith("wide_general/" + message)
    assert "\n" not in str(caught.value)


def _grouped_with(tmp_path, election: str, contract: str) -> str:
    shutil.copytree(WIDE_GENERAL, tmp_path / "wide_general")
    (tmp_path / "wide_general" / "election.toml").write_text(election)
    (tmp_path / "wide_general" / "contracts" / "stations.toml").write_text(contract)
    with pytest.raises(ContractError) as caught:
        load_election("wide_general", tmp_path)
    return str(caught.value)


def test_grouped_contests_fit_the_election(tmp_path):
    election = (WIDE_GENERAL / "election.toml").read_text()
    closed = election.replace("discover_contests = true", "discover_contests = false")
    closed = closed[: closed.index("[districts]")] + closed[closed.index("[[contest]]") :]
    no_rules = GROUPED[: GROUPED.index("[[contests.rule]]")]
    assert _grouped_with(tmp_path / "a", closed, no_rules) == (
        "wide_general/contracts/stations.toml: contests.pattern: the election does not discover "
        "contests: set discover_contests = true in election.toml, or declare each group with "
        "[[contests.group]]"
    )
    declared = (
        no_rules[: no_rules.index("\n[[contests.pattern]]")]
        + '\n[[contests.group]]\ncontest = "Mayor"\ncandidates = { A = "M_A" }\n'
    )
    assert _grouped_with(tmp_path / "b", closed, declared) == (
        "wide_general/contracts/stations.toml: contests.group[0].contest: 'Mayor' is none of "
        "the election's [[contest]] (id, name or alias), and the election does not discover "
        "contests"
    )
    no_groups = GROUPED.replace(PATTERN, "[[contests.rule]]\nmatches = 'x'\n#")
    no_groups = no_groups.replace("null_votes =", "#").replace("blank_votes =", "#")
    assert _grouped_with(tmp_path / "c", election, no_groups) == (
        "wide_general/contracts/stations.toml: contests: give exactly one of 'id' (one contest), "
        "'columns' (discovered from a long feed) or [[contests.group]] / [[contests.pattern]] (a "
        "grouped feed)"
    )
    missing = GROUPED.replace("[[contests.pattern]]", "[[contests.patern]]")
    assert "contests: unknown key(s) patern" in _grouped_with(tmp_path / "d", election, missing)
    wide = GROUPED.replace(
        'layout = "grouped"', 'layout = "long"\ncandidate_column = "c"\nvotes_column = "v"'
    )
    assert _grouped_with(tmp_path / "e", election, wide) == (
        "wide_general/contracts/stations.toml: candidates.layout: [[contests.group]] and "
        '[[contests.pattern]] are read with layout = "grouped"'
    )


def test_a_contest_candidate_may_list_aliases_and_they_are_checked(tmp_path):
    election = (WIDE_GENERAL / "election.toml").read_text()
    message = _grouped_with(
        tmp_path, election.replace('aliases = ["ANA"]', 'aliases = ["A\\nB"]'), GROUPED
    )
    assert message.startswith(
        "wide_general/election.toml: contest[0].candidates[0].aliases[0]: expected "
    )
    config = load_election("wide_general")
    ana = config.election.contests[0].candidates[0]
    assert (ana.id, ana.name, ana.aliases) == ("ana", "Ana Pérez", ("ANA",))


@pytest.mark.parametrize("pattern", ["../../x/*.csv", "sub/tallies_*.csv", "..", "a\\\\b.csv"])
def test_a_contract_reads_only_file_names_in_the_landing_folder(pattern):
    from transforms.contract_models import FileSpec

    with pytest.raises(ValueError, match="expected a file-name pattern in the landing folder"):
        FileSpec(pattern=pattern)


def test_code_patterns_name_a_level_and_run_in_polars():
    base = {"id": "x", "levels": ["table"], "candidates": [{"id": "a", "name": "A"}]}
    election = parse_election({**base, "codes": {"table": "^[0-9]+$"}})
    assert election.code_pattern("table") == "^[0-9]+$"
    with pytest.raises(ContractError, match=r"codes\.state: 'state' is not one of the levels"):
        parse_election({**base, "codes": {"state": "^[0-9]+$"}})
    with pytest.raises(ContractError, match=r"codes\.table: expected a regular expression polars"):
        parse_election({**base, "codes": {"table": "(?<=x)1"}})
