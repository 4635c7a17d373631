"""Coverage joins every unit to the counts one source and contest at a time: the same rows as
one full join of every row on source, contest, level and unit_code."""

import polars as pl

from transforms.rollup import _every_unit_with_counts
from transforms.staging import CONTEST

KEYS = ["source_id", CONTEST, "level", "unit_code"]
PAIRS = pl.DataFrame({"source_id": ["feed", "feed", "qr"], CONTEST: ["president"] * 2 + ["mayor"]})
PAIRS = PAIRS.unique(maintain_order=True)  # feed/president, qr/mayor
LISTED = pl.DataFrame(
    {
        "level": ["state", "state", "centre", "centre", "national"],
        "unit_code": ["N", "S", "N1", None, "national"],
        "unit_name": ["North", "South", "School 1", None, "Republic"],
        "expected": [3, 1, 2, 1, 4],
    }
)
COUNTS = pl.DataFrame(
    {
        "source_id": ["feed", "feed", "feed", "feed", "qr", "feed"],
        CONTEST: ["president", "president", "president", "president", "senate", "senate"],
        "level": ["state", "centre", "centre", "table", "state", "state"],
        "unit_code": ["N", "N1", None, "T9", "N", "S"],
        "received": [2, 2, 1, 1, 5, 1],
        "counted": [2, 1, 1, 1, 5, 0],
        "unit_name": ["North", "School 1", None, "T9", "North", "South"],
    }
)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_joined_per_source_and_contest_as_one_full_join():
    """A pair with no counts (qr/mayor) lists every unit; counts of a pair not listed
    (senate) keep their rows; a unit only counted (T9) and codes left null are kept apart."""
    for counts in (COUNTS, COUNTS.drop("unit_name"), COUNTS.clear()):
        whole = PAIRS.join(LISTED, how="cross").join(counts, on=KEYS, how="full", coalesce=True)
        apart = _every_unit_with_counts(PAIRS, LISTED, counts)
        assert apart.columns == whole.columns
        assert apart.schema == whole.schema
        assert _sorted(apart).equals(_sorted(whole))
    joined = _every_unit_with_counts(PAIRS, LISTED, COUNTS)
    assert joined.height == 5 * 2 + 2 + 2  # units x 2 pairs; T9 and the null centre; senate
    north = joined.filter(source_id="feed", contest_id="president", unit_code="N").row(
        0, named=True
    )
    assert (north["expected"], north["received"], north["unit_name_right"]) == (3, 2, "North")
