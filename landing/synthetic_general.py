"""Writing a synthetic general election (transforms.synthetic.general) into a landing folder:
what `tallyhouse generate --contests K` does for K ≥ 2."""

from __future__ import annotations

import json
from pathlib import Path

from landing.files import write_landing
from transforms.synthetic.general import FILE_PREFIX, GeneralElection


def write_synthetic_general(general: GeneralElection, landing: Path) -> list[Path]:
    """Write the registry, the drop files (general_001.csv, … in arrival order: the contract's
    pattern `general_*.csv`) and truth.json into `landing` (landing.files.write_landing)."""
    truth = json.dumps(general.truth, indent=2, ensure_ascii=False)
    return write_landing(landing, general.registry, general.drops, truth, FILE_PREFIX)
