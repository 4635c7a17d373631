"""The canonical tally-sheet feed layout: one row per tally, wide candidate columns.

The built-in synthetic feed is written in this layout; the staging transform reads it.
"""

from __future__ import annotations

from transforms.model import Election

REGISTERED = "registered"
VALID = "valid_votes"
NULL = "null_votes"
BLANK = "blank_votes"
TOTAL = "total_votes"
OTHER = "other_votes"  # valid votes for no declared candidate (write-ins, "others")
COUNT_FIELDS = (REGISTERED, VALID, NULL, BLANK, TOTAL, OTHER)
NO_LIST = "no_list"  # raw marker: "1" where the unit has no list of registered voters
# The published results line of the other votes: reserved (a declared id starts with a letter).
OTHER_ID = "_other"
OTHER_NAME = "Other candidates (not declared)"
REGISTRY_FILE = "registry.csv"


def feed_columns(election: Election) -> list[str]:
    """Columns every feed file must carry, in order."""
    counts = [f for f in COUNT_FIELDS if f != OTHER or election.other_votes]
    return [*election.code_columns, *counts, *election.candidate_ids]


def registry_columns(election: Election) -> list[str]:
    """Columns of the registry: one row per lowest-level unit, with its ancestors and names."""
    cols: list[str] = []
    for level in election.levels:
        cols += [f"{level}_code", f"{level}_name"]
    return [*cols, REGISTERED]


def missing_columns(header: list[str], required: list[str]) -> list[str]:
    present = set(header)
    return [c for c in required if c not in present]
