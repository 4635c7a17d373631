"""The election and contract models: every shipped configuration reads as it always did, every
invalid one is refused in one line naming the file, the key, what was expected and what came."""

import dataclasses
import json
import tomllib
from pathlib import Path

from tests.test_contracts import CONTRACT_TOML, ELECTION, TABLE_ONLY
from tests.test_edge_cases import JSONL
from transforms.contract import parse_contract
from warehouse.configs import load_election

# What the hand-written parser produced for each configuration before the models replaced it
# (written by that parser; key order matters: it orders the levels built and the columns read).
SNAPSHOT = Path(__file__).parent / "snapshots" / "parsed_configs.json"


def _parsed_now() -> dict:
    out: dict = {}
    for eid in ("sample", "ve2024"):
        config = load_election(eid)
        out[f"election:{eid}"] = config.election.to_dict()
        out[f"announced:{eid}"] = config.announced
        for c in config.contracts:
            out[f"contract:{eid}/{c.id}"] = dataclasses.asdict(c)
    for name, text, election in [
        ("observers", CONTRACT_TOML, ELECTION),
        ("jl", JSONL, ELECTION),
        ("tables_only", TABLE_ONLY, load_election("sample").election),
    ]:
        contract = parse_contract(tomllib.loads(text), election, name)
        out[f"contract:test/{name}"] = dataclasses.asdict(contract)
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
