"""Writing a synthetic general election (transforms.synthetic.general) into a landing folder:
what `tallyhouse generate --contests K` does for K ≥ 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from transforms.feed import REGISTRY_FILE
from transforms.synthetic.general import FILE_PREFIX, GeneralElection

TRUTH_FILE = "truth.json"


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    """The file appears whole: written under a temporary name, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_csv(tmp)
    os.replace(tmp, path)


def drop_name(number: int) -> str:
    """general_001.csv, general_002.csv, …: the contract's pattern `general_*.csv`."""
    return f"{FILE_PREFIX}_{number:03d}.csv"


def write_synthetic_general(general: GeneralElection, landing: Path) -> list[Path]:
    """Write the registry, the drop files (general_001.csv, … in arrival order) and truth.json
    into `landing`, each whole, as a watcher expects; the drop files written, in order."""
    landing.mkdir(parents=True, exist_ok=True)
    _write_csv(general.registry, landing / REGISTRY_FILE)
    written = []
    for number, drop in enumerate(general.drops, start=1):
        path = landing / drop_name(number)
        _write_csv(drop, path)
        written.append(path)
    truth = landing / TRUTH_FILE
    tmp = truth.with_name(f".{truth.name}.tmp")
    tmp.write_text(json.dumps(general.truth, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, truth)
    return written
