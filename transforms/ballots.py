"""The ballots a registry lists: which contests each polling unit votes in. Pure polars.

A registry may carry a `contests` column: per unit, the contests on its ballot, separated by
`;`, each named by its id, name or an alias (matched by slug, as contests are matched
everywhere: transforms/contests.py). A label that is no declared contest names the discovered
contest of that slug. Without the column the registry says nothing about ballots (every contest
may be on every ballot); with it, the list is complete: an empty cell is a unit on whose ballot
no contest is. From the list follow rule E6's ballot half (a tally for a contest not on its
unit's ballot), the expected tallies per contest in `coverage`, and the ballots still to come
per contest and district in `contest_status`.
"""

from __future__ import annotations

import polars as pl

from transforms.contests import slug, slug_expr
from transforms.feed import REGISTERED
from transforms.model import NATIONAL, Election

BALLOT_COLUMN = "contests"  # the registry's optional column
SEPARATOR = ";"
OFF_BALLOT = "off_ballot"  # evidence column: why a tally's contest is not on its unit's ballot
LISTED_MAX = 160  # characters of the unit's ballot shown in the evidence


def lists_ballots(registry: pl.DataFrame | None) -> bool:
    """Does the registry say which contests each unit votes in?"""
    return registry is not None and BALLOT_COLUMN in registry.columns


def _by_slug(election: Election) -> dict[str, str]:
    """slug of every declared contest's id, name and alias (or the election's own) → its id."""
    found: dict[str, str] = {}
    for contest in election.declared_contests:
        for label in (contest.id, contest.name, *contest.aliases):
            key = slug(label)
            if key is not None:
                found.setdefault(key, contest.id)
    return found


def ballot_pairs(registry: pl.DataFrame | None, election: Election) -> pl.DataFrame | None:
    """One row per unit and contest on its ballot: tally_code, contest_id, registered (the
    unit's registered voters, null where not a whole number) and the unit's code at every level;
    None when the registry lists no ballots. A contest listed twice for a unit is one row."""
    if not lists_ballots(registry):
        return None
    code = election.code_column(election.tally_level)
    labels = (
        pl.col(BALLOT_COLUMN)
        .cast(pl.String)
        .fill_null("")
        .str.split(SEPARATOR)
        .list.eval(slug_expr(pl.element()))
    )
    codes = [pl.col(c).cast(pl.String).str.strip_chars().alias(c) for c in election.code_columns]
    return (
        registry.select(
            pl.col(code).cast(pl.String).str.strip_chars().alias("tally_code"),
            labels.alias("_slug"),
            pl.col(REGISTERED)
            .cast(pl.String)
            .str.strip_chars()
            .cast(pl.Int64, strict=False)
            .alias(REGISTERED),
            *codes,
        )
        .explode("_slug")
        .filter(pl.col("_slug").is_not_null() & pl.col("tally_code").is_not_null())
        .with_columns(
            pl.col("_slug")
            .replace_strict(_by_slug(election), default=pl.col("_slug"), return_dtype=pl.String)
            .alias("contest_id")
        )
        .unique(["tally_code", "contest_id"], keep="first", maintain_order=True)
        .select("tally_code", "contest_id", REGISTERED, *election.code_columns)
    )


def off_ballot(tallies: pl.DataFrame, registry: pl.DataFrame, election: Election) -> pl.DataFrame:
    """tally_id → off_ballot for every tally whose unit is in the registry but whose contest is
    not on that unit's ballot (`mayor not on the unit's ballot: president; governor`: contest
    ids, which are slugs, so the text is plain; `(none)` for a unit that votes in no contest);
    null for every other tally (on the ballot, or a unit the registry does not list: E6's other
    half judges those).

    tallies: tally_id, tally_code and contest_id (absent: every tally is the election's own
    contest's). registry: one that lists ballots (lists_ballots)."""
    pairs = ballot_pairs(registry, election)
    contest = (
        pl.col("contest_id")
        if "contest_id" in tallies.columns
        else pl.lit(election.default_contest.id)
    )
    code = election.code_column(election.tally_level)
    listed = (
        registry.select(pl.col(code).cast(pl.String).str.strip_chars().alias("tally_code"))
        .unique()
        .with_columns(pl.lit(True).alias("_listed"))
    )
    ballots = pairs.group_by("tally_code").agg(
        pl.col("contest_id").sort().str.join("; ").str.slice(0, LISTED_MAX).alias("_ballot")
    )
    on = pairs.select(
        "tally_code", pl.col("contest_id").alias("_contest"), pl.lit(True).alias("_on")
    )
    frame = (
        tallies.select("tally_id", "tally_code", contest.alias("_contest"))
        .join(listed, on="tally_code", how="left")
        .join(ballots, on="tally_code", how="left")
        .join(on, on=["tally_code", "_contest"], how="left")
    )
    return frame.select(
        "tally_id",
        pl.when(pl.col("_listed") & pl.col("_on").is_null() & pl.col("_contest").is_not_null())
        .then(
            pl.format(
                "{} not on the unit's ballot: {}",
                pl.col("_contest"),
                pl.col("_ballot").fill_null("(none)"),
            )
        )
        .alias(OFF_BALLOT),
    )


def single_districts(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """contest_id, level, unit_code: the one district of its own level (not an administrative
    one) that the tallies of each contest name. A contest whose tallies name none or several is
    left out: which of its districts a unit that has not reported belongs to is unknown."""
    if "contest_district_level" not in tallies.columns:
        return pl.DataFrame(
            schema={"contest_id": pl.String, "level": pl.String, "unit_code": pl.String}
        )
    own = tallies.filter(
        pl.col("contest_district_level").is_not_null()
        & ~pl.col("contest_district_level").is_in(election.levels)
        & pl.col("contest_district").is_not_null()
    )
    return (
        own.group_by("contest_id")
        .agg(
            pl.col("contest_district_level").first().alias("level"),
            pl.col("contest_district").first().alias("unit_code"),
            pl.col("contest_district").n_unique().alias("_n"),
            pl.col("contest_district_level").n_unique().alias("_levels"),
        )
        .filter((pl.col("_n") == 1) & (pl.col("_levels") == 1))
        .select("contest_id", "level", "unit_code")
    )


def expected_per_unit(
    pairs: pl.DataFrame, districts: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """contest_id, level, unit_code, expected: per contest, the number of units under each unit
    (every administrative level, national, and the contest's own district where
    `single_districts` knows it) on whose ballot the contest is. A unit under which no ballot
    lists the contest has no row.

    pairs: ballot_pairs; districts: single_districts."""
    placed = pairs
    frames = [
        placed.group_by("contest_id", code)
        .agg(pl.len().alias("expected"))
        .select(
            "contest_id", pl.lit(level).alias("level"), pl.col(code).alias("unit_code"), "expected"
        )
        for level, code in zip(election.levels, election.code_columns, strict=True)
    ]
    frames.append(
        placed.group_by("contest_id")
        .agg(pl.len().alias("expected"))
        .select(
            "contest_id",
            pl.lit(NATIONAL).alias("level"),
            pl.lit(NATIONAL).alias("unit_code"),
            "expected",
        )
    )
    frames.append(
        placed.group_by("contest_id")
        .agg(pl.len().alias("expected"))
        .join(districts, on="contest_id", how="inner")
        .select("contest_id", "level", "unit_code", "expected")
    )
    return pl.concat(frames).with_columns(pl.col("expected").cast(pl.Int64))


def expected_in_districts(
    pairs: pl.DataFrame,
    contests: pl.DataFrame,
    districts: pl.DataFrame,
    election: Election,
) -> pl.DataFrame:
    """One row per contest, district and unit expected to report the contest there: contest_id,
    level, unit_code (the district), tally_code, registered (`contest_status.uncounted_registered`
    takes them). The district is the national unit for a contest elected by the whole election,
    the unit's own code at an administrative district level, and `single_districts`' one
    district at a level of its own; a contest elected in several districts of its own level has
    no row (its bound stays unknown).

    pairs: ballot_pairs; contests: contest_id, district_level (null: the whole election);
    districts: single_districts."""
    placed = pairs.join(
        contests.select("contest_id", "district_level"), on="contest_id", how="inner"
    )
    frames = [
        placed.filter(pl.col("district_level").is_null()).select(
            "contest_id",
            pl.lit(NATIONAL).alias("level"),
            pl.lit(NATIONAL).alias("unit_code"),
            "tally_code",
            REGISTERED,
        )
    ]
    for level, code in zip(election.levels, election.code_columns, strict=True):
        frames.append(
            placed.filter(pl.col("district_level") == level).select(
                "contest_id",
                pl.lit(level).alias("level"),
                pl.col(code).alias("unit_code"),
                "tally_code",
                REGISTERED,
            )
        )
    frames.append(
        placed.join(
            districts, left_on=["contest_id", "district_level"], right_on=["contest_id", "level"]
        ).select(
            "contest_id",
            pl.col("district_level").alias("level"),
            "unit_code",
            "tally_code",
            REGISTERED,
        )
    )
    return pl.concat(frames)
