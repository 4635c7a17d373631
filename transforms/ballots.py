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

from transforms.contests import contests_by_slug, slug_expr
from transforms.feed import REGISTERED
from transforms.model import NATIONAL, Election

BALLOT_COLUMN = "contests"  # the registry's optional column
SEPARATOR = ";"
OFF_BALLOT = "off_ballot"  # evidence column: why a tally's contest is not on its unit's ballot
LISTED_MAX = 160  # characters of the unit's ballot shown in the evidence


def optional_registry_columns(election: Election) -> list[str]:
    """Registry columns kept where the file has them: the ballot list, and the unit's district
    at each district level of the election's own (`<level>_code`, in the codes the contracts
    build for the contests' districts)."""
    return [BALLOT_COLUMN, *[f"{level}_code" for level, _ in election.district_levels]]


def district_code_columns(registry: pl.DataFrame, election: Election) -> list[str]:
    """The `<level>_code` columns of the election's own district levels the registry has."""
    return [c for c in optional_registry_columns(election)[1:] if c in registry.columns]


def lists_ballots(registry: pl.DataFrame | None) -> bool:
    """Does the registry say which contests each unit votes in?"""
    return registry is not None and BALLOT_COLUMN in registry.columns


def registry_registered() -> pl.Expr:
    """A registry row's registered voters as a whole number (null where its text is none, once
    trimmed). Rule E2 holds a tally without a figure of its own to it, and contest_status bounds
    the unit's ballots still to come by it: both must read the same figure, or a unit the bound
    counts could send a tally E2 does not judge."""
    return pl.col(REGISTERED).cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False)


def _units(registry: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Every unit of the registry: tally_code, _style (its `contests` text: a ballot style, far
    fewer distinct values than units), registered, and its code at every level."""
    code = election.code_column(election.tally_level)
    columns = [*election.code_columns, *district_code_columns(registry, election)]
    codes = [pl.col(c).cast(pl.String).str.strip_chars().alias(c) for c in columns]
    return registry.select(
        pl.col(code).cast(pl.String).str.strip_chars().alias("tally_code"),
        pl.col(BALLOT_COLUMN).cast(pl.String).fill_null("").alias("_style"),
        registry_registered(),
        *codes,
    ).filter(pl.col("tally_code").is_not_null())


def _styles(units: pl.DataFrame, election: Election) -> pl.DataFrame:
    """_style, contest_id: the contests of each distinct ballot style (labels by slug; a
    contest listed twice is one row)."""
    return (
        units.select("_style")
        .unique()
        .with_columns(pl.col("_style").str.split(SEPARATOR).alias("_slug"))
        .explode("_slug")
        .with_columns(slug_expr(pl.col("_slug")).alias("_slug"))
        .filter(pl.col("_slug").is_not_null())
        .select(
            "_style",
            pl.col("_slug")
            .replace_strict(
                contests_by_slug(election.declared_contests),  # or the election's own
                default=pl.col("_slug"),
                return_dtype=pl.String,
            )
            .alias("contest_id"),
        )
        .unique()
    )


def ballot_pairs(registry: pl.DataFrame | None, election: Election) -> pl.DataFrame | None:
    """One row per unit and contest on its ballot: tally_code, contest_id, registered (the
    unit's registered voters, null where not a whole number), the unit's code at every level
    and at every district level of its own the registry has a `<level>_code` column for; None
    when the registry lists no ballots. A contest listed twice for a unit is one row; a
    unit listed twice counts once (its first row, as everywhere a registry repeats a code)."""
    if not lists_ballots(registry):
        return None
    units = _units(registry, election).unique("tally_code", keep="first")
    return units.join(_styles(units, election), on="_style", how="inner").drop("_style")


def off_ballot(tallies: pl.DataFrame, registry: pl.DataFrame, election: Election) -> pl.DataFrame:
    """tally_id → off_ballot for every tally whose unit is in the registry but whose contest is
    not on that unit's ballot (`mayor not on the unit's ballot: president; governor`: contest
    ids, which are slugs, so the text is plain; `(none)` for a unit that votes in no contest),
    or whose contest is on it but counted in a district of a level of its own other than the
    one the registry's `<level>_code` places the unit in (`assembly in district 2A, the
    registry's 1A`; `(none)` where it places the unit in none); null for every other tally (on
    the ballot and in its district, or a unit the registry does not list: E6's other half
    judges those). A tally in another district would count where the registry's bound on the
    ballots still to come (contest_status) did not expect it.

    tallies: tally_id, tally_code and contest_id (absent: every tally is the election's own
    contest's), and in a general election contest_district_level, contest_district.
    registry: one that lists ballots (lists_ballots)."""
    units = _units(registry, election).unique("tally_code", keep="first")
    styles = _styles(units.select("_style"), election)
    shown = styles.group_by("_style").agg(
        pl.col("contest_id").sort().str.join("; ").str.slice(0, LISTED_MAX).alias("_ballot")
    )
    on = styles.select("_style", pl.col("contest_id").alias("_contest"), pl.lit(True).alias("_on"))
    contest = (
        pl.col("contest_id")
        if "contest_id" in tallies.columns
        else pl.lit(election.default_contest.id)
    )
    frame = (
        tallies.select("tally_id", "tally_code", contest.alias("_contest"), *_district(tallies))
        .join(units, on="tally_code", how="left")
        .join(on, on=["_style", "_contest"], how="left")
        .join(shown, on="_style", how="left")
    )
    placed = _registry_district(registry, election)
    return frame.select(
        "tally_id",
        pl.when(pl.col("_style").is_not_null() & pl.col("_on").is_null())
        .then(
            pl.format(
                "{} not on the unit's ballot: {}",
                pl.col("_contest"),
                pl.col("_ballot").fill_null("(none)"),
            )
        )
        .when(pl.col("_style").is_not_null() & (placed != pl.col("_in")))
        .then(
            pl.format(
                "{} in {} {}, the registry's {}",
                pl.col("_contest"),
                pl.col("_level"),
                pl.col("_in"),
                placed,
            )
        )
        .alias(OFF_BALLOT),
    )


def _district(tallies: pl.DataFrame) -> list[pl.Expr]:
    """_level, _in: the tally's contest's district level and district (null without them)."""
    if "contest_district_level" not in tallies.columns:
        return [pl.lit(None, pl.String).alias("_level"), pl.lit(None, pl.String).alias("_in")]
    return [
        pl.col("contest_district_level").alias("_level"),
        pl.col("contest_district").alias("_in"),
    ]


def _registry_district(registry: pl.DataFrame, election: Election) -> pl.Expr:
    """Where the tally's contest is elected in a district level of the election's own and the
    registry has its `<level>_code` column: the unit's code there, `(none)` when the registry
    gives none (its units then count in no district's bound); else null (nothing to judge)."""
    placed = pl.lit(None, pl.String)
    for column in district_code_columns(registry, election):
        level = column.removesuffix("_code")
        placed = (
            pl.when(pl.col("_level") == level)
            .then(pl.col(column).fill_null("(none)"))
            .otherwise(placed)
        )
    return placed


def own_districts(tallies: pl.DataFrame, pairs: pl.DataFrame, election: Election) -> pl.DataFrame:
    """contest_id, tally_code, registered, level, unit_code: for each contest elected in a
    district level of its own (the level its tallies name), the district of every unit on whose
    ballot it is: the registry's `<level>_code` where it has that column, else the one district
    the contest's tallies name (a contest per district, e.g. `anc-6c02`). A contest whose tallies
    name several districts and no registry column places them is left out: which district a
    unit that has not reported belongs to is unknown.

    tallies: received tallies (contest_id, contest_district_level, contest_district);
    pairs: ballot_pairs."""
    columns = {
        "contest_id": pl.String,
        "tally_code": pl.String,
        REGISTERED: pl.Int64,
        "level": pl.String,
        "unit_code": pl.String,
    }
    if "contest_district_level" not in tallies.columns:
        return pl.DataFrame(schema=columns)
    per = (
        tallies.filter(
            pl.col("contest_district_level").is_not_null()
            & ~pl.col("contest_district_level").is_in(election.levels)
        )
        .group_by("contest_id")
        .agg(
            pl.col("contest_district_level").first().alias("level"),
            pl.col("contest_district_level").n_unique().alias("_levels"),
            pl.col("contest_district").drop_nulls().first().alias("_district"),
            pl.col("contest_district").drop_nulls().n_unique().alias("_n"),
        )
        .filter(pl.col("_levels") == 1)
    )
    frames = [pl.DataFrame(schema=columns)]
    for level in sorted(per["level"].unique().to_list()):
        mine = per.filter(level=level)
        column = f"{level}_code"
        if column in pairs.columns:
            placed = pairs.join(mine.select("contest_id"), on="contest_id", how="semi").select(
                "contest_id", "tally_code", REGISTERED, pl.lit(level).alias("level"),
                pl.col(column).alias("unit_code"),
            )  # fmt: skip
        else:
            placed = pairs.join(
                mine.filter(pl.col("_n") == 1).select("contest_id", "_district"), on="contest_id"
            ).select(
                "contest_id", "tally_code", REGISTERED, pl.lit(level).alias("level"),
                pl.col("_district").alias("unit_code"),
            )  # fmt: skip
        frames.append(placed.filter(pl.col("unit_code").is_not_null()))
    return pl.concat(frames).select([pl.col(c).cast(t) for c, t in columns.items()])


def expected_per_unit(
    pairs: pl.DataFrame, districts: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """contest_id, level, unit_code, expected: per contest, the number of units under each unit
    (every administrative level, national, and the contest's own districts where `own_districts`
    places them) on whose ballot the contest is. A unit under which no ballot lists the contest
    has no row.

    pairs: ballot_pairs; districts: own_districts."""
    frames = [
        pairs.group_by("contest_id", code)
        .agg(pl.len().alias("expected"))
        .select(
            "contest_id", pl.lit(level).alias("level"), pl.col(code).alias("unit_code"), "expected"
        )
        for level, code in zip(election.levels, election.code_columns, strict=True)
    ]
    frames.append(
        pairs.group_by("contest_id")
        .agg(pl.len().alias("expected"))
        .select(
            "contest_id",
            pl.lit(NATIONAL).alias("level"),
            pl.lit(NATIONAL).alias("unit_code"),
            "expected",
        )
    )
    frames.append(
        districts.group_by("contest_id", "level", "unit_code").agg(pl.len().alias("expected"))
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
    the unit's own code at an administrative district level, and `own_districts`' at a level of
    its own; a contest it cannot place has no row (its bound stays unknown).

    pairs: ballot_pairs; contests: contest_id, district_level (null: the whole election);
    districts: own_districts."""
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
        districts.join(
            contests.select("contest_id", pl.col("district_level").alias("level")),
            on=["contest_id", "level"],
            how="semi",
        ).select("contest_id", "level", "unit_code", "tally_code", REGISTERED)
    )
    return pl.concat(frames)
