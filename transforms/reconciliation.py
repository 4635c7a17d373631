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


def _column(line: str, side: str = "a") -> str:
    """A line's votes column in the compared frame (prefixed: a line never shadows a key)."""
    return f"{side}:{line}"


def compared_lines(election: Election, general: bool) -> list[str]:
    """The lines compared: the candidates (a general election's contest lines, `p001`, … as
    `lines` name each contest's candidates, and its count lines)."""
    counts = [line for line, _ in COUNT_LINES.values()] if general else []
    return [*election.candidate_ids, *counts]


def tally_lines(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    election: Election,
    lines: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per accepted tally: tally_id, source_id, contest_id, tally_code, the codes, and
    a column per compared line (null: the line is not on the tally's ballot). An election of
    one contest: `votes` wide, a column per candidate. A general election (`lines` given:
    contest_id, line, candidate_id): `votes` long (tally_id, candidate_id, votes), each vote
    put in its contest's line by its candidate (so that tallies of different districts, whose
    ballots differ, add up candidate by candidate), plus the tally's count lines
    (COUNT_LINES)."""
    tallies = with_contest(tallies, election)
    keys = ["tally_id", "source_id", CONTEST, "tally_code", *election.code_columns]
    if lines is None:
        wide = votes.select("tally_id", *election.candidate_ids)
        counts = []
        frame = tallies.select(*keys).join(wide, on="tally_id", how="inner")
    else:
        named = (
            votes.select("tally_id", "candidate_id", "votes")
            .join(tallies.select("tally_id", CONTEST), on="tally_id", how="inner")
            .join(
                lines.select(CONTEST, "candidate_id", "line"),
                on=[CONTEST, "candidate_id"],
                how="inner",
            )
        )
        wide = named.pivot(
            on="line",
            index="tally_id",
            values="votes",
            aggregate_function="first",
            on_columns=election.candidate_ids,
        )
        counts = [pl.col(f).alias(line) for f, (line, _) in COUNT_LINES.items() if f in tallies]
        # a tally of a contest with lines is compared even where its district's ballot has none
        frame = (
            tallies.select(*keys, *counts)
            .join(lines.select(CONTEST).unique(), on=CONTEST, how="semi")
            .join(wide, on="tally_id", how="left")
        )
    found = compared_lines(election, lines is not None)
    return frame.select(
        "source_id",
        CONTEST,
        "tally_code",
        *election.code_columns,
        *[
            (pl.col(line) if line in frame.columns else pl.lit(None, pl.Int64))
            .cast(pl.Int64)
            .alias(_column(line))
            for line in found
        ],
    )


def compare(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    election: Election,
    lines: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per pair of sources, contest and compared unit: both sources' votes per line (columns
    `a:<line>`, `b:<line>`; null where a source lacks the unit or the line). Two sources at the
    same level are compared unit by unit (tally by tally at the polling units); a source above
    the other is compared with the other's accepted tallies rolled up to its level, over the
    contests it reports. Empty with fewer than two sources.

    tallies: accepted tallies of every source; votes and lines as tally_lines takes them."""
    sources = sorted(tallies["source_id"].unique().to_list())
    if len(sources) < 2:
        return pl.DataFrame()
    frame = tally_lines(tallies, votes, election, lines)
    found = compared_lines(election, lines is not None)
    pairs = [_pair(frame, a, b, found, election) for a, b in combinations(sources, 2)]
    return pl.concat(pairs)


def _at_level(
    frame: pl.DataFrame, source: str, depth: int, found: list[str], election: Election
) -> pl.DataFrame:
    """One source's votes per contest and unit at the level of `depth` (-1: national), its
    tallies summed up to that level if they sit below it."""
    codes, kept = election.code_columns, election.code_columns[: depth + 1]
    own = frame.filter(source_id=source)
    values = [_column(line) for line in found]
    if _depth(election, source) == depth:  # a tally is a unit at its own level
        at = own.rename({"tally_code": "unit_code"})
    else:
        unit = pl.col(codes[depth]) if depth >= 0 else pl.lit(NATIONAL)
        at = (
            own.with_columns(unit.alias("unit_code"))
            .group_by(CONTEST, "unit_code")
            .agg(
                *[pl.col(c).drop_nulls().first() for c in kept],
                # a line no tally of the unit has stays null (absent), not 0
                *[pl.when(pl.col(v).is_not_null().any()).then(pl.col(v).sum()) for v in values],
            )
        )
    return at.select(
        CONTEST,
        "unit_code",
        *kept,
        *[pl.lit(None, pl.String).alias(c) for c in codes[depth + 1 :]],
        *values,
    )


def _pair(
    frame: pl.DataFrame, a: str, b: str, found: list[str], election: Election
) -> pl.DataFrame:
    depth_a, depth_b = _depth(election, a), _depth(election, b)
    depth = min(depth_a, depth_b)
    left = _at_level(frame, a, depth, found, election)
    right = _at_level(frame, b, depth, found, election)
    if depth_a != depth_b:  # only the contests the source above reports
        reported = (left if depth_a < depth_b else right).select(CONTEST).unique()
        left = left.join(reported, on=CONTEST, how="semi")
        right = right.join(reported, on=CONTEST, how="semi")
    codes = election.code_columns
    right = right.rename({_column(line): _column(line, "b") for line in found})
    joined = left.with_columns(pl.lit(True).alias("_a")).join(
        right.with_columns(pl.lit(True).alias("_b")),
        on=[CONTEST, "unit_code"],
        how="full",
        coalesce=True,
        suffix="_b",
    )
    level = election.levels[depth] if depth >= 0 else NATIONAL
    return joined.select(
        pl.lit(a).alias("source_a"),
        pl.lit(b).alias("source_b"),
        CONTEST,
        pl.lit(level).alias("level"),
        "unit_code",
        *[pl.coalesce(c, f"{c}_b").alias(c) for c in codes],
        pl.col("_a").fill_null(False),
        pl.col("_b").fill_null(False),
        *[_column(line) for line in found],
        *[_column(line, "b") for line in found],
    )


def _line_status(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (
        pl.when(a.is_not_null() & b.is_not_null() & (a == b))
        .then(pl.lit(AGREE))
        .when(a.is_not_null() & b.is_not_null())
        .then(pl.lit(DIFFER))
        .when(a.is_not_null())
        .then(pl.lit(ONLY_A))
        .otherwise(pl.lit(ONLY_B))
    )


def reconciliation_lines(
    compared: pl.DataFrame, election: Election, lines: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Per pair of sources, contest, compared unit and line: both votes, the delta (b − a) and
    the line's status, its candidate named. compared: from compare()."""
    schema = lines_schema(election)
    if compared.is_empty():
        return pl.DataFrame(schema=schema)
    found = compared_lines(election, lines is not None)
    keys = [*PAIR, *UNIT, *election.code_columns]
    # sorted before the explode (ten times fewer rows to sort); the lines keep their order
    long = (
        compared.sort(*PAIR, *UNIT)
        .select(
            *keys,
            pl.lit(found, dtype=pl.List(pl.String)).alias("line"),
            pl.concat_list(pl.col(_column(line)) for line in found).alias("votes_a"),
            pl.concat_list(pl.col(_column(line, "b")) for line in found).alias("votes_b"),
        )
        .explode("line", "votes_a", "votes_b")
    )
    long = long.filter(pl.col("votes_a").is_not_null() | pl.col("votes_b").is_not_null())
    names = _line_names(election, lines)
    count_names = {line: name for line, name in COUNT_LINES.values()}
    return (
        long.join(names, on=[CONTEST, "line"], how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("candidate_id", "line").alias("candidate_id"),
            pl.coalesce(
                "candidate_name",
                pl.col("line").replace_strict(count_names, default=None, return_dtype=pl.String),
                "line",
            ).alias("candidate_name"),
            _line_status(pl.col("votes_a"), pl.col("votes_b")).alias("status"),
            (pl.col("votes_b") - pl.col("votes_a")).alias("delta"),
        )
        .select(*schema.keys())
    )


def _line_names(election: Election, lines: pl.DataFrame | None) -> pl.DataFrame:
    """contest_id, line → candidate_id, candidate_name."""
    if lines is not None:
        return lines.select(CONTEST, "line", "candidate_id", "candidate_name")
    return pl.DataFrame(
        [(election.default_contest.id, c.id, c.id, c.name) for c in election.candidates],
        schema=[CONTEST, "line", "candidate_id", "candidate_name"],
        orient="row",
    )


def reconcile(
    compared: pl.DataFrame, election: Election, lines: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Per pair of sources, contest and compared unit: agree, differ (with per-line deltas
    b − a, `delta_<line>`), or only in one of them. compared: from compare()."""
    schema = reconciliation_schema(election)
    if compared.is_empty():
        return pl.DataFrame(schema=schema)
    found = compared_lines(election, lines is not None)
    a = [pl.col(_column(line)) for line in found]
    b = [pl.col(_column(line, "b")) for line in found]
    both = pl.col("_a") & pl.col("_b")
    differing = pl.sum_horizontal(
        [x.ne_missing(y).cast(pl.Int32) for x, y in zip(a, b, strict=True)]
    )
    apart = pl.sum_horizontal(
        [(y.fill_null(0) - x.fill_null(0)).abs() for x, y in zip(a, b, strict=True)]
    )
    status = (
        pl.when(both & (pl.col("differing_candidates") == 0))
        .then(pl.lit(AGREE))
        .when(both)
        .then(pl.lit(DIFFER))
        .when(pl.col("_a"))
        .then(pl.lit(ONLY_A))
        .otherwise(pl.lit(ONLY_B))
    )
    return (
        compared.with_columns(
            pl.when(both).then(differing).otherwise(0).alias("differing_candidates"),
            pl.when(both).then(apart).otherwise(0).alias("votes_apart"),
            *[
                (pl.col(_column(c, "b")) - pl.col(_column(c))).alias(f"delta_{c}")
                for c in election.candidate_ids
            ],
        )
        .with_columns(status.alias("status"))
        .select(*[pl.col(c).cast(t) for c, t in schema.items()])
        .sort(*PAIR, *UNIT)
    )


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
