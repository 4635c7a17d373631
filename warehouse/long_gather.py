"""A long feed's rows gathered into one wide row per tally by DuckDB, where it reads them: the
plain groups only; the odd ones go back to polars whole.

transforms.long_rows gathers a general election's long rows (some eight rows a tally, each of
some thirty text columns) in polars: reading them out of DuckDB and gathering them was two thirds
of a full staging. Most groups are plain: every row gives the same carried, count and note
values, no count field or ballot position twice, and every cell read as a count is a plain
number (digits, as a count writes it). Their wide row is a group-by that DuckDB makes from the
rows in place, so only one row a tally leaves it. A group that is not plain (values that
disagree, a cell that is no plain number, a line given twice) is marked odd, and its raw rows
are read whole for the polars gather, which keeps its `a|b` values, notes and evidence exactly.

What a row's contest, line and note are comes from `lookup`: one row per distinct value of the
columns that plan the ballots (warehouse.general_spread.read_distinct_rows), made by polars
(transforms.contests.row_lookup), so that no label is parsed twice and none differently; so do
the lines and count rows a unit of the row's contest and district is expected to give (a line
or count row it lacks is empty: missing, rule E8).

Text aggregates are what such a group-by spends most on, so it makes few: the lookup's values a
group's rows must share (contest name and district, note, ballot length, count rows expected)
are one number per distinct tuple, compared and carried as an integer; a raw column no row
fills is neither read nor compared; a line or count given twice shows as a bit mask whose sum
is not its `or`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from transforms.contests import count_bit
from transforms.count_cells import EMPTY
from warehouse.db import ident, qualified, registered, rows, scalar
from warehouse.raw_files import row_order, scan

MASK_CELLS = 62  # cells a bigint's bits tell apart (a wider ballot counts them distinct)
PLAIN_LIMIT = 10**15  # a plain count has fewer digits: a sum of a group's never overflows


@dataclass(frozen=True)
class GatherSpec:
    """What transforms.long_rows.gather is asked for, and how a raw row finds its lookup row.

    keys, carried, fixed, slots: gather's. match: the raw columns the lookup is keyed on as
    read; masked: code column → level, keyed on only where contest_district_level is that level
    (null elsewhere, as read_distinct_rows reads them). counted: the count field whose rows add
    to the derived valid votes as a ballot line's do (the other votes); valid: the count field
    that takes the derived valid votes where the rows give none."""

    keys: Sequence[str]
    carried: Sequence[str]
    fixed: Sequence[str]
    slots: Sequence[str]
    match: Sequence[str]
    masked: dict[str, str]
    counted: str
    valid: str


@dataclass(frozen=True)
class Gathered:
    """A raw table gathered: the plain groups' wide rows as transforms.contests spreads them
    (gather's columns, a missing line of the unit's ballot empty, the valid votes derived where
    none is given; and `_at`: the group's first row's raw_files.row_order, their order), their
    counts as integers (transforms/count_cells; none is TEXT), and the raw rows of the odd
    groups (every raw column, in delivery order, with their group's `_at`)."""

    plain: pl.DataFrame
    odd_rows: pl.DataFrame


def gather_raw(
    con: duckdb.DuckDBPyConnection, table: str, lookup: pl.DataFrame, spec: GatherSpec
) -> Gathered:
    """Gather raw.<table>'s rows into wide rows in DuckDB. lookup: one row per distinct value
    of the `spec.match` and masked columns, with its `_note`, `_district`, `_position` (the
    row's ballot position, 0-based, or null), `_ballot` (the length of its contest's ballot
    in its district) and `_counts` (the count rows a unit there gives, as
    transforms.contests.count_bits numbers them)."""
    source = scan(con, table)  # its files, whose row_order a view hides
    filled = _filled(con, source, [*spec.carried, *spec.fixed])
    from_lookup = [c for c in spec.carried if c in lookup.columns and c not in spec.keys]
    params: dict = {"limit": PLAIN_LIMIT}
    try:
        with registered(con, {"_gather_lookup": lookup}):
            _number_values(con, [*from_lookup, *LOOKED_UP], spec)
            con.execute(
                "create or replace temp table _gathered as with r as "  # noqa: S608
                f"({_joined(source, spec, params)}) {_grouped(spec, from_lookup, filled, params)}",
                params,
            )
        wide = con.sql(_plain(spec, from_lookup, filled)).pl()  # noqa: S608 (identifiers)
        odd_rows = _odd_rows(con, source, spec)
    finally:
        con.execute("drop table if exists _gathered; drop table if exists _gather_values")
    return Gathered(wide, odd_rows)


# a lookup row's values a group's rows must share: its note, district, ballot's length and the
# count rows expected there
LOOKED_UP = ("_note", "_district", "_ballot", "_counts")


def _filled(con: duckdb.DuckDBPyConnection, source: str, columns: list[str]) -> list[str]:
    """The `columns` the table has and some row fills: any other is null on every row (a long
    feed leaves some half of its columns empty), so neither read nor compared."""
    present = set(raw_columns_of(con, source))
    there = [c for c in columns if c in present]
    if not there:
        return []
    counted = ", ".join(f"count({ident(c)})" for c in there)
    found = rows(con, f"select {counted} from {source}")[0]  # noqa: S608 (identifiers)
    return [c for c, n in zip(there, found, strict=True) if n]


def _number_values(con: duckdb.DuckDBPyConnection, values: list[str], spec: GatherSpec) -> None:
    """_gather_values: each distinct tuple of these lookup columns with a number (`_vid`), so
    that a group's rows share them exactly when they share the number: one integer compared
    and carried per row instead of several texts (a text aggregate is what a group-by of the
    long rows spends most on). And per lookup row, what its count_field is to the gather, so
    that no raw row's text is compared for it: its place among `spec.fixed` (`_field`, 0-based;
    null for none) and whether it is `spec.counted` (`_counted`)."""
    tuple_ = ", ".join(ident(c) for c in values)
    con.execute(
        "create or replace temp table _gather_values as select *, "  # noqa: S608 (identifiers)
        f"dense_rank() over (order by {tuple_}) as _vid, "
        "list_position($fixed::varchar[], count_field) - 1 as _field, "
        "count_field = $counted as _counted from _gather_lookup",
        {"fixed": list(spec.fixed), "counted": spec.counted},
    )


def raw_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns of raw.<table>."""
    return raw_columns_of(con, qualified("raw", table))


def raw_columns_of(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    return con.sql(f"select * from {source} limit 0").columns  # noqa: S608 (identifiers)


def raw_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """How many rows raw.<table> holds."""
    return scalar(con, f"select count(*) from {qualified('raw', table)}")  # noqa: S608


def _joined(source: str, spec: GatherSpec, params: dict) -> str:
    """Each raw row with its lookup row's value number and ballot position, and its votes as a
    count (`_count`; null where they are none)."""
    on = [f"r.{ident(c)} is not distinct from l.{ident(c)}" for c in spec.match]
    for i, (column, level) in enumerate(spec.masked.items()):
        masked = f"case when r.contest_district_level = $level_{i} then r.{ident(column)} end"
        on.append(f"{masked} is not distinct from l.{ident(column)}")
        params[f"level_{i}"] = level
    return (
        f"select {row_order('r')} as _at, r.*, l._vid, l._position, l._field, l._counted, "  # noqa: S608
        f"try_cast(r.votes as bigint) as _count from {source} r "
        f"left join _gather_values l on {' and '.join(on)}"
    )


def _grouped(spec: GatherSpec, from_lookup: list[str], filled: list[str], params: dict) -> str:
    """The group-by of the joined rows: what a plain group's wide row needs, and whether the
    group is odd."""
    # a plain group's cells are plain numbers or empty: carried as integers (EMPTY: empty),
    # which a group-by keeps for less than text, and so they leave DuckDB
    params["empty"] = EMPTY
    votes = "coalesce(_count, $empty)"
    counted = "(_position is not null or _counted)"
    plain_cell = (  # an empty cell too is odd: bool_and would skip a null
        "coalesce(votes is null or (_count between 0 and $limit - 1 "
        "and cast(_count as varchar) = votes), false)"
    )
    raw_values = [c for c in [*spec.carried, *spec.fixed] if c in filled and c not in from_lookup]
    select = [
        "min(_at) as _at",
        *[ident(k) for k in spec.keys],
        "min(source_row) as source_row",
        "min(_vid) as _vid",
        *[f"min({ident(c)}) as {ident(c)}" for c in raw_values],
    ]
    for i in range(len(spec.fixed)):
        select.append(f"max(case when _field = {i} then {votes} end) as _row_{i}")
    select.append(
        f"case when bool_or({counted} and votes is null) then $empty else coalesce(sum(case "
        f"when {counted} then _count end), 0) end as _derived_valid"
    )
    select += [
        f"max(case when _position = {i} then {votes} end) as _slot_{i}"
        for i in range(len(spec.slots))
    ]
    odd = [
        f"not bool_and({plain_cell})",
        # a raw column's count all rows give alike (below): their value a plain count
        *[f"not {_plain_text(f'min({ident(c)})')}" for c in raw_values if c in spec.fixed],
        "min(_vid) is distinct from max(_vid)",
        *[
            f"min({ident(c)}) is distinct from max({ident(c)}) "
            f"or count({ident(c)}) not in (0, count(*))"
            for c in raw_values
        ],
        _given_twice(spec),
    ]
    # unknown is odd: the polars gather is exact for any group
    select.append(f"coalesce({' or '.join(f'({o})' for o in odd)}, true) as _odd")
    keys = ", ".join(ident(k) for k in spec.keys)
    return f"select {', '.join(select)} from r group by {keys}"


def _plain_text(column: str) -> str:
    """Whether a raw column's count cell is empty, null or a plain count (as its integer
    writes it): what the wide row can carry as an integer."""
    number = f"try_cast({column} as bigint)"
    return (
        f"coalesce({column} = '' or ({number} between 0 and $limit - 1 "
        f"and cast({number} as varchar) = {column}), true)"
    )


def _given_twice(spec: GatherSpec) -> str:
    """Whether a group gives a ballot position or a count field on two rows: each row's cell
    (its position, or a count field after the positions) as a bit, whose sum is their `or`
    unless one is given twice."""
    cells = len(spec.slots) + len(spec.fixed)
    cell = f"coalesce(_position, {len(spec.slots)} + _field)"
    if cells <= MASK_CELLS:
        # no cell at all (a row of no contest): sum and bit_or are null, and nothing is twice
        return f"coalesce(sum(1::bigint << {cell}) <> bit_or(1::bigint << {cell}), false)"
    return f"count({cell}) <> count(distinct {cell})"


def _plain(spec: GatherSpec, from_lookup: list[str], filled: list[str]) -> str:
    """The plain groups' wide rows in gather's columns, their counts as integers, in the order
    of their first rows."""

    def given(column: str) -> str:
        if column in from_lookup:
            return f"v.{ident(column)}"
        return f"g.{ident(column)}" if column in filled else "null::varchar"

    fixed = []
    for i, c in enumerate(spec.fixed):
        value = f"coalesce(g._row_{i}, {_integer(given(c))})"
        if c == spec.valid:  # where the rows give none: the derived valid votes
            value = f"coalesce({value}, g._derived_valid)"
        # a count row other units of the district give and the unit's rows lack: empty
        # (missing); else null (absent)
        missing = f"case when v._counts & {count_bit(c)} <> 0 then {EMPTY} end"
        fixed.append(f"coalesce({value}, {missing})::bigint as {ident(c)}")
    # a line of the unit's ballot that its rows lack is empty (missing); past it, null (absent)
    lines = [
        f"(case when g._slot_{i} is null and v._ballot > {i} then {EMPTY} "
        f"else g._slot_{i} end)::bigint as {ident(s)}"
        for i, s in enumerate(spec.slots)
    ]
    select = [
        "g._at",
        *[f"g.{ident(k)}" for k in spec.keys],
        "g.source_row",
        *[f"{given(c)} as {ident(c)}" for c in spec.carried],
        *fixed,
        "v._district",
        "v._note",
        *lines,
    ]
    return (
        f"select {', '.join(select)} from _gathered g join (select distinct _vid, "
        f"{', '.join(ident(c) for c in [*from_lookup, *LOOKED_UP])} from _gather_values) v "
        "on v._vid = g._vid where not g._odd order by g._at"
    )


def _integer(cell: str) -> str:
    """A raw column's count cell as an integer (EMPTY: empty); a plain group's is a plain
    count (_plain_text)."""
    return f"case when {cell} = '' then {EMPTY} else try_cast({cell} as bigint) end"


def _odd_rows(con: duckdb.DuckDBPyConnection, source: str, spec: GatherSpec) -> pl.DataFrame:
    """The raw rows of the odd groups, in delivery order, each with its group's `_at`."""
    on = " and ".join(f"r.{ident(k)} is not distinct from g.{ident(k)}" for k in spec.keys)
    return con.sql(
        f"select r.*, g._at from {source} r join (select _at, "  # noqa: S608 (identifiers)
        f"{', '.join(ident(k) for k in spec.keys)} from _gathered where _odd) g on {on} "
        f"order by {row_order('r')}"
    ).pl()
