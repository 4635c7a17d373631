"""Reading election configurations, feed contracts and announced totals from TOML files."""

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from expectations.rules import ERROR_RULES, RULES_BY_ID
from transforms.contract import Contract, ContractError, parse_contract
from transforms.contract_models import parse_announced, parse_election
from transforms.model import Election, Source


@dataclass(frozen=True)
class ElectionConfig:
    folder: Path
    election: Election
    contracts: tuple[Contract, ...]
    announced: dict = field(default_factory=dict)


def shipped_elections() -> Path:
    """The folder of election configurations shipped with the project."""
    return Path(str(resources.files("elections")))


def _toml(path: Path, name: str) -> dict:
    """A TOML file's content; a file that is not TOML is refused in one line naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ContractError(f"{name}: not valid TOML ({error})") from None
    except UnicodeDecodeError as error:
        raise ContractError(f"{name}: not UTF-8 text (byte {error.start})") from None


def load_election(election_id: str, root: Path | None = None) -> ElectionConfig:
    """The election's configuration, its contracts, and its announced totals if any."""
    root = root or shipped_elections()
    folder = root / election_id
    config = folder / "election.toml"
    if not config.is_file():
        known = sorted(p.name for p in root.iterdir() if (p / "election.toml").is_file())
        raise FileNotFoundError(
            f"no election {election_id!r} in {root} (known: {', '.join(known) or 'none'})"
        )
    # messages name each file from the elections folder: `ve2024/contracts/qr_decoded.toml: ...`
    name = f"{election_id}/election.toml"
    election = parse_election(_toml(config, name), name)
    files: dict[str, str] = {}  # contract id → the file that holds it
    contracts = []
    for path in sorted((folder / "contracts").glob("*.toml")):
        name = f"{election_id}/contracts/{path.name}"
        contract = parse_contract(_toml(path, name), election, name=name)
        if contract.id in files:
            raise ContractError(
                f"{name}: id: {contract.id!r} is already the id of {files[contract.id]}"
            )
        absent = [lv for lv in _levels_of(contract, election) if lv not in contract.carried_levels]
        if absent and not election.registry_file:
            raise ContractError(
                f"{name}: levels: the feed does not carry {', '.join(absent)}, and election "
                f"{election.id!r} has no registry to place its units there"
            )
        files[contract.id] = name
        contracts.append(contract)
    if not contracts:
        raise ContractError(f"{folder}: no feed contract in contracts/")
    sources = _sources(contracts, election_id)
    election = replace(
        election,
        sources=tuple(sources.values()),
        other_votes=any(c.maps_other_votes for c in contracts),
    )
    check_policy(election, f"{election_id}/election.toml")
    check_primary_source(election, f"{election_id}/election.toml")
    announced_file = folder / "announced.toml"
    announced = {}
    if announced_file.is_file():
        name = f"{election_id}/announced.toml"
        announced = parse_announced(_toml(announced_file, name), election, name)
    return ElectionConfig(folder, election, tuple(contracts), announced)


def _levels_of(contract: Contract, election: Election) -> tuple[str, ...]:
    """The levels a contract's tallies have codes at: down to its source's level."""
    level = contract.source_level or election.tally_level
    return election.levels[: election.levels.index(level) + 1] if level in election.levels else ()


def _sources(contracts: list[Contract], election_id: str) -> dict[str, Source]:
    """One Source per source id; the contracts of one source must agree on its level."""
    sources: dict[str, Source] = {}
    for c in contracts:
        source = Source(c.source_id, c.source_kind, c.source_name, c.source_level)
        known = sources.setdefault(c.source_id, source)
        if known.level != source.level:
            raise ContractError(
                f"{election_id}/contracts: source {c.source_id!r} is given two levels "
                f"({known.level or 'the polling units'} and {source.level or 'the polling units'}"
                "): a source's tallies all count at one level"
            )
    return sources


def check_primary_source(election: Election, name: str) -> None:
    """`primary_source`, when given, names a source some contract feeds."""
    sources = [s.id for s in election.sources]
    if election.primary_source is not None and election.primary_source not in sources:
        raise ContractError(
            f"{name}: primary_source: no contract feeds source {election.primary_source!r}; "
            f"sources: {', '.join(sources)}"
        )


def check_policy(election: Election, name: str) -> None:
    """The rules that need the catalogue and the contracts: an override names an error rule of
    the catalogue and, if it names one, a source some contract feeds."""
    errors = ", ".join(r.id for r in ERROR_RULES)
    sources = [s.id for s in election.sources]
    for i, override in enumerate(election.quality.overrides):
        at = f"{name}: quality.override[{i}]"
        rule = RULES_BY_ID.get(override.rule)
        if rule is None:
            raise ContractError(f"{at}.rule: no rule {override.rule!r}; error rules: {errors}")
        if rule.severity != "error":
            raise ContractError(
                f"{at}.rule: {override.rule} is already a warning; only error rules ({errors}) "
                "can be demoted"
            )
        if override.source is not None and override.source not in sources:
            raise ContractError(
                f"{at}.source: no contract feeds source {override.source!r}; sources: "
                f"{', '.join(sources)}"
            )
