"""A long feed's rows gathered into one wide row per tally. Pure polars.

A general election's feed gives each unit and contest on several rows (one per candidate line or
count). `gather` makes them one row: the carried columns' first value, each count field's value
(from its own row, `count_field`, or from its column), the derived valid votes, the notes, and a
text column per ballot position.

Where a group's rows give a value once, or repeat the same value, that value is it; where they
disagree it is kept as `a|b` (in the rows' order), which no count reads (unparsable, rule E8).

How, cheaply: a feed gives a unit's rows one after the other, so a group is a run of rows
(`_together` sorts the rows by group, stably, when a feed gives them apart). A group's values
are then its first row's (a gather), its sums one group-by on the run number, its count rows and
ballot lines scattered into one flat column; a column that changes within a run, or a count or
line given twice, makes the group odd, and only odd groups are gathered again with the plain
per-group expressions (`_exactly`). The plain expressions for every group cost 2.5-3 times the
CPU (7.8-9.5 s against 2.9-3.9 s for 300,000 tallies of 2.4 million rows).
"""

from __future__ import annotations

import polars as pl

from transforms.feed import OTHER

SLOT = "slot"  # a row's ballot position (null: a count, or a line of no position)
SEPARATOR = "|"  # between two values a group's rows give for one field and that disagree
NOTES = "; "  # between two notes of a group's rows
GROUP = "_group"  # a group's number, in the order of its first row


def votes_text() -> pl.Expr:
    """A line's votes as text: empty (missing) where absent, outer spaces dropped."""
    return pl.col("votes").fill_null("").str.strip_chars()


def _given(expr: pl.Expr, separator: str = SEPARATOR) -> pl.Expr:
    """The values the rows give (an empty cell too: missing), `a|b` when they disagree; null when
    no row gives one (absent)."""
    given = expr.drop_nulls().unique(maintain_order=True)
    return pl.when(given.len() > 0).then(given.str.join(separator))


def _derived_valid_parts() -> list[pl.Expr]:
    """Per row: the votes it adds to the derived valid votes (a candidate line or the other
    votes), and whether it should add some but is no count."""
    counted = pl.col(SLOT).is_not_null() | (pl.col("count_field") == OTHER)
    parsed = votes_text().cast(pl.Int64, strict=False)
    return [
        pl.when(counted).then(parsed).alias("_dv"),
        (counted & parsed.is_null()).alias("_dv_bad"),
    ]


def _derived_valid(dv_sum: pl.Expr, dv_bad: pl.Expr) -> pl.Expr:
    """A long feed's valid votes: the sum of the unit's candidate lines and its other votes
    (empty, missing under rule E8, when one of them is not a count)."""
    return pl.when(dv_bad).then(pl.lit("")).otherwise(dv_sum.cast(pl.String))


def gather(
    frame: pl.DataFrame, keys: list[str], carried: list[str], fixed: list[str], slots: list[str]
) -> pl.DataFrame:
    """One row per distinct `keys` of `frame`, in the order of their first rows: the keys,
    source_row (the group's first), each `carried` column's first value given, each `fixed`
    count field (from the rows whose `count_field` it is, else from its column),
    `_derived_valid`, `_district` (the first), `_note` (the rows' notes, `; ` between; empty
    when none) and a text column per name of `slots` (the votes of the rows whose `slot` it is;
    null where none is).

    frame: the long rows with `keys`, `carried`, `fixed`, source_row, count_field, votes,
    slot, _district and _note."""
    rows = _together(frame.with_columns(*_derived_valid_parts()), keys)
    groups, odd = _group_values(rows, keys, carried, fixed)
    wide = groups.filter(~pl.col(GROUP).is_in(odd.implode())).select(
        GROUP,
        *keys,
        "source_row",
        *carried,
        *[pl.coalesce(f"_row_{c}", c).alias(c) for c in fixed],
        _derived_valid(pl.col("_dv"), pl.col("_dv_bad")).alias("_derived_valid"),
        "_district",
        pl.col("_note").fill_null(""),
    )
    if odd.len():
        odd_rows = rows.lazy().filter(pl.col(GROUP).is_in(odd.implode())).collect()
        wide = pl.concat([wide, _exactly(odd_rows, keys, carried, fixed)]).sort(GROUP)
    return _with_slots(wide, rows, slots).drop(GROUP)


def _runs(keys: list[str]) -> list[pl.Expr]:
    """Each row's run, numbered from 0 (GROUP), and whether the row starts it (`_start`): rows
    one after the other with the same keys (nulls equal) are one run."""
    changed = pl.any_horizontal(*[pl.col(k).ne_missing(pl.col(k).shift()) for k in keys])
    start = changed | (pl.int_range(pl.len()) == 0)
    return [start.alias("_start"), (start.cum_sum() - 1).alias(GROUP)]


def _first_rows(rows: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """`columns` of the first row of each run (a lazy filter: ten times faster than gathering
    the rows of a frame of many chunks)."""
    return rows.lazy().filter(pl.col("_start")).select(columns).collect()


def _together(rows: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The rows with each group's rows one after the other (each group one run, numbered in the
    order of its first row), every group's rows in their order. A feed gives a unit's rows
    together, so this is mostly nothing to do; a feed sorted otherwise is sorted by group."""
    rows = rows.with_columns(_runs(keys))
    firsts = _first_rows(rows, keys)
    if not firsts.select(pl.struct(keys).hash()).to_series().is_duplicated().any():
        return rows
    groups = (
        firsts.with_row_index("_run")
        .group_by(keys, maintain_order=True)
        .agg(pl.col("_run"))
        .with_row_index("_g")
        .explode("_run")
    )
    number = pl.zeros(firsts.height, dtype=pl.UInt32, eager=True)
    number = number.scatter(groups["_run"], groups["_g"])
    grouped = rows.with_columns(number.gather(rows[GROUP]).alias("_g"))
    return grouped.sort("_g", maintain_order=True).drop("_g").with_columns(_runs(keys))


def _group_values(rows: pl.DataFrame, keys, carried, fixed) -> tuple[pl.DataFrame, pl.Series]:
    """Per group, in order: its keys, first source_row, the carried and count columns and notes
    of its first row, the count rows' votes (`_row_<field>`), the derived valid votes' sum and
    whether one is no count; and the groups (odd) where these are not the group's one value: a
    column whose value changes within the group, or a count given on two rows.

    rows: `_together`'s."""
    values = [*carried, *fixed, "_note"]
    first = _first_rows(rows, [*keys, *values, "_district"])
    # the four columns first: grouping the whole frame of many chunks cost 20x (7.3 s against
    # 0.35 s at 4.4M rows); the group numbers ascend, as `_together` made them
    sums = (
        rows.select(pl.col(GROUP).set_sorted(), "source_row", "_dv", "_dv_bad")
        .group_by(GROUP, maintain_order=True)
        .agg(pl.col("source_row").min(), pl.col("_dv").sum(), pl.col("_dv_bad").any())
    )
    changes = pl.any_horizontal(*[pl.col(c).ne_missing(pl.col(c).shift()) for c in values])
    varied = rows.lazy().filter(changes & ~pl.col("_start")).select(GROUP).collect()[GROUP]
    counts, repeated = _count_rows(rows, fixed, first.height)
    groups = pl.concat([sums, first, counts], how="horizontal")
    return groups, pl.concat([varied, repeated]).unique()


def _count_rows(
    rows: pl.DataFrame, fixed: list[str], groups: int
) -> tuple[pl.DataFrame, pl.Series]:
    """Per group, the votes of its row for each count field (`_row_<field>`, null where none);
    and the groups that give one field on two rows."""
    index = pl.col("count_field").replace_strict(fixed, range(len(fixed)), default=None)
    given = (
        rows.lazy()
        .filter(pl.col("count_field").is_in(fixed))
        .select(pl.col(GROUP), (pl.col(GROUP).cast(pl.Int64) * len(fixed) + index).alias("_cell"),
                votes_text())
        .collect()
    )  # fmt: skip
    twice = given["_cell"].is_duplicated()
    cells = pl.repeat(None, groups * len(fixed), dtype=pl.String, eager=True)
    cells = cells.scatter(given["_cell"], given["votes"])  # a repeated cell: that group is odd
    columns = [
        cells.gather_every(len(fixed), offset=i).alias(f"_row_{c}") for i, c in enumerate(fixed)
    ]
    return pl.DataFrame(columns, height=groups), given.filter(twice)[GROUP]


def _exactly(rows: pl.DataFrame, keys: list[str], carried: list[str], fixed: list[str]):
    """`gather`'s values for the odd groups, each field gathered by the exact per-group
    expression (`_given`)."""
    votes = votes_text()
    return rows.group_by(GROUP, maintain_order=True).agg(
        *[pl.col(k).first() for k in keys],
        pl.col("source_row").min(),
        *[pl.col(c).first(ignore_nulls=True) for c in carried],
        *[
            pl.coalesce(_given(votes.filter(pl.col("count_field") == c)), _given(pl.col(c))).alias(
                c
            )
            for c in fixed
        ],
        _derived_valid(pl.col("_dv").sum(), pl.col("_dv_bad").any()).alias("_derived_valid"),
        pl.col("_district").first(),
        pl.coalesce(_given(pl.col("_note"), NOTES), pl.lit("")).alias("_note"),
    )


def _with_slots(wide: pl.DataFrame, rows: pl.DataFrame, slots: list[str]) -> pl.DataFrame:
    """A text column per ballot position: the votes of the group's rows for it (`a|b` where two
    rows of one group give one position different votes). Each (group, position) is one cell
    of a flat column, group after group, which every position's column then takes its own of."""
    if not slots:
        return wide
    width = len(slots)
    number = pl.col(SLOT).replace_strict(slots, range(width), return_dtype=pl.Int64)
    lines = (
        rows.lazy()
        .filter(pl.col(SLOT).is_not_null())
        .select((pl.col(GROUP).cast(pl.Int64) * width + number).alias("_cell"), votes_text())
        .collect()
    )
    repeated = lines["_cell"].is_duplicated()
    once, twice = lines.filter(~repeated), lines.filter(repeated)
    if twice.height:
        twice = twice.group_by("_cell", maintain_order=True).agg(
            pl.col("votes").unique(maintain_order=True).str.join(SEPARATOR)
        )
        once = pl.concat([once, twice])
    cells = pl.repeat(None, wide.height * width, dtype=pl.String, eager=True)
    cells = cells.scatter(once["_cell"], once["votes"])
    return wide.with_columns(
        cells.gather_every(width, offset=i).alias(name) for i, name in enumerate(slots)
    )
