"""The forensic checks of a general election: F1, F2 and F3 run contest by contest. Pure polars.

Each contest is examined as an election of one contest would be, over its own accepted tallies
and its own candidates (a contest elected in districts: every district's candidates, each a
series of its own in F1, and F2's main candidates by their share of the contest's valid votes).
A source's tallies of a contest are examined only when there are at least
MIN_FINGERPRINT_TALLIES of them (F3's minimum, below which one stronghold is already 5 %): a
contest with fewer gives no rows, which says "too few to screen" rather than "nothing found".
docs/forensics.md ("General elections").
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from transforms.contests import slot
from transforms.feed import TOTAL
from transforms.forensics.mart import (
    MIN_FINGERPRINT_TALLIES,
    SCHEMA,
    forensic_state,
    tally_frame,
    unnamed_mart,
)
from transforms.model import Candidate, Election
from transforms.staging import CONTEST, cast_votes_total

CONTEST_SCHEMA = {"source_id": pl.String, CONTEST: pl.String, **SCHEMA}


def contest_forensics(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    lines: pl.DataFrame,
    election: Election,
    minimum: int = MIN_FINGERPRINT_TALLIES,
) -> pl.DataFrame:
    """The forensics mart's rows (without unit names: mart.with_names adds them) per contest.

    tallies: accepted tallies (mart.tally_columns, contest_id, vote_for); votes: their long votes
    (tally_id, candidate_id, votes); lines: contest_id, candidate_id (ballot order)."""
    enough = pl.len().over("source_id", CONTEST) >= minimum
    tallies = tallies.filter(enough)
    cast = votes.filter(pl.col("votes").is_not_null()).join(
        tallies.select("tally_id", CONTEST), on="tally_id", how="inner"
    )
    votes_of = cast.partition_by(CONTEST, as_dict=True)
    parts = []
    for (contest,), own in sorted(tallies.partition_by(CONTEST, as_dict=True).items()):
        own_votes = votes_of.get((contest,), cast.clear())
        ids = (
            lines.filter(pl.col(CONTEST) == contest)
            .join(own_votes.select("candidate_id").unique(), on="candidate_id", how="semi")[
                "candidate_id"
            ]
            .to_list()
        )
        if not ids:
            continue
        columns = {c: slot(i + 1) for i, c in enumerate(ids)}  # column-safe names
        view = replace(
            election,
            candidates=tuple(Candidate(s, s) for s in columns.values()),
            contests=(),
            discovers_contests=False,
        )
        wide = own_votes.with_columns(pl.col("candidate_id").replace_strict(columns)).pivot(
            on="candidate_id", index="tally_id", values="votes", on_columns=view.candidate_ids
        )
        state = forensic_state(tally_frame(_ballots(own), wide, view), view)
        back = {s: c for c, s in columns.items()}
        parts.append(
            _named_back(unnamed_mart(state, view), back).with_columns(
                pl.lit(contest, pl.String).alias(CONTEST)
            )
        )
    if not parts:
        return pl.DataFrame(schema={k: v for k, v in CONTEST_SCHEMA.items() if k != "unit_name"})
    return pl.concat(parts, how="diagonal_relaxed")


def _ballots(tallies: pl.DataFrame) -> pl.DataFrame:
    """Turnout is of ballots: a vote-for-N contest's sheet totals N marks per ballot."""
    if "vote_for" not in tallies.columns:
        return tallies
    cast = cast_votes_total(tallies)
    return cast.with_columns(pl.col(TOTAL) // pl.col("vote_for").fill_null(1).clip(1, None))


def _named_back(mart: pl.DataFrame, back: dict[str, str]) -> pl.DataFrame:
    """The lines' column names (`p001`) back to the contest's candidate ids, in candidate_id
    and in F2's words (`share of …`)."""
    candidate = pl.col("candidate_id").replace_strict(back, default=None, return_dtype=pl.String)
    prefix = "share of "
    named = pl.concat_str(
        pl.lit(prefix),
        candidate,
        pl.col("detail").str.slice(len(prefix) + pl.col("candidate_id").str.len_chars()),
    )
    slot_named = pl.col("detail").str.starts_with(prefix + pl.col("candidate_id").fill_null(""))
    return mart.with_columns(
        pl.when(pl.col("candidate_id").is_not_null() & slot_named)
        .then(named)
        .otherwise(pl.col("detail"))
        .alias("detail"),
        candidate,
    )
