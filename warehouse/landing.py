"""The landing directory: where feed files, the registry and the election description arrive."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import polars as pl

from transforms.feed import ELECTION_FILE, FEED_FILE_PATTERN, REGISTRY_FILE
from transforms.model import Election
from transforms.synthetic import SyntheticElection


class FileRejected(Exception):
    """A landing file refused whole; the message names the file and what is wrong."""

    def __init__(self, file_name: str, reason: str):
        super().__init__(f"{file_name}: {reason}")
        self.file_name = file_name
        self.reason = reason


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def feed_files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.glob(FEED_FILE_PATTERN) if p.is_file())


def registry_file(landing: Path) -> Path | None:
    path = landing / REGISTRY_FILE
    return path if path.is_file() else None


def read_election(landing: Path) -> Election:
    path = landing / ELECTION_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no election description in the landing directory")
    try:
        return Election.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as error:
        raise FileRejected(path.name, f"not valid JSON: {error}") from None


def _first_ragged_row(path: Path) -> str | None:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        for number, row in enumerate(reader, start=1):
            if len(row) != len(header):
                return f"row {number} has {len(row)} fields where the header has {len(header)}"
    return None


def read_delimited(path: Path) -> pl.DataFrame:
    """Every column as text, plus source_row: the data row's number (1 = first after the header)."""
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as error:
        detail = _first_ragged_row(path) if isinstance(error, pl.exceptions.ComputeError) else None
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise FileRejected(path.name, f"cannot be parsed: {detail or first_line}") from None
    return frame.with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )


def write_atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_synthetic(sample: SyntheticElection, landing: Path) -> list[Path]:
    """Write the election description, registry, drop files and truth file into `landing`.

    Each file appears whole (written under a temporary name, then renamed), as a watcher expects.
    """
    landing.mkdir(parents=True, exist_ok=True)
    write_atomic_text(landing / ELECTION_FILE, json.dumps(sample.election.to_dict(), indent=2))
    written = []
    registry = landing / REGISTRY_FILE
    sample.registry.write_csv(registry.with_name(f".{registry.name}.tmp"))
    os.replace(registry.with_name(f".{registry.name}.tmp"), registry)
    for number, drop in enumerate(sample.drops, start=1):
        path = landing / f"tallies_{number:03d}.csv"
        tmp = path.with_name(f".{path.name}.tmp")
        drop.write_csv(tmp)
        os.replace(tmp, path)
        written.append(path)
    write_atomic_text(landing / "truth.json", json.dumps(sample.truth, indent=2))
    return written
