"""Reading election configurations, feed contracts and announced totals from TOML files."""

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from transforms.contract import Contract, ContractError, parse_contract
from transforms.model import Election, ModelError, Source


@dataclass(frozen=True)
class ElectionConfig:
    folder: Path
    election: Election
    contracts: tuple[Contract, ...]
    announced: dict = field(default_factory=dict)


def shipped_elections() -> Path:
    """The folder of election configurations shipped with the project."""
    return Path(str(resources.files("elections")))


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ContractError(f"{path.name}: not valid TOML ({error})") from None


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
    try:
        election = Election.from_dict(_toml(config))
    except ModelError as error:
        raise ContractError(f"{config.name}: {error}") from None
    contracts = tuple(
        parse_contract(_toml(path), election, name=path.stem)
        for path in sorted((folder / "contracts").glob("*.toml"))
    )
    if not contracts:
        raise ContractError(f"{folder}: no feed contract in contracts/")
    ids = [c.id for c in contracts]
    if len(set(ids)) != len(ids):
        raise ContractError(f"{folder}: two contracts share an id")
    for contract in contracts:
        absent = [lv for lv in election.levels if lv not in contract.carried_levels]
        if absent and not election.registry_file:
            raise ContractError(
                f"{contract.id}.levels: the feed does not carry {', '.join(absent)}, and election "
                f"{election.id!r} has no registry to place its units there"
            )
    sources = {c.source_id: Source(c.source_id, c.source_kind, c.source_name) for c in contracts}
    election = replace(election, sources=tuple(sources.values()))
    announced_file = folder / "announced.toml"
    announced = _toml(announced_file) if announced_file.is_file() else {}
    return ElectionConfig(folder, election, contracts, announced)
