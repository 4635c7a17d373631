"""The results mart of a general election, climbed contest by contest.

Every contest has candidates of its own, and a contest elected per district has different ones
in every district: one column per candidate would make the wide frame as wide as the whole
ballot of the country. Long rows (one per tally and line) stay as many as the lines voted:
contest_results climbs them, and defines the mart's rows. Within one district, though, a
ballot has a few lines: wide_contest_results climbs a column per line of the district's ballot
(a row per unit, not per unit and line: several times cheaper, and the warehouse writes it
with an UNPIVOT), wherever the contest's districts nest in the levels. Pure polars.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.feed import OTHER, OTHER_ID, OTHER_NAME
from transforms.model import Election
from transforms.rollup import (
    RESULT_COLUMNS,
    RESULT_KEYS,
    RESULT_MEASURES,
    as_units,
    climb,
    named,
    one_row_per_unit,
    rank_among,
    wide_column,
)
from transforms.staging import CONTEST, district_columns

UNIT = ["source_id", CONTEST, "level", "unit_code"]


def contest_results(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    names: pl.DataFrame,
    lines: pl.DataFrame,
    election: Election,
) -> pl.DataFrame:
    """Per source, contest, unit (every level, the contests' own districts, national) and
    candidate: votes, share of the unit's valid votes in the contest, and rank (1 + the declared
    candidates with strictly more votes; the other votes' line `_other` is never ranked).

    tallies: accepted tallies; votes: their long votes (tally_id, candidate_id, votes);
    lines: contest_id, candidate_id, candidate_name."""
    base = placed_votes(tallies, votes, election)
    climbed = pl.concat(
        climb(
            base.drop("tally_id"),
            election,
            [CONTEST, "candidate_id"],
            lambda _f: [pl.col("votes").sum()],
        )
    )
    return shared_and_ranked(climbed, names, lines)


def shared_and_ranked(
    climbed: pl.DataFrame, names: pl.DataFrame, lines: pl.DataFrame
) -> pl.DataFrame:
    """The results mart's rows from climbed votes (source, contest, unit, parent, candidate,
    votes) holding every line of each of their units: unit and candidate names, share and rank
    (an incremental run passes the touched units' rows, transforms/delta.py)."""
    ranked = _ranked_in_runs(climbed, names)
    if ranked is None:  # two units share a hash: the windows over the unit's keys instead
        ranked = _ranked_by_windows(named(climbed, names))
    return with_candidate_names(ranked, lines)


def with_candidate_names(ranked: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """The results mart's columns, each line named by its contest's candidate (`_other`: the
    other votes)."""
    return (
        ranked.join(
            lines.select(CONTEST, "candidate_id", "candidate_name"),
            on=[CONTEST, "candidate_id"],
            how="left",
            maintain_order="left",
        )
        .with_columns(_other_named(), pl.col("votes").cast(pl.Int64))
        .select(RESULT_COLUMNS)
    )


def _other_named() -> pl.Expr:
    """candidate_name, the other votes' line (`_other`) named as such."""
    return (
        pl.when(pl.col("candidate_id") == OTHER_ID)
        .then(pl.lit(OTHER_NAME))
        .otherwise(pl.col("candidate_name"))
        .alias("candidate_name")
    )


def _ranked_by_windows(frame: pl.DataFrame) -> pl.DataFrame:
    """share (of the unit's votes, every line) and rank (1 + the declared lines with strictly
    more votes; `_other` is never ranked) as windows over the unit's keys: the definition."""
    valid = pl.col("votes").sum().over(UNIT)
    return frame.with_columns(
        pl.when(valid > 0).then(pl.col("votes") / valid).alias("share"),
        pl.when(pl.col("candidate_id") != OTHER_ID)
        .then(pl.col("votes"))
        .rank("min", descending=True)
        .over(UNIT)
        .cast(pl.Int32)
        .alias("rank"),
    )


def _ranked_in_runs(climbed: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame | None:
    """named(climbed) with the same share and rank as _ranked_by_windows, several times
    cheaper: each unit's rows made one run (_in_runs), so that its sum, its ranks and its name
    are read along the run. None when two units share a hash (a run would then hold two
    units' rows) or a unit two names: the caller falls back to the windows. The rows come
    out grouped by unit, which DuckDB also writes faster."""
    rows = _in_runs(climbed)
    runs = int(rows["_run"].max()) + 1 if rows.height else 0
    if rows["_hash"].n_unique() != runs:
        return None
    starts = pl.col("_run") != pl.col("_run").shift()
    first_rows = rows.filter(starts.fill_null(True)).select("_run", "level", "unit_code")
    units = named(first_rows, names).sort("_run")  # a join keeps no order unless asked
    if units.height != runs:
        return None
    valid = rows.group_by("_run", maintain_order=True).agg(pl.col("votes").sum())["votes"]
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    first_of_run = pl.when(starts.fill_null(True)).then(index).forward_fill()
    new_votes = pl.col("votes").ne_missing(pl.col("votes").shift())
    first_of_tie = pl.when((starts | new_votes).fill_null(True)).then(index).forward_fill()
    ranked = pl.col("candidate_id") != OTHER_ID
    return rows.with_columns(
        units["unit_name"].gather(rows["_run"]).alias("unit_name"),
        valid.gather(rows["_run"]).alias("_valid"),
    ).select(
        *climbed.columns,
        "unit_name",
        pl.when(pl.col("_valid") > 0).then(pl.col("votes") / pl.col("_valid")).alias("share"),
        pl.when(ranked & pl.col("votes").is_not_null())
        .then(first_of_tie - first_of_run + 1)
        .cast(pl.Int32)
        .alias("rank"),
    )


def _in_runs(climbed: pl.DataFrame) -> pl.DataFrame:
    """The rows ordered so that each unit's are one run (by a hash of the unit's keys: an
    integer, a cheap sort), its ranked lines first by votes descending, then the others (the
    `_other` line, unknown votes); `_run` numbers the runs (a new one wherever the unit's keys
    change), `_hash` is kept."""
    votes = pl.col("votes")
    ranked = (pl.col("candidate_id") != OTHER_ID) & votes.is_not_null()
    order = (
        climbed.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            pl.struct(UNIT).hash().alias("_hash"),
            pl.when(ranked).then(votes.cast(pl.Int64)).otherwise(pl.lit(-(2**63), pl.Int64)),
        )
        .sort("votes", descending=True)  # then a stable sort by unit: two cheap single keys
        .sort("_hash", maintain_order=True)
    )
    new_unit = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift()) for c in UNIT)
    return (
        climbed.rechunk()[order["_row"]]
        .with_columns(order["_hash"])
        .with_columns((new_unit.fill_null(True).cum_sum() - 1).alias("_run"))
    )


def climbed_columns(tallies: pl.DataFrame, election: Election) -> pl.DataFrame:
    """The tallies' columns a contest's results read (placed_votes, wide_contest_results):
    tally_id, source, contest, district and code columns, and the other votes where counted."""
    return tallies.select(
        "tally_id",
        "source_id",
        CONTEST,
        *district_columns(tallies),
        *election.code_columns,
        *([OTHER] if election.other_votes and OTHER in tallies.columns else []),
    )


def placed_votes(tallies: pl.DataFrame, votes: pl.DataFrame, election: Election) -> pl.DataFrame:
    """One row per accepted tally and line it gives a count for (tally_id, candidate_id, votes,
    source, contest, district and code columns): the other votes as the line `_other`."""
    placed = climbed_columns(tallies, election)
    base = votes.filter(pl.col("votes").is_not_null()).select("tally_id", "candidate_id", "votes")
    base = base.join(placed.drop(OTHER, strict=False), on="tally_id", how="inner")
    if election.other_votes and OTHER in placed.columns:
        other = placed.filter(pl.col(OTHER).is_not_null()).select(
            "tally_id",
            pl.lit(OTHER_ID).alias("candidate_id"),
            pl.col(OTHER).cast(pl.Int64).alias("votes"),
            *[c for c in placed.columns if c not in ("tally_id", OTHER)],
        )
        base = pl.concat([base, other.select(base.columns)])
    return base


DISTRICT = "_district"  # a wide row's district: which candidate each of its lines is
OTHER_LINE = "_o"  # the wide column of the other votes' line


@dataclass(frozen=True)
class WideResults:
    """A contest's results mart as wide_contest_results climbs it.

    rows: one per unit at and below the contest's district level (every level and national for
    a contest on every ballot): RESULT_KEYS, DISTRICT and each line's votes, share and rank in
    the columns wide_column(line, measure) (null votes: the line is not on the unit's ballot);
    lines: DISTRICT, line, candidate_id, candidate_name: which candidate each line is in each
    district; line_ids: the lines' columns; above: the long rows (RESULT_COLUMNS) of the levels
    above the district level."""

    rows: pl.DataFrame
    lines: pl.DataFrame
    line_ids: list[str]
    above: pl.DataFrame

    @property
    def height(self) -> int:
        """The results mart's rows."""
        voted = sum(self.rows[wide_column(line, "votes")].count() for line in self.line_ids)
        return voted + self.above.height

    def at_levels(self, levels: list[str]) -> pl.DataFrame:
        """The mart's rows at these levels in their long shape (RESULT_COLUMNS): the reference
        definition of what warehouse.publish.append_wide_results writes from the wide rows, and
        the rows above the district level (`above`, which the caller appends as they are)."""
        parts = [
            self.rows.filter(pl.col("level").is_in(levels))
            .select(
                *RESULT_KEYS,
                DISTRICT,
                pl.lit(line).alias("line"),
                *[pl.col(wide_column(line, m)).alias(m) for m in RESULT_MEASURES],
            )
            .filter(pl.col("votes").is_not_null())
            for line in self.line_ids
        ]
        wide = pl.concat(parts).join(self.lines, on=[DISTRICT, "line"], how="inner")
        above = self.above.filter(pl.col("level").is_in(levels))
        return pl.concat([wide.select(RESULT_COLUMNS), above])


def wide_contest_results(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    names: pl.DataFrame,
    lines: pl.DataFrame,
    election: Election,
) -> WideResults | None:
    """contest_results' rows for one contest, climbed wide: a column per line of the district's
    ballot (its candidates numbered within the district, then the other votes), so that each
    level groups one row per unit instead of one per unit and line, and the warehouse writes
    them with an UNPIVOT (several times cheaper than climbing and writing the long rows). The
    levels above the contest's district level, where districts' lines meet, are climbed long
    from the district level's rows (a few rows per district).

    None where the wide climb does not apply, the caller then climbs long: a district that is
    not an administrative level (it does not nest), a tally whose district is not its code at
    the district level, a unit code under two parents (the long rows share and rank them as one
    unit), a tally with two counts for a line, a line named `_other`, a candidate named twice in
    `lines`, or no line at all (neither a candidate's count nor other votes)."""
    top = _district_depth(tallies, election)
    if top is None or lines["candidate_id"].n_unique() != lines.height:
        return None
    codes = election.code_columns
    district = pl.col(codes[top - 1]) if top else pl.lit("", pl.String)
    other = election.other_votes and OTHER in tallies.columns
    placed = tallies.select(
        "source_id", CONTEST, *codes, district.alias(DISTRICT), *([OTHER] if other else [])
    )
    voted = _numbered(tallies, votes, placed)
    if voted is None:
        return None
    cells, slots = voted
    width = int(slots["_slot"].max()) + 1 if slots.height else 0
    declared = [f"_{i}" for i in range(width)]
    line_ids = [*declared, *([OTHER_LINE] if other else [])]
    if not line_ids:  # no line has a count: no row
        return None
    base = placed.with_columns(
        *_scattered(cells, declared, placed.height),
        *([pl.col(OTHER).cast(pl.Int64).alias(OTHER_LINE)] if other else []),
    ).drop(OTHER, strict=False)
    known = [_known(line) for line in line_ids]
    base = base.with_columns(
        pl.col(line).is_not_null().cast(pl.Int64).alias(_known(line)) for line in line_ids
    )
    keys = [CONTEST, DISTRICT]
    current, levels = base, []
    # a unit of the lowest level with one tally is its own group (a null count, not summed to 0,
    # is made null again by `present` all the same): grouping by every code is left out
    lowest = one_row_per_unit(placed, [CONTEST], codes[-1])
    for depth in range(len(codes), top - 1, -1):
        group = ["source_id", *keys, *codes[:depth]]
        if depth < len(codes) or not lowest:
            current = current.group_by(group).agg(pl.col(*line_ids, *known).sum())
        levels.append(as_units(current, election, depth, keys, group))
    present = [
        pl.when(pl.col(_known(line)) > 0).then(pl.col(line)).alias(line) for line in line_ids
    ]
    if not _one_row_per_unit(levels):  # a unit code under two parents
        return None  # the long rows share and rank the two rows as one unit
    climbed = pl.concat(levels)
    rows = named(climbed.with_columns(present), names)
    line_names = _line_names(slots, placed, lines, other)
    above = _climbed_above(current.with_columns(present), line_names, line_ids, top, election)
    return WideResults(
        rows.select(*RESULT_KEYS, DISTRICT, *_wide_measures(declared, line_ids)),
        line_names,
        line_ids,
        shared_and_ranked(above, names, lines) if above.height else _no_rows(),
    )


def _one_row_per_unit(levels: list[pl.DataFrame]) -> bool:
    """Is each unit (UNIT) one row of the climbed levels? Within a level, a unit is its source,
    contest and code (rollup.one_row_per_unit)."""
    return all(one_row_per_unit(rows, [CONTEST], "unit_code") for rows in levels)


def _known(line: str) -> str:
    """The column counting a line's known counts under a unit: the line is on the unit's ballot
    where it is above 0 (a sum of no counts is 0, not null)."""
    return f"{line}__n"


def _district_depth(tallies: pl.DataFrame, election: Election) -> int | None:
    """The depth of the tallies' district level (0: national, a contest on every ballot), where
    every tally's district is its code at that level; None otherwise."""
    if "contest_district_level" not in tallies.columns:
        return 0
    found = tallies["contest_district_level"].unique().to_list()
    if found == [None]:
        return 0
    if len(found) != 1 or found[0] not in election.levels:
        return None
    depth = election.levels.index(found[0]) + 1
    same = tallies["contest_district"] == tallies[election.code_columns[depth - 1]]
    return depth if same.fill_null(False).all() else None


def _numbered(
    tallies: pl.DataFrame, votes: pl.DataFrame, placed: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """(cells, slots): each known count as _row (its tally's row in `placed`), _slot (its
    candidate's number within the district, candidates in order) and votes; and each district's
    candidates' numbers. None when a tally counts a line twice or a candidate is `_other`.

    Each count's district and candidate are numbered first among the few distinct ones (joins
    with frames of a few dozen rows), so that its slot is found by one integer key: the pairs
    of strings over every count cost most of the function, more than linearly in the counts."""
    districts = placed[DISTRICT].unique().sort()
    rows = (
        pl.DataFrame({"tally_id": tallies["tally_id"], DISTRICT: placed[DISTRICT]})
        .join(_numbering(districts, "_d"), on=DISTRICT, how="left", maintain_order="left")
        .select("tally_id", "_d")
        .with_row_index("_row")
    )
    known = votes.filter(pl.col("votes").is_not_null()).select("tally_id", "candidate_id", "votes")
    candidates = known["candidate_id"].unique().sort()
    count = len(candidates)
    known = (
        known.join(rows, on="tally_id", how="inner")
        .join(_numbering(candidates, "_c"), on="candidate_id", how="left")
        .select("_row", (pl.col("_d") * count + pl.col("_c")).alias("_pair"), "votes")
    )
    # the pairs in the order of (district, candidate): each district's candidates in order
    pairs = pl.DataFrame({"_pair": known["_pair"].unique().sort()}).with_columns(
        (pl.col("_pair") // count).alias("_d")
    )
    pairs = pairs.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("_d").alias("_slot"))
    slots = pairs.select(
        districts.gather(pairs["_d"]).alias(DISTRICT),
        candidates.gather(pairs["_pair"] % count).alias("candidate_id"),
        "_slot",
    )
    if (slots["candidate_id"] == OTHER_ID).any():
        return None
    cells = known.join(pairs.select("_pair", "_slot"), on="_pair").select("_row", "_slot", "votes")
    width = int(slots["_slot"].max() or 0) + 1 if slots.height else 1
    cell = pl.col("_row").cast(pl.Int64) * width + pl.col("_slot")
    if cells.select(cell.n_unique()).item() != cells.height:
        return None
    return cells, slots


def _numbering(values: pl.Series, column: str) -> pl.DataFrame:
    """Each of these distinct values (sorted) with its number (Int64) in `column`."""
    return values.to_frame().with_row_index(column).with_columns(pl.col(column).cast(pl.Int64))


def _scattered(cells: pl.DataFrame, declared: list[str], height: int) -> list[pl.Series]:
    """Each line's column: its counts set at their tallies' rows, null elsewhere."""
    columns = {line: pl.repeat(None, height, dtype=pl.Int64, eager=True) for line in declared}
    for (slot,), own in cells.partition_by("_slot", as_dict=True).items():
        columns[f"_{slot}"] = columns[f"_{slot}"].scatter(own["_row"], own["votes"])
    return [column.alias(line) for line, column in columns.items()]


def _line_names(
    slots: pl.DataFrame, placed: pl.DataFrame, lines: pl.DataFrame, other: bool
) -> pl.DataFrame:
    """DISTRICT, line, candidate_id, candidate_name of every line of every district (the other
    votes' line `_other`, named as with_candidate_names names it)."""
    numbered = slots.select(DISTRICT, pl.format("_{}", "_slot").alias("line"), "candidate_id")
    if other:
        others = placed.select(pl.col(DISTRICT).unique()).with_columns(
            pl.lit(OTHER_LINE).alias("line"), pl.lit(OTHER_ID).alias("candidate_id")
        )
        numbered = pl.concat([numbered, others])
    return numbered.join(
        lines.select("candidate_id", "candidate_name"), on="candidate_id", how="left"
    ).with_columns(_other_named())


def _wide_measures(declared: list[str], line_ids: list[str]) -> list[pl.Expr]:
    """Each line's votes, share of the unit's votes (every line) and rank (1 + the declared
    lines with strictly more votes; the other votes are never ranked): _ranked_by_windows's."""
    valid = pl.sum_horizontal(line_ids)
    return [
        *[pl.col(line).alias(wide_column(line, "votes")) for line in line_ids],
        *[
            pl.when(valid > 0).then(pl.col(line) / valid).alias(wide_column(line, "share"))
            for line in line_ids
        ],
        *[
            (
                rank_among(declared, line).cast(pl.Int32)
                if line != OTHER_LINE
                else pl.lit(None, pl.Int32)
            ).alias(wide_column(line, "rank"))
            for line in line_ids
        ],
    ]


def _climbed_above(
    district_rows: pl.DataFrame,
    line_names: pl.DataFrame,
    line_ids: list[str],
    top: int,
    election: Election,
) -> pl.DataFrame:
    """The levels above the district level (none for a contest on every ballot), climbed long
    from the district level's grouped rows: source, contest, unit, parent, candidate, votes."""
    if not top:
        return pl.DataFrame()
    codes = election.code_columns[: top - 1]
    keys = [CONTEST, "candidate_id"]
    long = pl.concat(
        district_rows.select(
            "source_id",
            CONTEST,
            DISTRICT,
            *codes,
            pl.lit(line).alias("line"),
            pl.col(line).alias("votes"),
        ).filter(pl.col("votes").is_not_null())
        for line in line_ids
    ).join(line_names.select(DISTRICT, "line", "candidate_id"), on=[DISTRICT, "line"])
    current, levels = long.drop(DISTRICT, "line"), []
    for depth in range(top - 1, -1, -1):
        group = ["source_id", *keys, *codes[:depth]]
        current = current.group_by(group).agg(pl.col("votes").sum())
        levels.append(as_units(current, election, depth, keys, group))
    return pl.concat(levels)


def _no_rows() -> pl.DataFrame:
    """An empty frame of the results mart's long rows."""
    return (
        pl.DataFrame(schema={c: pl.String for c in RESULT_KEYS})
        .with_columns(
            pl.lit(None, pl.String).alias("candidate_id"),
            pl.lit(None, pl.String).alias("candidate_name"),
            pl.lit(None, pl.Int64).alias("votes"),
            pl.lit(None, pl.Float64).alias("share"),
            pl.lit(None, pl.Int32).alias("rank"),
        )
        .clear()
    )
