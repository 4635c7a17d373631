"""Roll tallies up the geography: from the tally's unit through every level to national.

Each level is aggregated from the level below it, so the work shrinks as it climbs.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.ballots import expected_per_unit, own_districts
from transforms.feed import BLANK, NULL, OTHER, OTHER_ID, OTHER_NAME, REGISTERED, TOTAL, VALID
from transforms.model import NATIONAL, Election
from transforms.staging import (
    CONTEST,
    DISTRICT_COLUMNS,
    WITHOUT_LIST,
    cast_votes_total,
    district_columns,
    with_contest,
)

UNITS_WITHOUT_LIST = "units_without_list"
VOTES_WITHOUT_LIST = "votes_without_list"
TURNOUT_MEASURES = (REGISTERED, VALID, NULL, BLANK, TOTAL, UNITS_WITHOUT_LIST, VOTES_WITHOUT_LIST)
UNIT_COLUMNS = ("source_id", CONTEST, "level", "unit_code", "unit_name")
TURNOUT_COLUMNS = (
    *UNIT_COLUMNS,
    "parent_code",
    *TURNOUT_MEASURES[:5],
    "turnout",
    UNITS_WITHOUT_LIST,
    VOTES_WITHOUT_LIST,
)
COVERAGE_COLUMNS = (*UNIT_COLUMNS, "expected", "received", "counted", "percent_reporting")


@dataclass(frozen=True)
class Marts:
    results_wide: pl.DataFrame  # one row per unit; see results_long for the mart's shape
    turnout: pl.DataFrame
    coverage: pl.DataFrame
    # a general election's results, long: the rows the marts after it read (each contest's
    # district level and national; the whole mart is written contest by contest, never held)
    results: pl.DataFrame | None = None


def climb(
    frame: pl.DataFrame,
    election: Election,
    keys: list[str],
    aggs,
    lowest: bool = True,
    as_is: bool = False,
    completed=None,
) -> list[pl.DataFrame]:
    """Aggregate `frame` at every level, lowest first, then national; then, for the contests
    elected in districts of their own (a general election), over those districts.

    Returns one frame per level with columns: source_id, level, unit_code, parent_code, *keys, aggs.
    lowest=False: not the lowest level (the tally's own), whose rows the caller does not want:
    the level above is aggregated from `frame` straight away (`aggs` must then sum).
    as_is: `aggs` give a group of one row that row's values (_sum_all_known, a sum of a column
    without nulls), so where each row is a unit of the lowest level of its own
    (one_row_per_unit), that level is `frame`'s rows as they are: grouping them by every code
    level was the dearest group of the climb.
    completed: (rows, group) → rows: each level's grouped rows (`group`: the columns they are
    grouped by), given more measures before they become units (quality_summary joins each
    level's sums of the few tallies with issues); the next level climbs from the rows before it.
    """
    codes = election.code_columns
    out: list[pl.DataFrame] = []
    districts = _district_frame(frame, election, keys, aggs, completed)
    # one chunk: a frame joined or concatenated in pieces groups several times slower
    current = frame.drop(district_columns(frame)).rechunk()
    as_is = as_is and lowest and one_row_per_unit(current, keys, codes[-1])
    for depth in range(len(codes) - (0 if lowest else 1), -1, -1):
        group = ["source_id", *keys, *codes[:depth]]
        if not (as_is and depth == len(codes)):
            current = current.group_by(group).agg(aggs(current))
        rows = completed(current, group) if completed else current
        out.append(as_units(rows, election, depth, keys, group))
    return [*out, *districts]


def one_row_per_unit(frame: pl.DataFrame, keys: list[str], code: str) -> bool:
    """Is each row of `frame` a unit of its own at the level of `code` (per source and `keys`)?
    Then grouping by every code down to that level leaves its rows as they are. Counted per
    source and value of the keys (few), the codes alone: a count of distinct rows of every key
    column cost twice as much."""
    per_group = frame.lazy().group_by("source_id", *keys).agg(pl.col(code).n_unique()).collect()
    return per_group[code].sum() == frame.height


def as_units(
    grouped: pl.DataFrame, election: Election, depth: int, keys: list[str], group: list[str]
) -> pl.DataFrame:
    """A level's rows of a climb (`grouped` by source, `keys` and the codes of the levels down
    to `depth`: 0 is national) as source_id, level, unit_code, parent_code, *keys, measures."""
    codes = election.code_columns
    if depth:
        level = election.levels[depth - 1]
        unit = pl.col(codes[depth - 1])
        parent = pl.col(codes[depth - 2]) if depth > 1 else pl.lit(NATIONAL)
    else:
        level, unit, parent = NATIONAL, pl.lit(NATIONAL), pl.lit(None, pl.String)
    return grouped.select(
        "source_id",
        pl.lit(level).alias("level"),
        unit.alias("unit_code"),
        parent.alias("parent_code"),
        *keys,
        *[c for c in grouped.columns if c not in group],
    )


def _district_frame(frame: pl.DataFrame, election: Election, keys: list[str], aggs, completed=None):
    """The rows of the districts that are not administrative units (they do not nest): per
    contest and district, summed straight from the tallies (level: the district level)."""
    if "contest_district_level" not in frame.columns:
        return []
    own = frame.filter(
        pl.col("contest_district_level").is_not_null()
        & ~pl.col("contest_district_level").is_in(election.levels)
    )
    if own.is_empty():
        return []
    group = ["source_id", *keys, *DISTRICT_COLUMNS]
    summed = own.drop(election.code_columns).group_by(group).agg(aggs(own))
    summed = completed(summed, group) if completed else summed
    return [
        summed.select(
            "source_id",
            pl.col("contest_district_level").alias("level"),
            pl.col("contest_district").alias("unit_code"),
            pl.lit(NATIONAL).alias("parent_code"),
            *keys,
            *[c for c in summed.columns if c not in group],
        )
    ]


def _sum_all_known(column: str) -> pl.Expr:
    """Sum, or null when any contributing value is unknown (a partial sum would mislead)."""
    return pl.when(pl.col(column).null_count() == 0).then(pl.col(column).sum()).alias(column)


def sums_all_known(frame: pl.DataFrame, columns) -> list[pl.Expr]:
    """_sum_all_known of each of `columns`, a plain sum where `frame`'s column has no null at
    all (the same sums: no group has an unknown value), which groups faster."""
    return [pl.col(c).sum() if not frame[c].null_count() else _sum_all_known(c) for c in columns]


def turnout_base(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Per tally, the turnout measures: registered voters counted only where the unit has a list
    (a unit without one adds 0 to `registered` and its ballots to `votes_without_list`)."""
    tallies = with_contest(tallies, election)
    has = WITHOUT_LIST in tallies.columns
    without = pl.col(WITHOUT_LIST).fill_null(False) if has else pl.lit(False)
    return _ballots_cast(tallies).select(
        "source_id",
        CONTEST,
        *district_columns(tallies),
        *election.code_columns,
        pl.when(without).then(pl.lit(0, pl.Int64)).otherwise(pl.col(REGISTERED)).alias(REGISTERED),
        VALID,
        NULL,
        BLANK,
        TOTAL,
        without.cast(pl.Int64).alias(UNITS_WITHOUT_LIST),
        pl.when(without).then(pl.col(TOTAL)).otherwise(0).cast(pl.Int64).alias(VOTES_WITHOUT_LIST),
    )


def _ballots_cast(tallies: pl.DataFrame) -> pl.DataFrame:
    """total_votes as ballots: the declared total, else valid + null + blank, which in a
    general election's vote-for-N contest are N marks per ballot (its lines, under votes
    included, add up to N × ballots: rules E2, E4, W1 divide the same way), so divided by N,
    rounded up where the lines do not divide evenly (never fewer ballots than their marks need).
    An election of one contest (no vote_for column): staging.cast_votes_total."""
    if "vote_for" not in tallies.columns:
        return cast_votes_total(tallies)
    marks = pl.col(VALID) + pl.col(NULL) + pl.col(BLANK).fill_null(0)
    per = pl.col("vote_for").fill_null(1).cast(pl.Int64)
    return tallies.with_columns(pl.coalesce(TOTAL, (marks + per - 1) // per).alias(TOTAL))


def _turnout(tallies: pl.DataFrame, election: Election, count: bool = False) -> pl.DataFrame:
    """Every level's turnout measures; count: and how many tallies each unit has (TALLIES)."""
    base = turnout_base(tallies, election)
    if count:
        base = base.with_columns(pl.lit(1, pl.Int64).alias(TALLIES))

    def aggs(frame: pl.DataFrame) -> list[pl.Expr]:
        return sums_all_known(frame, TURNOUT_MEASURES) + ([pl.col(TALLIES).sum()] if count else [])

    frames = climb(base, election, [CONTEST], aggs, as_is=True)
    return pl.concat(frames).with_columns(turnout_ratio())


def turnout_ratio() -> pl.Expr:
    """Ballots of the units with a list over their registered voters."""
    listed = pl.col(TOTAL) - pl.col(VOTES_WITHOUT_LIST)
    return pl.when(pl.col(REGISTERED) > 0).then(listed / pl.col(REGISTERED)).alias("turnout")


def percent_reporting() -> pl.Expr:
    return (
        pl.when(pl.col("expected") > 0)
        .then(pl.col("counted") * 100.0 / pl.col("expected"))
        .alias("percent_reporting")
    )


def rank_among(columns: list[str], column: str) -> pl.Expr:
    """1 + how many candidates received strictly more votes (ties share the better rank)."""
    return 1 + pl.sum_horizontal([(pl.col(o) > pl.col(column)).cast(pl.Int32) for o in columns])


RESULT_KEYS = ("source_id", CONTEST, "level", "unit_code", "unit_name", "parent_code")
RESULT_MEASURES = ("votes", "share", "rank")
RESULT_COLUMNS = (*RESULT_KEYS, "candidate_id", "candidate_name", *RESULT_MEASURES)


def wide_column(candidate_id: str, measure: str) -> str:
    """Name of one candidate's measure in the wide results: `<candidate>__<measure>`."""
    return f"{candidate_id}__{measure}"


def named(frame: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """Each row's unit name; a district of its own (in no registry) is named by its code."""
    joined = frame.join(names, on=["level", "unit_code"], how="left")
    return joined.with_columns(pl.coalesce("unit_name", "unit_code").alias("unit_name"))


def other_column(election: Election) -> list[pl.Expr]:
    """A tally's other votes as the results' `_other` line (none unless a contract maps them; a
    tally whose contract does not map them has none: 0)."""
    if not election.other_votes:
        return []
    return [pl.col(OTHER).fill_null(0).cast(pl.Int64).alias(OTHER_ID)]


def result_measures(election: Election) -> list[pl.Expr]:
    """From a votes column per result line (candidates, then `_other` where there is one): each
    one's votes, share of the unit's valid votes and rank, in the wide results' columns. The
    other votes count in the valid votes (the shares' base) but are never ranked (rank null)."""
    candidates, lines = election.candidate_ids, election.result_ids
    valid = pl.sum_horizontal(lines)
    return [
        *[pl.col(c).cast(pl.Int64).alias(wide_column(c, "votes")) for c in lines],
        *[pl.when(valid > 0).then(pl.col(c) / valid).alias(wide_column(c, "share")) for c in lines],
        *[
            (
                rank_among(candidates, c).cast(pl.Int32)
                if c != OTHER_ID
                else pl.lit(None, pl.Int32)
            ).alias(wide_column(c, "rank"))
            for c in lines
        ],
    ]


def result_names(election: Election) -> list[tuple[str, str]]:
    """(candidate_id, candidate_name) of every results line."""
    names = [(c.id, c.name) for c in election.candidates]
    return [*names, (OTHER_ID, OTHER_NAME)] if election.other_votes else names


def results_long(results_wide: pl.DataFrame, election: Election) -> pl.DataFrame:
    """The results mart's shape: one row per unit and candidate.

    The reference definition; the warehouse builds the same rows with DuckDB's UNPIVOT, which
    writes 15 million rows several times faster (tests hold the two equal).
    """
    return pl.concat(
        results_wide.select(
            *RESULT_KEYS,
            pl.lit(cid).alias("candidate_id"),
            pl.lit(name).alias("candidate_name"),
            *[pl.col(wide_column(cid, m)).alias(m) for m in RESULT_MEASURES],
        )
        for cid, name in result_names(election)
    )


def _national_unit(election: Election, expected: int | None) -> pl.DataFrame:
    """The one unit above every level."""
    return pl.DataFrame(
        {
            "level": [NATIONAL],
            "unit_code": [NATIONAL],
            "unit_name": [election.name],
            "parent_code": [None],
            "expected": [expected],
        },
        schema={
            "level": pl.String,
            "unit_code": pl.String,
            "unit_name": pl.String,
            "parent_code": pl.String,
            "expected": pl.Int64,
        },
    )


def units_from_registry(registry: pl.DataFrame, election: Election) -> pl.DataFrame:
    """One row per unit at every level: level, unit_code, unit_name, parent_code, expected."""
    frames = []
    levels = election.levels
    for depth, level in enumerate(levels):
        parent = pl.col(f"{levels[depth - 1]}_code") if depth else pl.lit(NATIONAL)
        frames.append(
            registry.group_by(f"{level}_code")
            .agg(
                pl.col(f"{level}_name").first().alias("unit_name"),
                parent.first().alias("parent_code"),
                pl.len().alias("expected"),
            )
            .select(
                pl.lit(level).alias("level"),
                pl.col(f"{level}_code").alias("unit_code"),
                "unit_name",
                "parent_code",
                "expected",
            )
        )
    frames.append(_national_unit(election, registry.height))
    return pl.concat(frames, how="vertical_relaxed").with_columns(pl.col("expected").cast(pl.Int64))


def _coverage(
    received_tallies: pl.DataFrame,
    counted_tallies: pl.DataFrame,
    units: pl.DataFrame,
    sources: list[str],
    election: Election,
    ballots: pl.DataFrame | None = None,
    counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Expected, received and counted tally units per unit, in one climb.

    ballots: transforms.ballots.ballot_pairs, where the registry lists each unit's contests:
    then each contest's expected tallies are counted over the units where it is on the ballot
    (every administrative level, national, and its own district where its tallies name one),
    and coverage lists only those units (and any that received a tally of it).
    counts: source_id, contest_id, level, unit_code, received, counted where the caller has
    climbed them already (_one_contest_marts), and unit_name where it has named them
    (counts_marts): a unit is then named by the units or the counts, not by a join of every
    row (`named`'s names all the same: the units' own, else the counts', else the code)."""
    if counts is None:
        counts = _received_and_counted(received_tallies, counted_tallies, election)
    source_frame = pl.DataFrame({"source_id": sources}, schema={"source_id": pl.String})
    keys = ["source_id", CONTEST, "level", "unit_code"]
    if ballots is not None:  # the registry lists each unit's contests
        districts = own_districts(received_tallies, ballots, election)
        expected = expected_per_unit(ballots, districts, election)
        frame = (
            source_frame.join(expected, how="cross")
            .join(counts.drop("unit_name", strict=False), on=keys, how="full", coalesce=True)
            .join(_registry_units(units), on=["level", "unit_code"], how="left")
            .with_columns(
                pl.col("received", "counted").fill_null(0),
                # a unit of the registry on no ballot of the contest expects none of it
                pl.when(pl.col("_listed"))
                .then(pl.col("expected").fill_null(0))
                .otherwise(pl.col("expected")),
            )
            .drop("_listed")
        )
        names = units.select("level", "unit_code", "unit_name")
        return named(frame, names).with_columns(percent_reporting()).select(COVERAGE_COLUMNS)
    everywhere = _contests_everywhere(received_tallies, election)
    # an election of one contest: its units carry their names (each unit once), a unit only the
    # tallies know being named by its code as `named` names it; a general election's contests
    # elected in districts have rows of the units that reported them only, named after the join
    one_contest = "contest_district_level" not in received_tallies.columns
    counts_named = "unit_name" in counts.columns
    carried = ["unit_name"] if one_contest or counts_named else []
    listed = units.select("level", "unit_code", *carried, "expected")
    frame = _every_unit_with_counts(source_frame.join(everywhere, how="cross"), listed, counts)
    frame = frame.with_columns(pl.col("received", "counted").fill_null(0))
    if one_contest:
        frame = frame.with_columns(pl.coalesce("unit_name", "unit_code").alias("unit_name"))
    elif counts_named:
        name = pl.coalesce("unit_name", "unit_name_right", "unit_code")
        frame = frame.with_columns(name.alias("unit_name"))
    else:
        frame = named(frame, units.select("level", "unit_code", "unit_name"))
    return frame.with_columns(percent_reporting()).select(COVERAGE_COLUMNS)


def _every_unit_with_counts(
    pairs: pl.DataFrame, listed: pl.DataFrame, counts: pl.DataFrame
) -> pl.DataFrame:
    """The rows of a full join of every unit `listed` for each source and contest of `pairs`
    with `counts` (source_id, contest_id, level, unit_code, ...) on those four columns, joined
    one source and contest at a time on level and unit_code: one join of every row on two keys
    of few values and two of many cost more than the rest of coverage. A source and contest
    of the counts not in `pairs` keeps its rows as they are, with no unit's columns."""
    keys = ["source_id", CONTEST, "level", "unit_code"]
    # no rows, the columns the join of every row would give, in its order
    shape = pairs.clear().join(listed.clear(), how="cross")
    shape = shape.join(counts.clear(), on=keys, how="full", coalesce=True)
    per_pair = counts.partition_by("source_id", CONTEST, as_dict=True)
    frames = [shape]
    for source, contest in pairs.select("source_id", CONTEST).iter_rows():
        own = per_pair.pop((source, contest), counts.clear()).drop("source_id", CONTEST)
        joined = listed.join(own, on=keys[2:], how="full", coalesce=True)
        pair = [pl.lit(source).alias("source_id"), pl.lit(contest).alias(CONTEST)]
        frames.append(joined.select(*pair, pl.all()))
    both = [c for c in listed.columns if c in counts.columns and c not in keys]
    frames += [part.rename({c: f"{c}_right" for c in both}) for part in per_pair.values()]
    return pl.concat(frames, how="diagonal")


def _received_and_counted(
    received_tallies: pl.DataFrame, counted_tallies: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """source_id, contest_id, level, unit_code, received, counted: tally units received and
    counted under each unit, climbed."""
    return pl.concat(
        climb(
            tally_units(received_tallies, counted_tallies, election),
            election,
            [CONTEST],
            lambda _f: [pl.col("received").sum(), pl.col("counted").sum()],
        )
    ).select("source_id", CONTEST, "level", "unit_code", "received", "counted")


def of_a_contest(received_tallies: pl.DataFrame) -> pl.DataFrame:
    """The received tallies that name a contest. A long feed's row whose contest cannot be
    determined (an empty office) is a tally of no contest, quarantined under E8 and listed in
    quality_issues; it counts in no contest's coverage (a contest's coverage is over the units
    where it is on the ballot), so no mart holds a row of a contest that does not exist."""
    return received_tallies.filter(pl.col(CONTEST).is_not_null())


def tally_units(
    received_tallies: pl.DataFrame,
    counted_tallies: pl.DataFrame,
    election: Election,
    sign: int = 1,
) -> pl.DataFrame:
    """One row per tally unit received (source, contest, tally_code) with its district and
    code columns, received = `sign` and counted = `sign` where one of its tallies is counted,
    else 0 (an incremental change takes the tallies it replaces with sign -1)."""
    unit = ["source_id", CONTEST, "tally_code"]
    districts = district_columns(received_tallies)
    counted_units = (
        counted_tallies.select(unit).unique().with_columns(pl.lit(sign, pl.Int64).alias("counted"))
    )
    return (
        received_tallies.unique(subset=unit)
        .select(*unit, *districts, *election.code_columns)
        .join(counted_units, on=unit, how="left")
        .select(
            "source_id",
            CONTEST,
            *districts,
            *election.code_columns,
            pl.lit(sign, pl.Int64).alias("received"),
            pl.col("counted").fill_null(0),
        )
    )


def _registry_units(units: pl.DataFrame) -> pl.DataFrame:
    """level, unit_code of the units the registry lists (those with an expected count)."""
    return (
        units.filter(pl.col("expected").is_not_null())
        .select("level", "unit_code")
        .unique()
        .with_columns(pl.lit(True).alias("_listed"))
    )


def _contests_everywhere(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """The contests on every ballot (no district of their own, or none known): coverage lists
    every unit for them, expected included. A contest elected in districts lists the units that
    reported it (how many tallies each district expects is not known from the registry)."""
    if "contest_district_level" not in tallies.columns:  # an election of one contest
        contests = tallies.select(CONTEST).unique()
        contests = pl.concat([contests, pl.DataFrame({CONTEST: [election.default_contest.id]})])
        return contests.unique().sort(CONTEST)
    # per contest, whether any of its tallies names a district level: one pass over the two
    # columns (a filter of the whole frame first copied every column of the districted rows)
    districted = pl.col("contest_district_level").is_not_null().any().alias("_districted")
    per_contest = tallies.lazy().group_by(CONTEST).agg(districted).collect()
    return per_contest.filter(~pl.col("_districted")).select(CONTEST).sort(CONTEST)


def build_marts(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    units: pl.DataFrame,
    election: Election,
    received: pl.DataFrame | None = None,
) -> Marts:
    """An election of one contest's results (wide: results_long gives the mart's shape),
    turnout and coverage from its accepted tallies. `units` comes from units_from_registry;
    `votes` is wide (one column per candidate, see staging.votes_wide); `received`: every
    staged tally, accepted or not (default: the accepted ones), for coverage.

    A general election's results are climbed contest by contest, wide where the contest's
    districts nest in the administrative levels and long elsewhere (transforms.contest_results,
    orchestration.mart_builds); its turnout and coverage are counts_marts'.
    """
    tallies, received, sources = _counted_and_received(tallies, received, election)
    return _one_contest_marts(tallies, votes, units, election, received, sources)


def counts_marts(
    tallies: pl.DataFrame,
    units: pl.DataFrame,
    election: Election,
    received: pl.DataFrame | None = None,
    ballots: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The turnout and coverage marts (build_marts' arguments of the same names). Coverage's
    counts are those of turnout's climb (how many tallies each unit has) when every received
    tally is accepted, each unit once, as in _one_contest_marts; else a climb of their own."""
    tallies, received, sources = _counted_and_received(tallies, received, election)
    names = units.select("level", "unit_code", "unit_name")
    counted = _all_accepted_once(received, tallies)
    climbed = named(_turnout(tallies, election, counted), names)
    # coverage's counts carry turnout's names: its rows are not named again by a join
    counts = _tally_counts(climbed).with_columns(climbed["unit_name"]) if counted else None
    turnout = climbed.select(TURNOUT_COLUMNS)
    return turnout, _coverage(received, tallies, units, sources, election, ballots, counts)


def _counted_and_received(
    tallies: pl.DataFrame, received: pl.DataFrame | None, election: Election
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """The accepted tallies and the received ones (default: the accepted), each naming its
    contest, the received of a contest only (of_a_contest), and every source at the polling
    units: what build_marts and counts_marts climb."""
    tallies = with_contest(tallies, election)
    received = of_a_contest(tallies if received is None else with_contest(received, election))
    return tallies, received, _polling_sources(received, election)


def _polling_sources(received: pl.DataFrame, election: Election) -> list[str]:
    """Every source at the polling units, even one with no tally yet (not those above them)."""
    declared = {s.id for s in election.sources if s.id not in election.higher_sources}
    return sorted(set(received["source_id"].unique().to_list()) | declared)


VOTED = "_voted"  # per unit: its tallies with votes (a row in `votes`)
TALLIES = "_tallies"  # per unit: its tallies


def _one_contest_marts(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    units: pl.DataFrame,
    election: Election,
    received: pl.DataFrame,
    sources: list[str],
) -> Marts:
    """An election of one contest's marts, from one climb of the accepted tallies for turnout,
    results and (when every received tally is accepted, each unit once) coverage's counts, named
    once: the same rows as _turnout, _coverage and a climb of the votes joined to their
    tallies would give, at a third of the cost of the three."""
    names = units.select("level", "unit_code", "unit_name")
    climbed = named(_turnout_and_votes(tallies, votes, election), names)
    turnout = climbed.with_columns(turnout_ratio()).select(TURNOUT_COLUMNS)
    voted = climbed.filter(pl.col(VOTED) > 0).rename(
        {wide_column(c, "votes"): c for c in election.result_ids}
    )
    results = voted.select(*RESULT_KEYS, *result_measures(election))
    counts = _tally_counts(climbed) if _all_accepted_once(received, tallies) else None
    coverage = _coverage(received, tallies, units, sources, election, counts=counts)
    return Marts(results, turnout, coverage)


def _tally_counts(climbed: pl.DataFrame) -> pl.DataFrame:
    """Coverage's received and counted tally units from a climb that counted each unit's
    tallies (TALLIES): the same, where every received tally is accepted, each unit once."""
    count = pl.col(TALLIES)
    return climbed.select(
        "source_id", CONTEST, "level", "unit_code", count.alias("received"), count.alias("counted")
    )


def _turnout_and_votes(
    tallies: pl.DataFrame, votes: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """Every level's turnout measures (_turnout's) and result lines' votes (as
    `<line>__votes`), how many tallies each unit has (TALLIES) and how many of them have votes
    (VOTED: the results leave out a unit none of whose tallies has votes)."""
    lines = election.result_ids
    voted = pl.col(VOTED).is_not_null()
    other = [pl.when(voted).then(OTHER_ID).alias(OTHER_ID)] if election.other_votes else []
    votes = votes.select(
        "tally_id",
        *[pl.col(c).alias(wide_column(c, "votes")) for c in election.candidate_ids],
        pl.lit(1, pl.Int64).alias(VOTED),
    )
    tally = pl.lit(1, pl.Int64).alias(TALLIES)
    base = (
        pl.concat(
            [turnout_base(tallies, election), tallies.select("tally_id", *other_column(election))],
            how="horizontal",
        )
        .join(votes, on="tally_id", how="left")
        .drop("tally_id")
        .with_columns(*other, tally)
        .rename({OTHER_ID: wide_column(OTHER_ID, "votes")} if other else {})
    )

    def aggs(frame: pl.DataFrame) -> list[pl.Expr]:
        return [
            *sums_all_known(frame, TURNOUT_MEASURES),
            *[pl.col(wide_column(c, "votes")).sum() for c in lines],
            pl.col(VOTED).sum(),
            pl.col(TALLIES).sum(),
        ]

    return pl.concat(climb(base, election, [CONTEST], aggs))


def _all_accepted_once(received: pl.DataFrame, tallies: pl.DataFrame) -> bool:
    """Are the received tallies the accepted ones (nothing quarantined), each unit (source,
    contest, tally_code) once? Then each unit's tallies are its received and counted ones."""
    if received.height != tallies.height or not received["tally_id"].equals(tallies["tally_id"]):
        return False
    return one_row_per_unit(received, [CONTEST], "tally_code")


def units_from_tallies(
    tallies: pl.DataFrame,
    election: Election,
    names: dict[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Units at every level as the feeds name them, when no registry is loaded.

    Names come from the level's names file if the election has one (`names`: level → code,
    name; landing.files.read_unit_names), else from whichever feed gives one, else the code; the
    expected number of tallies is unknown below the national level, where the election's
    configuration may give it.
    """
    names = names or {}
    frames = []
    levels = election.levels
    for depth, level in enumerate(levels):
        code = f"{level}_code"
        name = f"{level}_name"
        parent = pl.col(f"{levels[depth - 1]}_code") if depth else pl.lit(NATIONAL)
        named = pl.col(name) if name in tallies.columns else pl.lit(None, pl.String)
        units = (
            tallies.filter(pl.col(code).is_not_null())
            .group_by(code)
            .agg(
                named.drop_nulls().first().alias("unit_name"),
                parent.first().alias("parent_code"),
            )
        )
        if level in names:
            listed = names[level].select(
                pl.col("code").alias(code), pl.col("name").alias("_listed_name")
            )
            units = units.join(listed, on=code, how="left").with_columns(
                pl.coalesce("_listed_name", "unit_name").alias("unit_name")
            )
        frames.append(
            units.select(
                pl.lit(level).alias("level"),
                pl.col(code).alias("unit_code"),
                pl.coalesce("unit_name", code).alias("unit_name"),
                pl.col("parent_code").cast(pl.String),
                pl.lit(None, pl.Int64).alias("expected"),
            )
        )
    frames.append(_national_unit(election, election.expected_tallies))
    return pl.concat(frames)


def parent_conflicts(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """tally_id → parent_conflict, for each tally whose code at some level appears, among these
    tallies, under two or more different parent codes (`municipality 0101 under state 01 and
    02`; levels joined by `; `). Without a registry nothing says which parent is right, so every
    such tally breaks rule E6. Only the tallies with a conflict are returned."""
    levels = election.levels
    notes = []
    for depth in range(1, len(levels)):
        level, parent = levels[depth], levels[depth - 1]
        code, parent_code = election.code_column(level), election.code_column(parent)
        clashing = (
            tallies.filter(pl.col(code).is_not_null() & pl.col(parent_code).is_not_null())
            .group_by(code)
            .agg(pl.col(parent_code).unique().sort().alias("_parents"))
            .filter(pl.col("_parents").list.len() > 1)
            .select(
                code,
                pl.format(
                    "{} {} under {} {}",
                    pl.lit(level),
                    pl.col(code),
                    pl.lit(parent),
                    pl.col("_parents").list.head(5).list.join(" and "),
                ).alias(f"_conflict_{depth}"),
            )
        )
        if clashing.height:
            notes.append((code, clashing))
    out = tallies.select("tally_id", *election.code_columns)
    if not notes:
        return pl.DataFrame(schema={"tally_id": pl.Int64, "parent_conflict": pl.String})
    columns = []
    for code, clashing in notes:
        out = out.join(clashing, on=code, how="left")
        columns.append(clashing.columns[-1])
    return (
        out.select("tally_id", pl.concat_str(columns, separator="; ", ignore_nulls=True).alias("c"))
        .filter(pl.col("c").is_not_null() & (pl.col("c") != ""))
        .rename({"c": "parent_conflict"})
        .with_columns(pl.col("tally_id").cast(pl.Int64))
    )
