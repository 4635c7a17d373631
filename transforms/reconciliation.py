"""Sources reconciled per contest and unit: two sources at the polling units tally by tally, a
source above them (a ward's or a city-wide canvass, contract `source.level`) against the other's
accepted tallies rolled up to its level; per line (reconciliation_lines), per compared unit
(reconciliation) and rolled up (reconciliation_summary). Pure polars."""

from itertools import combinations

import polars as pl

from transforms.feed import BLANK, NULL, OTHER, OTHER_ID, OTHER_NAME
from transforms.model import NATIONAL, Election
from transforms.staging import CONTEST, with_contest

AGREE, DIFFER, ONLY_A, ONLY_B = "agree", "differ", "only_in_a", "only_in_b"
STATUSES = (AGREE, DIFFER, ONLY_A, ONLY_B)


PAIR = ("source_a", "source_b")
UNIT = ("contest_id", "level", "unit_code")
# A general election's count lines, compared besides its candidates: such feeds deliver them as
# rows of the contest (write-in, over votes, under votes), and a canvass can disagree on them.
COUNT_LINES = {
    OTHER: (OTHER_ID, OTHER_NAME),
    NULL: ("_null", "null votes (over votes)"),
    BLANK: ("_blank", "blank votes (under votes)"),
}


def reconciliation_schema(election: Election) -> dict[str, pl.DataType]:
    """The reconciliation's columns, whatever the number of sources: deltas are b − a."""
    return {
        **dict.fromkeys((*PAIR, *UNIT), pl.String),
        **dict.fromkeys(election.code_columns, pl.String),
        "status": pl.String,
        "differing_candidates": pl.Int32,
        "votes_apart": pl.Int64,
        **{f"delta_{c}": pl.Int64 for c in election.candidate_ids},
    }


def lines_schema(election: Election) -> dict[str, pl.DataType]:
    """reconciliation_lines' columns."""
    return {
        **dict.fromkeys((*PAIR, *UNIT, *election.code_columns), pl.String),
        **dict.fromkeys(("candidate_id", "candidate_name", "line", "status"), pl.String),
        "votes_a": pl.Int64,
        "votes_b": pl.Int64,
        "delta": pl.Int64,
    }


def _depth(election: Election, source: str) -> int:
    """Index of the source's level among the levels; -1 for a national source."""
    level = election.source_level(source)
    return election.levels.index(level) if level in election.levels else -1


def line_votes(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    election: Election,
    lines: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per accepted tally and line: tally_id, source_id, contest_id, tally_code, the
    codes, line, votes. An election of one contest: votes wide (a column per candidate), its
    candidates the lines. A general election (`lines`: contest_id, line, candidate_id): votes
    long (tally_id, slot, votes), plus its count lines (COUNT_LINES)."""
    tallies = with_contest(tallies, election)
    keys = ["tally_id", "source_id", CONTEST, "tally_code", *election.code_columns]
    base = tallies.select(keys)
    if lines is None:
        long = votes.select("tally_id", *election.candidate_ids).unpivot(
            index="tally_id", variable_name="line", value_name="votes"
        )
        return base.join(long, on="tally_id", how="inner")
    # a slot with no votes is another district's candidate (absent), not a line of the tally
    slots = votes.select("tally_id", pl.col("slot").alias("line"), "votes").drop_nulls("votes")
    counts = [f for f in COUNT_LINES if f in tallies.columns]
    counted = tallies.select(
        "tally_id", *[pl.col(f).alias(COUNT_LINES[f][0]) for f in counts]
    ).unpivot(index="tally_id", variable_name="line", value_name="votes")
    long = pl.concat([slots, counted.drop_nulls("votes")], how="vertical_relaxed")
    return base.join(long, on="tally_id", how="inner")


def reconciliation_lines(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    election: Election,
    lines: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per pair of sources, contest, compared unit and line: both sources' votes and the delta
    (b − a). Two sources at the same level are compared unit by unit (tally by tally at the
    polling units); a source above the other is compared with the other's accepted tallies
    rolled up to its level, over the contests it reports. No rows with fewer than two sources.

    tallies: accepted tallies of every source; votes and lines as line_votes takes them."""
    sources = sorted(tallies["source_id"].unique().to_list())
    if len(sources) < 2:
        return pl.DataFrame(schema=lines_schema(election))
    frame = line_votes(tallies, votes, election, lines)
    pairs = [_pair_lines(frame, a, b, election) for a, b in combinations(sources, 2)]
    return _named(pl.concat(pairs), election, lines).sort(*PAIR, *UNIT, "line")


def _at_level(frame: pl.DataFrame, source: str, depth: int, election: Election) -> pl.DataFrame:
    """One source's line votes per contest and unit at the level of `depth` (-1: national),
    its tallies summed up to that level if they sit below it."""
    codes = election.code_columns
    own = frame.filter(source_id=source)
    if _depth(election, source) == depth:
        unit = pl.col("tally_code")
    else:
        unit = pl.col(codes[depth]) if depth >= 0 else pl.lit(NATIONAL)
    kept = codes[: depth + 1]
    return (
        own.with_columns(unit.alias("unit_code"))
        .group_by(CONTEST, "unit_code", "line")
        .agg(*[pl.col(c).drop_nulls().first() for c in kept], pl.col("votes").sum())
        .with_columns(pl.lit(None, pl.String).alias(c) for c in codes[depth + 1 :])
    )


def _pair_lines(frame: pl.DataFrame, a: str, b: str, election: Election) -> pl.DataFrame:
    depth_a, depth_b = _depth(election, a), _depth(election, b)
    depth = min(depth_a, depth_b)
    left, right = _at_level(frame, a, depth, election), _at_level(frame, b, depth, election)
    if depth_a != depth_b:  # the contests the source above reports
        broader = left if depth_a < depth_b else right
        reported = broader.select(CONTEST).unique()
        left = left.join(reported, on=CONTEST, how="semi")
        right = right.join(reported, on=CONTEST, how="semi")
    codes = election.code_columns
    joined = left.join(
        right, on=[CONTEST, "unit_code", "line"], how="full", coalesce=True, suffix="_b"
    )
    level = election.levels[depth] if depth >= 0 else NATIONAL
    return joined.select(
        pl.lit(a).alias("source_a"),
        pl.lit(b).alias("source_b"),
        CONTEST,
        pl.lit(level).alias("level"),
        "unit_code",
        *[pl.coalesce(c, f"{c}_b").alias(c) for c in codes],
        "line",
        pl.col("votes").alias("votes_a"),
        pl.col("votes_b"),
        (pl.col("votes_b") - pl.col("votes")).alias("delta"),
    )


def _named(frame: pl.DataFrame, election: Election, lines: pl.DataFrame | None) -> pl.DataFrame:
    """Each line's candidate (id and name) and its status."""
    if lines is None:
        names = pl.DataFrame(
            [(election.default_contest.id, c.id, c.id, c.name) for c in election.candidates],
            schema=[CONTEST, "line", "candidate_id", "candidate_name"],
            orient="row",
        )
    else:
        names = lines.select(CONTEST, "line", "candidate_id", "candidate_name")
    status = (
        pl.when(pl.col("votes_a").is_not_null() & (pl.col("delta") == 0))
        .then(pl.lit(AGREE))
        .when(pl.col("votes_a").is_not_null() & pl.col("votes_b").is_not_null())
        .then(pl.lit(DIFFER))
        .when(pl.col("votes_a").is_not_null())
        .then(pl.lit(ONLY_A))
        .otherwise(pl.lit(ONLY_B))
    )
    count_id = pl.col("line").replace_strict(
        {line: line for line, _ in COUNT_LINES.values()}, default=None, return_dtype=pl.String
    )
    count_name = pl.col("line").replace_strict(
        dict(COUNT_LINES.values()), default=None, return_dtype=pl.String
    )
    return (
        frame.join(names, on=[CONTEST, "line"], how="left")
        .with_columns(
            pl.coalesce("candidate_id", count_id, "line").alias("candidate_id"),
            pl.coalesce("candidate_name", count_name, "line").alias("candidate_name"),
            status.alias("status"),
        )
        .select(*lines_schema(election).keys())
    )


def reconcile(line_frame: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Per pair of sources, contest and compared unit: agree, differ (with per-line deltas
    b − a, `delta_<line>`), or only in one of them. line_frame: reconciliation_lines."""
    if line_frame.is_empty():
        return pl.DataFrame(schema=reconciliation_schema(election))
    keys = [*PAIR, *UNIT]
    in_a, in_b = pl.col("votes_a").is_not_null().any(), pl.col("votes_b").is_not_null().any()
    apart = (pl.col("votes_b").fill_null(0) - pl.col("votes_a").fill_null(0)).abs()
    units = line_frame.group_by(keys).agg(
        *[pl.col(c).drop_nulls().first() for c in election.code_columns],
        in_a.alias("_a"),
        in_b.alias("_b"),
        (pl.col("status") != AGREE).sum().cast(pl.Int32).alias("differing_candidates"),
        apart.sum().alias("votes_apart"),
    )
    both = pl.col("_a") & pl.col("_b")
    units = units.with_columns(
        pl.when(both & (pl.col("differing_candidates") == 0))
        .then(pl.lit(AGREE))
        .when(both)
        .then(pl.lit(DIFFER))
        .when(pl.col("_a"))
        .then(pl.lit(ONLY_A))
        .otherwise(pl.lit(ONLY_B))
        .alias("status"),
        pl.when(both)
        .then(pl.col("differing_candidates"))
        .otherwise(0)
        .alias("differing_candidates"),
        pl.when(both).then(pl.col("votes_apart")).otherwise(0).alias("votes_apart"),
    )
    deltas = _deltas(line_frame, keys, election)
    schema = reconciliation_schema(election)
    return (
        units.join(deltas, on=keys, how="left", nulls_equal=True)
        .with_columns(pl.col(c).cast(t) for c, t in schema.items() if c.startswith("delta_"))
        .select(*schema.keys())
        .sort(*keys)
    )


def _deltas(line_frame: pl.DataFrame, keys: list[str], election: Election) -> pl.DataFrame:
    """delta_<line> per unit: a column per candidate (per ballot line in a general election)."""
    wanted = election.candidate_ids
    present = line_frame.filter(pl.col("line").is_in(wanted))
    if present.is_empty():
        return (
            line_frame.select(keys)
            .unique()
            .with_columns(pl.lit(None, pl.Int64).alias(f"delta_{c}") for c in wanted)
        )
    wide = present.pivot(
        on="line", index=keys, values="delta", aggregate_function="first", on_columns=wanted
    )
    return wide.rename({c: f"delta_{c}" for c in wanted})


def reconciliation_summary(
    reconciled: pl.DataFrame, units: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """Per pair of sources, contest and compared level, and unit at that level and above
    (national included): compared units agreeing, differing, or in one source only."""
    counts = (*STATUSES, "votes_apart")
    names = ("source_a", "source_b", CONTEST, "compared_level", "level", "unit_code")
    schema = {
        **dict.fromkeys((*names, "unit_name"), pl.String),
        **dict.fromkeys(counts, pl.Int64),
    }
    if reconciled.is_empty():
        return pl.DataFrame(schema=schema)
    codes = election.code_columns
    base = reconciled.select(
        *PAIR,
        CONTEST,
        pl.col("level").alias("compared_level"),
        *codes,
        *[(pl.col("status") == s).cast(pl.Int64).alias(s) for s in STATUSES],
        pl.col("votes_apart").cast(pl.Int64),
    )
    frames = []
    for compared in base["compared_level"].unique().to_list():
        own = base.filter(compared_level=compared)
        depth = election.levels.index(compared) if compared in election.levels else -1
        for d in range(depth, -2, -1):
            group = [*PAIR, CONTEST, "compared_level", *codes[: d + 1]]
            unit = pl.col(codes[d]) if d >= 0 else pl.lit(NATIONAL)
            level = election.levels[d] if d >= 0 else NATIONAL
            frames.append(
                own.group_by(group)
                .agg(pl.col(c).sum() for c in counts)
                .select(
                    *PAIR,
                    CONTEST,
                    "compared_level",
                    pl.lit(level).alias("level"),
                    unit.alias("unit_code"),
                    *counts,
                )
            )
    return (
        pl.concat(frames)
        .join(
            units.select("level", "unit_code", "unit_name").unique(["level", "unit_code"]),
            on=["level", "unit_code"],
            how="left",
        )
        .select(*schema.keys())
        .sort(*PAIR, CONTEST, "compared_level", "level", "unit_code")
    )
