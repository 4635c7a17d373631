"""Contests of a general election: which contest a feed row counts, and its ballot lines.

A general election's feeds are loaded long (one raw row per unit, contest and line, a line being
a candidate or a count such as over votes), because every contest has candidates of its own.
Staging then gives each contest's candidates in each of its districts a position (`p001`, `p002`,
…: the ballot lines there) so that one wide frame, a column per position, holds every contest's
tallies, as wide as the longest ballot of one contest in one district; the long votes it stages
carry the real candidate ids again. Each contest also numbers its lines over all its districts
(`lines`: the names the marts give a line, e.g. reconciliation's `delta_p001`). Pure polars: no
I/O.

See docs/canonical-model.md (contests) and docs/contracts.md ([contests]).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import polars as pl

from transforms.count_cells import CELL_KEYS, as_integers
from transforms.feed import COUNT_FIELDS, VALID
from transforms.long_rows import gather
from transforms.model import Candidate, Contest, Election
from transforms.staging import (
    CONTEST,
    DISTRICT_COLUMNS,
    StagedTallies,
    joined_beside,
    long_votes,
    stage,
    tally_id,
)

# The canonical columns of a general election's raw rows, after the codes, names and counts.
LINE_COLUMNS = (
    CONTEST,
    "contest_name",
    "contest_district_level",
    "contest_district",
    "seats",
    "vote_for",
    "candidate",  # the line's label as delivered (after the contract's aliases)
    "count_field",  # the count the line gives (null_votes, …), or null for a candidate
    "votes",
)
SLOT_PREFIX = "p"
MAX_LABEL = 200


def slug_expr(text: pl.Expr) -> pl.Expr:
    """A label's slug: lower case, every run of characters that are not letters or digits (of
    any script) one '-', none at either end, at most 100 characters; null when nothing is left.
    Two spellings of one office (`AT - LARGE`, `AT-LARGE`) have one slug."""
    slug = (
        text.str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", "-")
        .str.strip_chars("-")
        .str.slice(0, 100)
    )
    return pl.when(slug == "").then(None).otherwise(slug)


def slug(text: str) -> str | None:
    """slug_expr for one Python string (the same engine, so the same answer)."""
    return pl.select(slug_expr(pl.lit(text, pl.String))).item()


def slot(position: int) -> str:
    """The wide column of a contest's `position`-th line (1-based)."""
    return f"{SLOT_PREFIX}{position:03d}"


def declared_by_slug(election: Election) -> dict[str, str]:
    """slug of every declared contest's id, name and aliases → its id."""
    return contests_by_slug(election.contests)


def contests_by_slug(contests) -> dict[str, str]:
    """slug of each of these contests' id, name and aliases → its id (the first one wins)."""
    found: dict[str, str] = {}
    for contest in contests:
        for label in (contest.id, contest.name, *contest.aliases):
            key = slug(label)
            if key is not None:
                found.setdefault(key, contest.id)
    return found


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def contest_columns(contract, election: Election) -> list[pl.Expr]:
    """Per row: contest id and name, district level and code (where a rule or the declared
    contest says), seats and votes per ballot where a rule says (text, like every raw column)."""
    declared = {c.id: c for c in election.contests}
    if contract.contest_id is not None:
        contest = declared[contract.contest_id]
        label = pl.lit(contest.name)
        cid = pl.lit(contest.id)
    else:
        parts = [_blank_to_null(pl.col(c)) for c in contract.contest_columns]
        label = pl.concat_str(parts, separator=" ", ignore_nulls=True).str.slice(0, MAX_LABEL)
        label = pl.when(label == "").then(None).otherwise(label)
        cid = _contest_id(slug_expr(label), election)
    level, code, seats, vote_for = (pl.lit(None, pl.String),) * 4
    for rule in reversed(contract.contest_rules):  # the first matching rule wins
        hit = pl.col(rule.column).fill_null("").str.strip_chars().str.contains(rule.matches)
        group = pl.col(rule.column).fill_null("").str.strip_chars().str.extract(rule.matches, 1)
        level = pl.when(hit).then(pl.lit(rule.level, pl.String)).otherwise(level)
        code = pl.when(hit).then(group).otherwise(code)
        seats = pl.when(hit).then(pl.lit(_text(rule.seats))).otherwise(seats)
        vote_for = pl.when(hit).then(pl.lit(_text(rule.vote_for))).otherwise(vote_for)
    # a declared contest's own attributes win over the rules'
    name = cid.replace_strict(
        {c.id: c.name for c in election.contests}, default=label, return_dtype=pl.String
    )
    declared_level = cid.replace_strict(
        {c.id: c.district for c in election.contests}, default=None, return_dtype=pl.String
    )
    is_declared = cid.is_in(list(declared))
    level = pl.when(is_declared).then(declared_level).otherwise(level)
    return [
        cid.alias(CONTEST),
        name.alias("contest_name"),
        level.alias("contest_district_level"),
        code.alias("contest_district"),
        seats.alias("seats"),
        vote_for.alias("vote_for"),
    ]


def _contest_id(label_slug: pl.Expr, election: Election) -> pl.Expr:
    """A label's contest: the declared contest it names (id, name or alias, by slug); another
    label is a contest discovered under its slug where the election discovers contests, else
    no contest (null: its rows count nowhere, and rule E8 names the label)."""
    known = declared_by_slug(election)
    if election.discovers_contests:
        return label_slug.replace(known)
    return label_slug.replace_strict(known, default=None, return_dtype=pl.String)


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Ballots:
    """A general election's raw rows as one wide frame, a column per ballot position."""

    # one row per file, unit and contest: codes, counts, slots (text; or integers: `cells`),
    # _district (its contest's district, whose positions the slots are; empty for a contest of
    # the whole area)
    wide: pl.DataFrame
    lines: pl.DataFrame  # contest_id, candidate_id, candidate_name, slot: the contest's lines
    positions: pl.DataFrame  # contest_id, district, candidate_id, slot: a district's ballot
    contests: pl.DataFrame  # contest_id, contest_name, seats, vote_for, district_level
    width: int  # slots of the wide frame
    counts: pl.DataFrame  # contest_id, district, count_field: a district's count rows
    # None: the wide frame's counts are text; else they are integers and this is the text of
    # those that are no plain count (transforms/count_cells)
    cells: pl.DataFrame | None = None


@dataclass(frozen=True)
class Known:
    """What a full staging found over every raw row, kept in the warehouse for the drops that
    follow (staged.contests, staged.contest_lines, staged.ballot_positions,
    staged.ballot_counts): a drop's rows are spread over the same ballot positions and judged
    against the same lines and count rows per district."""

    lines: pl.DataFrame
    contests: pl.DataFrame
    positions: pl.DataFrame
    counts: pl.DataFrame  # contest_id, district, count_field (`_counts`)


class NewContestLines(Exception):
    """A drop gives what the rows before it never did (a contest, a candidate, a line or a count
    row in a district, another contest attribute): the ballot positions or the lines expected
    of units staged before may change, so the drop cannot be staged on its own."""


def _declared_lines(election: Election) -> pl.DataFrame:
    rows = [(c.id, k.id, k.name, i) for c in election.contests for i, k in enumerate(c.candidates)]
    return pl.DataFrame(
        rows,
        schema={
            CONTEST: pl.String,
            "candidate_id": pl.String,
            "candidate_name": pl.String,
            "_declared_at": pl.Int64,
        },
        orient="row",
    )


def declared_labels(election: Election) -> pl.DataFrame:
    """contest_id, _key (the slug of a declared candidate's id, name or alias), candidate_id:
    the spellings that name each declared candidate, first declared first."""
    rows = []
    for contest in election.contests:
        for candidate in contest.candidates:
            for label in (candidate.id, candidate.name, *candidate.aliases):
                key = slug(label)
                if key is not None:
                    rows.append((contest.id, key, candidate.id))
    frame = pl.DataFrame(
        rows,
        schema={CONTEST: pl.String, "_key": pl.String, "candidate_id": pl.String},
        orient="row",
    )
    return frame.unique([CONTEST, "_key"], keep="first", maintain_order=True)


def _candidate_ids(raw: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Each candidate line's candidate id: a declared candidate's id (matched by its id, name or
    one of its aliases, case, spaces and punctuation aside: as contests are), else, in a
    contest that declares none, the label itself; null (with a note) when a contest declares
    its candidates and the label is none of them."""
    lists = {c.id for c in election.contests if c.candidates}
    # the slug of each distinct label once (a feed repeats a few labels over many rows)
    labels = (
        raw.select(CONTEST, "candidate")
        .filter(pl.col(CONTEST).is_in(list(lists)))
        .unique()
        .with_columns(slug_expr(pl.col("candidate")).alias("_key"))
        .join(declared_labels(election), on=[CONTEST, "_key"], how="inner")
        .select(CONTEST, "candidate", "candidate_id")
    )
    frame = raw.with_columns(_looked_up(labels, [CONTEST, "candidate"], "candidate_id"))
    is_line = pl.col("count_field").is_null() & pl.col(CONTEST).is_not_null()
    lists_candidates = pl.col(CONTEST).is_in(list(lists))
    candidate = (
        pl.when(~is_line | _blank_label())
        .then(None)
        .when(lists_candidates)
        .then(pl.col("candidate_id"))
        .otherwise(pl.col("candidate"))
    )
    return frame.with_columns(candidate.alias("candidate_id"))


def _blank_label() -> pl.Expr:
    """A candidate line without a label (an empty or blank cell): no line of any ballot, but a
    row that cannot count (E8, `_note`); as a line of its contest's district, every other unit
    of the district would lack it and break E8."""
    return pl.col("candidate").is_null() | (pl.col("candidate").str.strip_chars() == "")


def _key(columns: list[str]) -> pl.Expr:
    """One text key of several text columns, each but the last prefixed by its length (so two
    different tuples never make one key); null when one of them is."""
    parts: list[pl.Expr] = []
    for column in columns[:-1]:
        parts += [pl.col(column).str.len_chars().cast(pl.String), pl.lit(":"), pl.col(column)]
    return pl.concat_str([*parts, pl.col(columns[-1])])


def _looked_up(table: pl.DataFrame, keys: list[str], value: str) -> pl.Expr:
    """`value` of the row of `table` (unique on `keys`) whose keys a row has; null if none: a
    left join's column without the join. A join copies every column of the long rows (some
    thirty, a gigabyte per hundred thousand tables, and once more when the new column's chunks
    differ from theirs); this expression copies none."""
    found = table.select(_key(keys).alias("_key"), value).drop_nulls("_key")
    return (
        _key(keys)
        .replace_strict(found["_key"], found[value], default=None, return_dtype=table.schema[value])
        .alias(value)
    )


def _lines(frame: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Every contest's lines over all its districts in ballot order (declared order, then the
    others by id) and their name `slot` (`p001`, …): how the marts name a contest's line."""
    declared = _declared_lines(election)
    seen = (
        frame.select(CONTEST, "candidate_id", "candidate")
        .filter(pl.col("candidate_id").is_not_null())
        .group_by(CONTEST, "candidate_id")
        .agg(pl.col("candidate").first().alias("_seen_name"))
    )
    lines = (
        declared.join(seen, on=[CONTEST, "candidate_id"], how="full", coalesce=True)
        .with_columns(pl.coalesce("candidate_name", "_seen_name").alias("candidate_name"))
        .sort(CONTEST, pl.col("_declared_at").fill_null(1 << 40), "candidate_id")
        .with_columns(pl.int_range(pl.len()).over(CONTEST).alias("_position"))
    )
    return lines.select(CONTEST, "candidate_id", "candidate_name", _slot_name("_position"))


def _slot_name(position: str) -> pl.Expr:
    """`p001`, … from a 0-based position column."""
    number = (pl.col(position) + 1).cast(pl.String).str.zfill(3)
    return pl.format("{}{}", pl.lit(SLOT_PREFIX), number).alias("slot")


def _positions(frame: pl.DataFrame, lines: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Every contest's ballot in each of its districts (`district`, empty for a contest of the
    whole area): its declared candidates and those some unit of the district gives a line for,
    in the contest's line order, and their slot there. The wide frame is then as wide as the
    longest ballot of one contest in one district, not as the union of a contest's candidates
    across its districts."""
    declared = _declared_lines(election).select(CONTEST, "candidate_id")
    districts = frame.select(CONTEST, "_district").filter(pl.col(CONTEST).is_not_null()).unique()
    given = frame.select(CONTEST, "_district", "candidate_id").filter(
        pl.col("candidate_id").is_not_null()
    )
    line = pl.col("slot").str.slice(len(SLOT_PREFIX)).cast(pl.Int64)
    order = lines.select(CONTEST, "candidate_id", line.alias("_line"))
    return (
        pl.concat(
            [
                districts.join(declared, on=CONTEST),
                given.select(CONTEST, "_district", "candidate_id"),
            ]
        )
        .unique()
        .join(order, on=[CONTEST, "candidate_id"], how="inner")
        .sort(CONTEST, "_district", "_line")
        .with_columns(pl.int_range(pl.len()).over(CONTEST, "_district").alias("_position"))
        .select(
            CONTEST, pl.col("_district").alias("district"), "candidate_id", _slot_name("_position")
        )
    )


def _counts(frame: pl.DataFrame) -> pl.DataFrame:
    """Per contest and district, the count fields some unit gives on a row of its own (a count
    line: write-ins, over or under votes, as the contract's aliases map them), which every unit
    of the district is then expected to give, as it is its district's candidate lines: a unit
    lacking one is missing it (rule E8), not absent. Otherwise a tally delivered in parts (a
    correction file with only its candidate rows) would drop its write-ins from the valid votes
    and its over and under votes from the turnout, with no evidence."""
    return (
        frame.select(CONTEST, pl.col("_district").alias("district"), "count_field")
        .filter(pl.col(CONTEST).is_not_null() & pl.col("count_field").is_not_null())
        .unique()
        .sort(CONTEST, "district", "count_field")
    )


def count_bits(counts: pl.DataFrame) -> pl.DataFrame:
    """contest_id, district, `_counts`: the count fields expected there as one number, bit `i`
    standing for COUNT_FIELDS[i] (the lookup a gather outside polars reads them from)."""
    bit = pl.col("count_field").replace_strict(
        COUNT_FIELDS, [count_bit(f) for f in COUNT_FIELDS], return_dtype=pl.Int64
    )
    return counts.group_by(CONTEST, "district").agg(bit.sum().alias("_counts"))


def count_bit(field: str) -> int:
    """A count field's bit in `count_bits`' numbers."""
    return 1 << COUNT_FIELDS.index(field)


def _contests(frame: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Every contest the rows count, with its attributes (declared ones win over a rule's)."""
    attributes = [CONTEST, "contest_name", "contest_district_level", "seats", "vote_for"]
    found = (
        frame.select(attributes)
        .filter(pl.col(CONTEST).is_not_null())
        .group_by(CONTEST)
        .agg(
            pl.col("contest_name").drop_nulls().first(),
            pl.col("contest_district_level").drop_nulls().first().alias("district_level"),
            pl.col("seats").drop_nulls().first().cast(pl.Int64, strict=False),
            pl.col("vote_for").drop_nulls().first().cast(pl.Int64, strict=False),
        )
    )
    declared = contests_frame(election.contests)
    return (
        declared.join(found, on=CONTEST, how="full", coalesce=True, suffix="_found")
        .select(
            CONTEST,
            pl.coalesce("contest_name", "contest_name_found").alias("contest_name"),
            pl.coalesce("seats", "seats_found", pl.lit(1)).cast(pl.Int64).alias("seats"),
            pl.coalesce("vote_for", "vote_for_found", "seats", "seats_found", pl.lit(1))
            .cast(pl.Int64)
            .alias("vote_for"),
            pl.coalesce("district_level", "district_level_found").alias("district_level"),
            pl.col("declared").fill_null(False),
        )
        .sort(CONTEST)
    )


def contests_frame(contests: tuple[Contest, ...]) -> pl.DataFrame:
    """Declared contests as rows: contest_id, contest_name, seats, vote_for, district_level."""
    return pl.DataFrame(
        [(c.id, c.name, c.seats, c.votes_per_ballot, c.district, True) for c in contests],
        schema={
            CONTEST: pl.String,
            "contest_name": pl.String,
            "seats": pl.Int64,
            "vote_for": pl.Int64,
            "district_level": pl.String,
            "declared": pl.Boolean,
        },
        orient="row",
    )


def _note(election: Election) -> pl.Expr:
    """Why a row cannot count (rule E8), or null: no contest (an empty label, or one that names
    no contest of an election that does not discover them), a label that is none of the
    candidates its contest declares, a district code its contest needs and lacks."""
    admin = list(election.levels)
    needs_code = pl.col("contest_district_level").is_not_null() & ~pl.col(
        "contest_district_level"
    ).is_in(admin)
    lists = [c.id for c in election.contests if c.candidates]
    line = pl.col("count_field").is_null() & pl.col(CONTEST).is_not_null()
    unlabelled = line & _blank_label()
    unknown = line & pl.col(CONTEST).is_in(lists) & pl.col("candidate_id").is_null() & ~unlabelled
    shown = pl.col("candidate").fill_null("").str.slice(0, 80)
    no_contest = pl.col(CONTEST).is_null()
    label = pl.col("contest_name").fill_null("").str.slice(0, 80)
    note = pl.concat_str(
        [
            pl.when(no_contest & (label == "")).then(pl.lit("contest=''")),
            pl.when(no_contest & (label != "")).then(
                pl.format("contest='{}' (none of the election's)", label)
            ),
            pl.when(unlabelled).then(pl.lit("candidate=''")),
            pl.when(unknown).then(pl.format("candidate='{}' (none of the contest's)", shown)),
            pl.when(needs_code & pl.col("contest_district").is_null()).then(
                pl.lit("district_code=''")
            ),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    return pl.when(note != "").then(note)


def _refuse_news(frame: pl.DataFrame, known: Known, election: Election) -> None:
    """Raise NewContestLines unless the rows give only contests, lines per district and contest
    attributes that the rows staged before gave, and reach only districts of the contests that
    declare candidates that those rows reached (then the lines, their positions and the
    contests are those of a staging of every row, and nothing staged before changes)."""
    keys = [CONTEST, "district"]
    given = frame.select(CONTEST, pl.col("_district").alias("district"), "candidate_id").filter(
        pl.col("candidate_id").is_not_null()
    )
    new = given.join(known.positions, on=[*keys, "candidate_id"], how="anti")
    lists = [c.id for c in election.contests if c.candidates]
    reached = frame.select(CONTEST, pl.col("_district").alias("district")).filter(
        pl.col(CONTEST).is_in(lists)
    )
    new_district = reached.join(known.positions, on=keys, how="anti")
    if new.height or new_district.height:
        raise NewContestLines("a line of a contest in a district not seen before")
    if _counts(frame).join(known.counts, on=[*keys, "count_field"], how="anti").height:
        raise NewContestLines("a count row of a contest in a district not seen before")
    found = (
        frame.select(
            CONTEST,
            "contest_name",
            pl.col("contest_district_level").alias("district_level"),
            pl.col("seats").cast(pl.Int64, strict=False),
            pl.col("vote_for").cast(pl.Int64, strict=False),
        )
        .filter(pl.col(CONTEST).is_not_null())
        .unique()
    )
    kept = known.contests.select(CONTEST, "contest_name", "district_level", "seats", "vote_for")
    both = found.join(kept, on=CONTEST, how="left", suffix="_known")
    fields = ["contest_name", "district_level", "seats", "vote_for"]
    differs = pl.any_horizontal(
        pl.col(f).is_not_null() & pl.col(f).ne_missing(pl.col(f"{f}_known")) for f in fields
    )
    unknown = ~pl.col(CONTEST).is_in(kept[CONTEST].implode())
    if both.filter(differs | unknown).height:
        raise NewContestLines("a contest, or a contest's attribute, not seen before")


def plan_columns(election: Election) -> tuple[list[str], dict[str, str]]:
    """The raw columns that plan a general election's ballots (`ballot_plan`), and each code
    column with its level: a code is needed only on the rows of a contest elected at its level
    (read as null elsewhere, so that the rows' distinct values stay few)."""
    columns = [
        CONTEST,
        "candidate",
        "count_field",
        "contest_name",
        *DISTRICT_COLUMNS,
        "seats",
        "vote_for",
    ]
    return columns, {election.code_column(level): level for level in election.levels}


def _prepared(raw: pl.DataFrame, election: Election) -> pl.DataFrame:
    """The raw rows with each line's candidate id, the row's note (rule E8) and its district."""
    return _candidate_ids(raw, election).with_columns(
        _note(election).alias("_note"), district_code(election).fill_null("").alias("_district")
    )


def _plan(frame: pl.DataFrame, election: Election) -> Known:
    lines = _lines(frame, election)
    positions = _positions(frame, lines, election)
    return Known(lines, _contests(frame, election), positions, _counts(frame))


def ballot_plan(rows: pl.DataFrame, election: Election) -> Known:
    """Every contest, its lines and its ballot in each district, from `rows`: every raw row, or
    only the distinct values of `plan_columns` in the order of their first rows (the same plan:
    each part keeps a first value, or a set)."""
    return _plan(_prepared(rows, election), election)


def ballots(raw: pl.DataFrame, election: Election, known: Known | None = None) -> Ballots:
    """A general election's raw rows → one row per file, unit and contest, with the count
    fields and a text column per ballot position (the contest's lines), as staging reads them.

    Rows of one file with the same unit codes and contest are one tally (as the long layout's
    rows of one unit are). A count given on several rows keeps its one value; values that
    disagree are kept as `a|b`, which no count reads (unparsable, rule E8). A line of the
    contest with no row at the unit, or a count the rows of other units of its district give
    on a row and its rows lack, is left empty (missing, rule E8).

    `known`: what the staging of every row before found (a drop's rows are staged against it);
    NewContestLines when the rows give something it lacks."""
    frame = _prepared(raw, election)
    if known is None:
        plan = _plan(frame, election)
    else:
        _refuse_news(frame, known, election)
        plan = known
    return ballots_of([_spread(frame, election, plan)], plan)


def ballots_of(
    wides: list[pl.DataFrame], plan: Known, cells: list[pl.DataFrame] | None = None
) -> Ballots:
    """The Ballots of wide rows spread on `plan`'s ballots; `cells`: where their counts are
    integers, the text of those that are no plain count (transforms/count_cells)."""
    width = _district_width(plan.positions)
    texts = None if cells is None else pl.concat(cells, how="diagonal_relaxed")
    wide = pl.concat(wides)
    return Ballots(wide, plan.lines, plan.positions, plan.contests, width, plan.counts, texts)


def _spread(frame: pl.DataFrame, election: Election, plan: Known) -> pl.DataFrame:
    """`_prepared` rows gathered into one wide row per file, unit and contest."""
    return _finished(_gathered(frame, election, plan), plan)


def gather_columns(
    columns: list[str], election: Election, plan: Known
) -> tuple[list[str], list[str], list[str], list[str]]:
    """What long_rows.gather is asked for of raw rows with these `columns`: the keys (a tally is
    one file, unit and contest), the carried columns, the count fields and the slots."""
    keys = ["file_sha256", *election.code_columns, CONTEST]
    names = [f"{lv}_name" for lv in election.levels]
    carried = [c for c in [*names, "contest_name", *DISTRICT_COLUMNS] if c in columns]
    fixed = [c for c in COUNT_FIELDS if c in columns]
    slots = _slots(plan)
    return keys, [*carried, "no_list"], fixed, slots


def _slots(plan: Known) -> list[str]:
    """The wide frame's slots: as many as the widest ballot of one contest in one district."""
    return [slot(i + 1) for i in range(_district_width(plan.positions))]


def _slot_of(plan: Known) -> pl.Expr:
    """A `_prepared` row's slot on its contest's ballot in its district (null: a count row, or
    a line of no ballot)."""
    positions = plan.positions.rename({"district": "_district"})
    return _looked_up(positions, [CONTEST, "_district", "candidate_id"], "slot")


def _gathered(
    frame: pl.DataFrame, election: Election, plan: Known, extra_keys: tuple[str, ...] = ()
) -> pl.DataFrame:
    """gather of `_prepared` rows on the plan's ballots; `extra_keys`: columns a group's rows
    all share, kept beside the keys."""
    frame = frame.with_columns(_slot_of(plan))
    if "no_list" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("no_list"))
    keys, carried, fixed, slots = gather_columns(frame.columns, election, plan)
    return gather(frame, [*keys, *extra_keys], carried, fixed, slots)


def _finished(wide: pl.DataFrame, plan: Known) -> pl.DataFrame:
    """Gathered rows as `ballots` gives them: the valid votes derived where the rows give none,
    a missing line or count row of the unit's district empty, no empty note."""
    slots = _slots(plan)
    wide = wide.with_columns(
        pl.when(pl.col(VALID).is_null())
        .then(pl.col("_derived_valid"))
        .otherwise(pl.col(VALID))
        .alias(VALID)
    ).drop("_derived_valid")
    wide = _empty_missing(wide, _expected(plan), slots)
    return wide.with_columns(pl.when(pl.col("_note") != "").then(pl.col("_note")).alias("_note"))


FIRST_ROW = "_at"  # a gathered group's first row (its rowid): the order of the wide rows


def row_lookup(rows: pl.DataFrame, election: Election, plan: Known) -> pl.DataFrame:
    """Per distinct value of `plan_columns` (`rows`, as ballot_plan takes them): its row's note,
    district, ballot position (`_position`, 0-based; null for a count or a line of none), the
    length of its contest's ballot in that district (`_ballot`: the positions before it are
    the lines a unit should give) and the count rows a unit there should give (`_counts`, as
    count_bits numbers them), so that a gather outside polars reads what `_prepared`,
    `_spread` and `_finished` make of each raw row."""
    prepared = _prepared(rows, election).with_columns(_slot_of(plan))
    lengths = plan.positions.group_by(CONTEST, "district").len("_ballot")
    position = pl.col("slot").str.slice(len(SLOT_PREFIX)).cast(pl.Int64) - 1
    keys = [CONTEST, "_district"]
    ballot = _looked_up(lengths.rename({"district": "_district"}), keys, "_ballot")
    counts = _looked_up(count_bits(plan.counts).rename({"district": "_district"}), keys, "_counts")
    return prepared.select(
        *rows.columns,
        "_note",
        "_district",
        position.alias("_position"),
        ballot.fill_null(0).cast(pl.Int64),
        counts.fill_null(0).cast(pl.Int64),
    )


def spread_gathered(
    plain: pl.DataFrame, odd_rows: pl.DataFrame, election: Election, plan: Known
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`ballots`' wide rows of a raw table, their counts as integers (transforms/count_cells),
    from those spread outside polars (`plain`: its columns and FIRST_ROW, in its order, counts
    as integers) and the raw rows of the groups left to polars (odd: each row with its group's
    FIRST_ROW), in the order of their first rows; and the text of the cells that are no plain
    count."""
    counts = [c for c in plain.columns if c in COUNT_FIELDS or c in _slots(plan)]
    if not odd_rows.height:
        return plain.drop(FIRST_ROW), pl.DataFrame(schema=_cells_schema(plain, counts))
    odd = _finished(_gathered(_prepared(odd_rows, election), election, plan, (FIRST_ROW,)), plan)
    odd, cells = as_integers(odd.select(plain.columns), counts)
    wide = pl.concat([plain, odd]).sort(FIRST_ROW)
    return wide.drop(FIRST_ROW), cells


def _cells_schema(wide: pl.DataFrame, counts: list[str]) -> dict:
    """The schema of as_integers' cells of `wide`: its keys, then the counts as text."""
    return {**{k: wide.schema[k] for k in CELL_KEYS}, **{c: pl.String for c in counts}}


def district_code(election: Election) -> pl.Expr:
    """The district a row's contest is counted in: its own district code, or the unit's code at
    the administrative level the contest is elected in; null for a contest of the whole area."""
    code = pl.col("contest_district")
    for level in election.levels:
        code = (
            pl.when(pl.col("contest_district_level") == level)
            .then(pl.col(election.code_column(level)))
            .otherwise(code)
        )
    return code


def _expected(plan: Known) -> pl.DataFrame:
    """Per contest and district (`_district`): the slots a unit's rows should give (`_expected`:
    its ballot there, the lines any unit of the district gives and every declared candidate's)
    and its count rows (`_counts`, as count_bits numbers them)."""
    keys = [CONTEST, "district"]
    lines = plan.positions.group_by(keys).agg(pl.col("slot").alias("_expected"))
    counts = count_bits(plan.counts)
    both = lines.join(counts, on=keys, how="full", coalesce=True)
    return both.rename({"district": "_district"})


def _empty_missing(wide: pl.DataFrame, expected: pl.DataFrame, slots: list[str]) -> pl.DataFrame:
    """A line or count row its contest has in the unit's district but the unit's rows lack is
    empty (missing: rule E8); any other slot or count stays null (absent: past the district's
    ballot, or a count no unit of it gives on a row; not judged)."""
    fields = [f for f in COUNT_FIELDS if f in wide.columns]
    wide = wide.join(expected, on=[CONTEST, "_district"], how="left", nulls_equal=True)
    lines = [
        pl.when(pl.col("_expected").list.contains(s).fill_null(False) & pl.col(s).is_null())
        .then(pl.lit(""))
        .otherwise(pl.col(s))
        .alias(s)
        for s in slots
    ]
    counts = [
        pl.col(f).fill_null(pl.when((pl.col("_counts") & count_bit(f)) != 0).then(pl.lit("")))
        for f in fields
    ]
    return wide.with_columns(*lines, *counts).drop("_expected", "_counts")


def ballot_width(lines: pl.DataFrame) -> int:
    """The most lines of any one contest (over all its districts): the lines the marts name."""
    return int(lines.group_by(CONTEST).len()["len"].max() or 0) if lines.height else 0


def _district_width(positions: pl.DataFrame) -> int:
    """Ballot positions the wide frame needs: the longest ballot of one contest in one
    district."""
    if not positions.height:
        return 0
    return int(positions.group_by(CONTEST, "district").len()["len"].max() or 0)


def slot_view(election: Election, width: int) -> Election:
    """The election as staging and the marts see a general election: one candidate per ballot
    position (`p001`, …), mapped back to each contest's candidates by `lines`."""
    return replace(
        election,
        candidates=tuple(Candidate(slot(i + 1), slot(i + 1)) for i in range(max(width, 1))),
        contests=(),
        discovers_contests=False,
    )


def with_candidates(
    votes: pl.DataFrame, positions: pl.DataFrame, districts: pl.DataFrame
) -> pl.DataFrame:
    """Long votes by slot → by the contest's candidate ids in the tally's district; slots past
    the district's ballot go. districts: tally_id, district."""
    return (
        votes.rename({"candidate_id": "slot"})
        .join(districts, on="tally_id", how="left", maintain_order="left")
        .join(
            positions.select(CONTEST, "district", "slot", "candidate_id"),
            on=[CONTEST, "district", "slot"],
            how="inner",
            maintain_order="left",
        )
        .drop("district", "slot")
    )


@dataclass(frozen=True)
class GeneralStaged:
    """A general election's staged tables. Its votes are kept by ballot position (`slot_votes`:
    tally_id, source_id, contest_id, district, then a column per position), so that a full
    staging's writer can map them to candidates as it writes them (warehouse/staged_write.py)
    instead of holding a row per candidate line in memory; `staged` maps them in polars."""

    tallies: pl.DataFrame  # current versions, keyed by contest
    slot_votes: pl.DataFrame
    versions: pl.DataFrame
    contests: pl.DataFrame
    lines: pl.DataFrame  # each contest's lines (Ballots.lines)
    positions: pl.DataFrame  # each contest's ballot positions per district (Ballots.positions)
    counts: pl.DataFrame  # each contest's count rows per district (Ballots.counts)

    @property
    def slots(self) -> tuple[str, ...]:
        """The position columns of `slot_votes`, in ballot order."""
        return tuple(self.slot_votes.columns[len(SLOT_VOTES_INDEX) :])

    @cached_property
    def staged(self) -> StagedTallies:
        """The staged tables with the votes by the contests' candidate ids, long form."""
        by_slot = long_votes(self.slot_votes.drop("district"), self.slots)
        districts = self.slot_votes.select("tally_id", "district")
        votes = with_candidates(by_slot, self.positions, districts)
        return StagedTallies(self.tallies, votes, self.versions)

    def ballot_numbers(self) -> tuple[pl.Series, list[list[str | None]]]:
        """`staged`'s mapping of positions to candidates as numbers a writer indexes without a
        join: each slot_votes row's ballot (`_ballot`: its contest and district's number,
        1-based; null where it has none) and, per position in slot order, the candidate there
        on each ballot (None past a ballot's end)."""
        keys = [CONTEST, "district"]
        numbered = (
            self.positions.select(keys).unique(maintain_order=True).with_row_index("_ballot", 1)
        )
        ballot = self.slot_votes.select(keys).join(
            numbered, on=keys, how="left", maintain_order="left"
        )["_ballot"]
        candidates = [
            numbered.join(
                self.positions.filter(slot=s), on=keys, how="left", maintain_order="left"
            )["candidate_id"].to_list()
            for s in self.slots
        ]
        return ballot, candidates


# the index columns of GeneralStaged.slot_votes, before the position columns
SLOT_VOTES_INDEX = ("tally_id", "source_id", CONTEST, "district")


def stage_general(
    raw: pl.DataFrame,
    deliveries: pl.DataFrame,
    election: Election,
    registry: pl.DataFrame | None = None,
    known: Known | None = None,
) -> GeneralStaged:
    """staging.stage for a general election: its raw rows spread over ballot positions, staged
    as one election whose candidates are the positions, then the positions mapped back to each
    contest's candidates. A tally is one contest at one unit of one source.

    `known`: a drop's rows are staged against what the staging of every earlier row found
    (ballots); NewContestLines when they cannot be."""
    return stage_ballots(ballots(raw, election, known), deliveries, election, registry)


def stage_ballots(
    spread: Ballots,
    deliveries: pl.DataFrame,
    election: Election,
    registry: pl.DataFrame | None = None,
) -> GeneralStaged:
    """stage_general's staging of the raw rows once spread over ballot positions."""
    view = slot_view(election, spread.width)
    staged = stage(spread.wide.drop("_district"), deliveries, view, registry, spread.cells)
    # each tally's district and note, from its wide row (a join of the few columns: joined
    # whole, the tallies' every column would be copied), found by tally_id, one integer, as
    # staging made it from the row's delivery and source_row: a join on the provenance
    # (file_sha256, source_row) hashed the file's hash, text, for every tally
    delivery_seq = pl.col("file_sha256").replace_strict(
        deliveries["file_sha256"], deliveries["delivery_seq"], default=None
    )
    beside = spread.wide.select(
        tally_id(delivery_seq), pl.col("_district").alias("district"), "_note"
    )
    tallies = joined_beside(staged.tallies, beside, ["tally_id"])
    districts = tallies.select("tally_id", "district")
    evidence = pl.concat_str(
        [pl.col("missing_or_unparsable"), pl.col("_note")], separator="; ", ignore_nulls=True
    )
    tallies = tallies.with_columns(
        pl.when(evidence != "").then(evidence).alias("missing_or_unparsable"),
        district_code(election).alias("contest_district"),
    ).drop("district", "_note")
    tallies = evidence_by_candidate(tallies.with_columns(_sum_known()), spread.positions, districts)
    # votes per ballot: a vote-for-N contest's lines sum to N × ballots (rules E2, E4, W1)
    vote_for = pl.col(CONTEST).replace_strict(
        spread.contests[CONTEST], spread.contests["vote_for"], default=None, return_dtype=pl.Int64
    )
    tallies = tallies.with_columns(vote_for.fill_null(1).alias("vote_for"))
    wide = staged.wide_votes
    slot_votes = joined_beside(wide, districts, ["tally_id"]).select(
        *SLOT_VOTES_INDEX, *staged.candidates
    )
    return GeneralStaged(
        tallies,
        slot_votes,
        staged.versions,
        spread.contests,
        spread.lines,
        spread.positions,
        spread.counts,
    )


EVIDENCE = ("missing_or_unparsable", "negative_or_fractional")


def _sum_known() -> pl.Expr:
    """candidate_sum, null where a line of the tally's ballot is missing or unparsable: the sum
    skips the positions past the contest's ballot (absent), but a line of it that is not a count
    leaves the sum unknown, as in an election of one contest (rule E8 says why; rule E3 does not
    judge a partial sum)."""
    broken = (
        pl.col("missing_or_unparsable")
        .fill_null("")
        .str.contains(rf"(^|; ){SLOT_PREFIX}[0-9]{{3}}=")
    )
    return pl.when(broken).then(None).otherwise(pl.col("candidate_sum")).alias("candidate_sum")


def evidence_by_candidate(
    tallies: pl.DataFrame, positions: pl.DataFrame, districts: pl.DataFrame
) -> pl.DataFrame:
    """Evidence that names a ballot position (`p001=''`) names the candidate at that position
    of the tally's contest in the tally's district instead (`ana=''`), so that a quarantined
    tally says which candidate's cell is wrong. Only the few tallies with such evidence are
    touched. districts: tally_id, district (Ballots.positions')."""
    names = positions.select(CONTEST, "district", "slot", "candidate_id")
    for column in EVIDENCE:
        piece = rf"(^|; ){SLOT_PREFIX}[0-9]{{3}}="
        rows = tallies.filter(pl.col(column).fill_null("").str.contains(piece))
        if not rows.height:
            continue
        pieces = (
            rows.select("tally_id", CONTEST, pl.col(column).str.split("; "))
            .join(districts, on="tally_id", how="left")
            .explode(column)
            .with_row_index("_at")
            .with_columns(
                pl.col(column).str.extract(rf"^({SLOT_PREFIX}[0-9]{{3}})=", 1).alias("slot")
            )
            .join(names, on=[CONTEST, "district", "slot"], how="left")
        )
        named = pl.concat_str([pl.col("candidate_id"), pl.col(column).str.slice(4)])
        rebuilt = (
            pieces.sort("_at")
            .with_columns(pl.coalesce(named, pl.col(column)).alias(column))
            .group_by("tally_id", maintain_order=True)
            .agg(pl.col(column).str.join("; ").alias("_named"))
        )
        tallies = (
            tallies.join(rebuilt, on="tally_id", how="left", maintain_order="left")
            .with_columns(pl.coalesce("_named", column).alias(column))
            .drop("_named")
        )
    return tallies
