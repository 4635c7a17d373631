"""Accepted tallies: the staged tallies the quality gate did not quarantine.

Defined here once for both engines: `accepted` for frames in polars, `ACCEPTED_SQL` for
queries over the working warehouse. Only accepted tallies reach a results mart.
"""

from __future__ import annotations

import polars as pl

# A subquery over the warehouse: every column of staged.tallies, accepted rows only.
ACCEPTED_SQL = "(select t.* from staged.tallies t anti join quality.quarantine q using (tally_id))"


def accepted(tallies: pl.DataFrame, quarantine: pl.DataFrame) -> pl.DataFrame:
    """The tallies (any columns, with tally_id) that are not in the quarantine."""
    if quarantine.is_empty():  # the usual case: an anti join would copy every tally
        return tallies
    return tallies.join(quarantine.select("tally_id"), on="tally_id", how="anti")


def cast_votes_by(
    votes: pl.DataFrame, tallies: pl.DataFrame, keys: list[str]
) -> tuple[pl.DataFrame, dict[tuple, pl.DataFrame]]:
    """The long votes (tally_id, candidate_id, votes) with a count of these tallies, with their
    tallies' `keys`, and the same split by `keys` (without them): split once, not filtered
    again for every key (which costs keys × votes)."""
    cast = votes.filter(pl.col("votes").is_not_null()).join(
        tallies.select("tally_id", *keys), on="tally_id", how="inner"
    )
    return cast, cast.partition_by(keys, as_dict=True, include_key=False)


def at_polling_units(tallies: pl.DataFrame, higher_sources: list[str]) -> pl.DataFrame:
    """The tallies of the sources at the polling units: a source above them (a ward's or a
    city-wide canvass, Election.higher_sources) is reconciled, never counted in a mart."""
    if not higher_sources:
        return tallies
    return tallies.filter(~pl.col("source_id").is_in(higher_sources))
