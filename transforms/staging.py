"""Raw rows as delivered (all text) → canonical staged tallies and long-form votes."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.feed import BLANK, COUNT_FIELDS, NULL, REGISTERED, TOTAL, VALID
from transforms.model import Election

PROVENANCE = ("file_sha256", "source_row")
# Count fields a tally may leave empty; the others must carry a whole number.
OPTIONAL_COUNTS = (REGISTERED, BLANK, TOTAL)


@dataclass(frozen=True)
class FieldProblem:
    source_row: int
    field: str
    value: str | None

    def describe(self) -> str:
        shown = "empty" if self.value is None else repr(self.value)
        return f"row {self.source_row}, field {self.field!r}: {shown} is not a whole number"


@dataclass(frozen=True)
class StagedTallies:
    tallies: pl.DataFrame
    votes: pl.DataFrame


def _parse_count(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().cast(pl.Int64, strict=False).alias(column)


def count_columns(election: Election) -> list[str]:
    return [*COUNT_FIELDS, *election.candidate_ids]


def field_problems(raw: pl.DataFrame, election: Election, limit: int = 20) -> list[FieldProblem]:
    """Cells that cannot become counts: not a whole number, or empty where required."""
    problems: list[FieldProblem] = []
    for column in count_columns(election):
        text = pl.col(column).str.strip_chars()
        parsed = text.cast(pl.Int64, strict=False)
        empty = text.is_null() | (text == "")
        bad = (~empty & parsed.is_null()) | (parsed < 0)
        if column not in OPTIONAL_COUNTS:
            bad = bad | empty
        rows = raw.filter(bad).select("source_row", column).head(limit)
        problems += [FieldProblem(r, column, v) for r, v in rows.iter_rows()]
    for column in election.code_columns:
        empty = pl.col(column).str.strip_chars().fill_null("") == ""
        rows = raw.filter(empty).select("source_row", column).head(limit)
        problems += [FieldProblem(r, column, v) for r, v in rows.iter_rows()]
    return sorted(problems, key=lambda p: (p.source_row, p.field))[:limit]


def stage(raw: pl.DataFrame, deliveries: pl.DataFrame, election: Election) -> StagedTallies:
    """Cast raw rows to canonical tallies; a later delivery of a unit supersedes an earlier one.

    raw: file_sha256, source_row and the feed columns as text.
    deliveries: file_sha256, source_id, delivery_seq, loaded_at.
    """
    codes = election.code_columns
    tally_code = election.code_column(election.tally_level)
    typed = (
        raw.join(
            deliveries.select("file_sha256", "source_id", "delivery_seq", "loaded_at"),
            on="file_sha256",
            how="inner",
        )
        .with_columns(
            *[pl.col(c).str.strip_chars() for c in codes],
            *[_parse_count(c) for c in count_columns(election)],
        )
        .with_columns(pl.col(tally_code).alias("tally_code"))
        .sort("source_id", "tally_code", "delivery_seq", "source_row")
        .unique(subset=["source_id", "tally_code"], keep="last", maintain_order=True)
    )
    tallies = typed.select(
        "source_id", "tally_code", *codes, *COUNT_FIELDS, *PROVENANCE, "delivery_seq", "loaded_at"
    )
    votes = typed.select("source_id", "tally_code", *election.candidate_ids).unpivot(
        index=["source_id", "tally_code"], variable_name="candidate_id", value_name="votes"
    )
    return StagedTallies(tallies, votes)


def cast_votes_total(tallies: pl.DataFrame) -> pl.DataFrame:
    """Fill a missing declared total with valid + null + blank."""
    return tallies.with_columns(
        pl.coalesce(TOTAL, pl.col(VALID) + pl.col(NULL) + pl.col(BLANK).fill_null(0)).alias(TOTAL)
    )
