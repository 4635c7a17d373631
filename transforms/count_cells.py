"""Count cells carried as integers instead of text: a plain count as itself, an empty cell as
EMPTY, any other text as TEXT with its text kept aside (`cells`: a row per wide row that has
one), so that staging reads them as it reads the text (transforms/staging.py).

A general election's long rows are gathered in DuckDB as integers (warehouse/long_gather.py):
made text again for staging to parse, the counts of three million tallies cost more than the
gather. Only a cell that is no plain count (`12.5`, `-3`, ` 7 `, `007`, `a|b`) needs its text,
and those are few: staging describes them from it, exactly as it describes the text.
"""

import polars as pl

EMPTY = -1  # a cell left empty: missing (rule E8)
TEXT = -2  # a cell that is no plain count: its text is in `cells`
# a plain count as a count writes it (no sign, no padding, no leading zero) and below 10**15:
# its integer's text is the cell
PLAIN = r"^(0|[1-9][0-9]{0,14})$"
CELL_KEYS = ("file_sha256", "source_row")  # a wide row, as `cells` finds it


def as_integers(wide: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`wide` with its text count `columns` as integers, and `cells`: CELL_KEYS and those
    columns' text, for the rows that have a TEXT cell."""
    plain = {c: pl.col(c).str.contains(PLAIN) for c in columns}
    other = pl.any_horizontal(
        *[pl.col(c).is_not_null() & (pl.col(c) != "") & ~plain[c] for c in columns],
        pl.lit(False),
    )
    cells = wide.filter(other).select(*CELL_KEYS, *columns)
    integers = wide.with_columns(
        pl.when(pl.col(c) == "")
        .then(pl.lit(EMPTY, pl.Int64))
        .when(plain[c])
        .then(pl.col(c).cast(pl.Int64))
        .when(pl.col(c).is_not_null())
        .then(pl.lit(TEXT, pl.Int64))
        .alias(c)
        for c in columns
    )
    return integers, cells


def cell_text(column: str, text: str) -> pl.Expr:
    """An integer cell's text again: EMPTY empty, TEXT the `text` column's, a count its digits."""
    cell = pl.col(column)
    return (
        pl.when(cell == EMPTY)
        .then(pl.lit(""))
        .when(cell == TEXT)
        .then(pl.col(text))
        .otherwise(cell.cast(pl.String))
        .alias(column)
    )
