"""transforms.long_rows.gather: a long feed's rows → one wide row per tally, equal to the plain
per-group definition whatever the rows' order, repeats and disagreements."""

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms.long_rows import gather

KEYS = ["file_sha256", "unit", "contest_id"]
CARRIED = ["unit_name"]
FIXED = ["registered", "null_votes", "other_votes"]
SLOTS = ["p001", "p002", "p003"]


def _given(expr: pl.Expr, separator: str = "|") -> pl.Expr:
    given = expr.drop_nulls().unique(maintain_order=True)
    return pl.when(given.len() > 0).then(given.str.join(separator))


def reference(frame: pl.DataFrame) -> pl.DataFrame:
    """The definition, one per-group expression per field (slow, plain)."""
    votes = pl.col("votes").fill_null("").str.strip_chars()
    counted = pl.col("slot").is_not_null() | (pl.col("count_field") == "other_votes")
    parsed = votes.filter(counted).cast(pl.Int64, strict=False)
    wide = frame.group_by(KEYS, maintain_order=True).agg(
        pl.col("source_row").min(),
        pl.col("unit_name").drop_nulls().first(),
        *[
            pl.coalesce(_given(votes.filter(pl.col("count_field") == c)), _given(pl.col(c))).alias(
                c
            )
            for c in FIXED
        ],
        pl.when(parsed.null_count() == 0)
        .then(parsed.sum().cast(pl.String))
        .otherwise(pl.lit(""))
        .alias("_derived_valid"),
        pl.col("_district").first(),
        pl.col("_note").drop_nulls().unique(maintain_order=True).str.join("; ").alias("_note"),
        *[_given(votes.filter(pl.col("slot") == s)).alias(s) for s in SLOTS],
    )
    return wide


def long_rows(seed: int, units: int = 40) -> pl.DataFrame:
    """Long rows of `units` units × 2 contests, with the faults feeds have: repeated lines
    (some agreeing, some not), counts on rows and in columns, blank and spaced votes, null
    codes, notes, names on some rows only."""
    rng = random.Random(seed)
    rows = []
    for u in range(units):
        unit = None if u % 17 == 5 else f"u{u:03}"
        for contest in ("c1", "c2"):
            group = []
            registered = str(rng.randint(100, 900)) if u % 3 else None
            for s in SLOTS[: rng.randint(1, 3)]:
                group.append((s, None, str(rng.randint(0, 99)), registered, None))
                if rng.random() < 0.15:  # a repeated line: the same votes or others
                    again = rng.choice([group[-1][2], str(rng.randint(0, 99)), " 7 ", ""])
                    group.append((s, None, again, registered, None))
            for field in ("null_votes", "other_votes"):
                if rng.random() < 0.7:
                    group.append((None, field, str(rng.randint(0, 9)), registered, None))
                    if rng.random() < 0.1:
                        group.append((None, field, "x", registered, None))
            if rng.random() < 0.1:  # a column that disagrees within the unit
                group.append((None, None, None, "1", None))
            if rng.random() < 0.1:
                group.append((None, None, "3", registered, "candidate='Z' (none)"))
            for slot, field, votes, reg, note in group:
                name = f"Unit {u}" if rng.random() < 0.8 else None
                rows.append((unit, contest, name, slot, field, votes, reg, note))
    return as_feed(rows)


def as_feed(rows: list[tuple]) -> pl.DataFrame:
    """Rows (unit, contest_id, unit_name, slot, count_field, votes, registered, _note) as one
    file's long rows, in this order."""
    columns = ["unit", "contest_id", "unit_name", "slot", "count_field", "votes", "registered"]
    frame = pl.DataFrame(rows, schema={c: pl.String for c in [*columns, "_note"]}, orient="row")
    return frame.with_columns(
        pl.lit("f" * 64).alias("file_sha256"),
        pl.int_range(pl.len()).alias("source_row") + 2,
        pl.lit(None, pl.String).alias("null_votes"),
        pl.lit(None, pl.String).alias("other_votes"),
        pl.col("unit").fill_null("").alias("_district"),
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("order", ["as delivered", "shuffled", "by slot"])
def test_gather_is_the_per_group_definition(seed, order):
    frame = long_rows(seed)
    if order == "shuffled":
        frame = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    elif order == "by slot":
        frame = frame.sort("slot", "count_field", nulls_last=True, maintain_order=True)
    got = gather(frame, KEYS, CARRIED, FIXED, SLOTS)
    want = reference(frame)
    assert_frame_equal(got, want.select(got.columns))
    assert got.height == frame.select(KEYS).unique().height


def test_disagreements_are_kept_as_both_values():
    frame = as_feed(
        [
            ("u1", "c1", None, "p001", None, "5", "10", None),
            ("u1", "c1", "One", "p001", None, "6", "10", None),
            ("u1", "c1", "Uno", None, "null_votes", "1", "10", None),
            ("u1", "c1", None, None, "null_votes", "1", "10", None),
        ]
    )
    got = gather(frame, KEYS, CARRIED, FIXED, SLOTS).row(0, named=True)
    assert got["p001"] == "5|6"  # two rows, two counts: unparsable, never one of them
    assert got["null_votes"] == "1"  # the same count twice is that count
    assert got["registered"] == "10"
    assert got["unit_name"] == "One"  # the first name given
    assert got["_derived_valid"] == "11"
    assert got["p002"] is None
