"""Feed contracts: one small declarative file describes how a feed's rows become canonical
tallies. Parsing is strict (transforms/contract_models.py: an invalid contract is refused in one
line naming the key); applying one is pure polars: frames of text in, canonical frames of text
out.

See docs/contracts.md for the reference and a worked example.
"""

import re
from dataclasses import dataclass, field, replace

import polars as pl

from transforms.contest_groups import (
    MAX_ROW,
    ContestGroup,
    GroupPattern,
    GroupsUnresolved,
    group_row,
    on_ballot,
    resolve_groups,
)
from transforms.contests import (
    contest_columns,
    declared_by_slug,
    declared_labels,
    district_code,
    slug,
    slug_expr,
)
from transforms.contract_models import (
    ALIAS_COUNTS,
    CodePartSpec,
    CodePartsSpec,
    ColumnSum,
    ContractError,
    ContractFile,
    RegisteredSpec,
    ReleaseSpec,
    listed,
    show,
    validated,
    where,
)
from transforms.contract_models import ENCODINGS as _ENCODINGS
from transforms.feed import COUNT_FIELDS, NO_LIST, OTHER, REGISTERED, VALID
from transforms.model import NATIONAL, Election
from transforms.repeated_groups import RepeatedGroups, RepeatUnresolved, repeated_header, unpivoted
from transforms.staging import CONTEST

ENCODINGS = {e: e for e in _ENCODINGS}  # a contract's encoding → Python's codec


@dataclass(frozen=True)
class CodePart:
    column: str | None = None  # a column of the feed
    level: str | None = None  # or the code already built for another level
    value: str | None = None  # or a fixed text (a unit only the file's name or title says)
    split: str | None = None  # split the value on this separator...
    take: tuple[int, ...] = ()  # ...and keep these parts (joined again with `split`)
    slice: tuple[int, int] | None = None  # then keep characters [start, end)
    pad: int = 0  # then left-pad with zeros to this width


@dataclass(frozen=True)
class CodeSpec:
    parts: tuple[CodePart, ...]
    separator: str = ""


@dataclass(frozen=True)
class Exclusion:
    column: str
    equals: str | None = None
    matches: str | None = None


@dataclass(frozen=True)
class ContestRule:
    column: str | None  # None in a grouped feed: the rule tests each group's contest label
    matches: str
    level: str | None = None
    seats: int | None = None
    vote_for: int | None = None


@dataclass(frozen=True)
class Contract:
    id: str
    source_id: str
    source_kind: str
    source_name: str
    pattern: str
    format: str = "delimited"
    separator: str = ","
    encoding: str = "utf-8"
    compression: str = "none"  # or "gzip": the file is gzip-compressed (file.compression)
    skip_lines: int = 0
    two_row_header: bool = False  # columns named 'upper|lower' (landing.files.joined_header)
    columns: tuple[str, ...] = ()  # the full expected header, when declared
    codes: dict[str, CodeSpec] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # level → (column, strip)
    counts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field → summed columns
    candidates: dict[str, tuple[str, ...]] = field(default_factory=dict)  # wide: id → columns
    long_candidate: str | None = None  # long layout: the candidate column (or label_parts')...
    long_votes: str | None = None  # ...and the votes column
    label_fallback: str | None = None  # long: the column labelling a row with no candidate
    aliases: dict[str, str] = field(default_factory=dict)  # long layout: label → candidate id
    exclude: tuple[Exclusion, ...] = ()
    release: int = 0
    snapshot: bool = False
    include: tuple[Exclusion, ...] = ()  # keep only rows matching every one of these
    no_list: tuple[str, ...] = ()  # registered values meaning "the unit has no list"
    # long: the columns joined into a line's label, then named `long_candidate` (labelled)
    label_parts: tuple[str, ...] = ()
    # a general election: the one contest the feed counts, or the columns that name it
    contest_id: str | None = None
    contest_columns: tuple[str, ...] = ()
    contest_rules: tuple[ContestRule, ...] = ()
    source_level: str | None = None  # a source above the polling units: its level
    # a general election's wide feed: a group of columns per contest, declared or by pattern
    contest_groups: tuple[ContestGroup, ...] = ()
    contest_patterns: tuple[GroupPattern, ...] = ()
    sum_over: tuple[str, ...] = ()  # long layout: columns a line's votes are split over
    thousands: str | None = None  # the character grouping a number's digits (file.thousands)
    absent_zero: bool = False  # long layout: a line with no row at a unit has 0 votes
    repeat: RepeatedGroups | None = None  # column groups of one row read as rows (file.repeat)
    fill_down: tuple[str, ...] = ()  # columns whose empty cells take the value above

    @property
    def grouped(self) -> bool:
        return bool(self.contest_groups or self.contest_patterns)

    def column_groups(self, header: list[str]) -> list[ContestGroup]:
        """A grouped feed's column groups in this header (GroupsUnresolved when it lacks them)."""
        return resolve_groups(
            header, self.contest_groups, self.contest_patterns, self.referenced_columns()
        )

    @property
    def alias_counts(self) -> list[str]:
        """Count fields a long feed gives as labelled rows (null_votes, …), in a stable order."""
        found = set(self.aliases.values())
        return [f for f in COUNT_FIELDS if f in found]

    @property
    def derives_valid(self) -> bool:
        """A long feed without valid votes: they are the sum of the unit's rows."""
        return (
            self.long_candidate is not None
            and VALID not in self.counts
            and VALID not in self.aliases.values()
        )

    @property
    def maps_other_votes(self) -> bool:
        return OTHER in self.counts or OTHER in self.aliases.values()

    @property
    def carried_levels(self) -> list[str]:
        """The levels whose codes the feed gives; the others come from the registry."""
        return list(self.codes)

    def referenced_columns(self) -> list[str]:
        """Every feed column the contract reads, in a stable order."""
        found: list[str] = []
        for spec in self.codes.values():
            found += [p.column for p in spec.parts if p.column]
        found += [column for column, _ in self.names.values()]
        for columns in (*self.counts.values(), *self.candidates.values()):
            found += list(columns)
        label = self.label_parts or (self.long_candidate,)
        found += [c for c in (*label, self.long_votes, self.label_fallback) if c]
        found += list(self.contest_columns)
        for group in self.contest_groups:
            found += group.cells
        found += [e.column for e in (*self.exclude, *self.include)]
        found += list(self.fill_down)
        return list(dict.fromkeys(found))

    def line_keys(self) -> list[str]:
        """A long feed's columns that tell its tallies apart: every column it reads but the
        line's label (the candidate column and its fallback) and votes."""
        line = (*self.label_parts, self.long_candidate, self.label_fallback, self.long_votes)
        return [c for c in self.referenced_columns() if c not in line]


def _columns(ref: str | ColumnSum | RegisteredSpec) -> tuple[str, ...]:
    if isinstance(ref, RegisteredSpec):
        return tuple(ref.columns)
    return (ref,) if isinstance(ref, str) else tuple(ref.sum)


def _part(ref: str | CodePartSpec) -> CodePart:
    if isinstance(ref, str):
        return CodePart(column=ref)
    return CodePart(
        column=ref.column,
        level=ref.level,
        value=ref.value,
        split=ref.split,
        take=tuple(ref.take or ()),
        slice=(ref.slice[0], ref.slice[1]) if ref.slice else None,
        pad=ref.pad,
    )


def _code_spec(ref: str | CodePartSpec | CodePartsSpec) -> CodeSpec:
    if isinstance(ref, CodePartsSpec):
        return CodeSpec(tuple(_part(p) for p in ref.parts), ref.separator)
    return CodeSpec((_part(ref),))


def _refuse(name: str, path: str, problem: str) -> ContractError:
    return ContractError(f"{where(name, path)}: {problem}")


def _check_against(spec: ContractFile, election: Election, name: str) -> list[str]:
    """The rules that need the election: its levels and its candidates. Returns the levels the
    feed carries."""
    known = ", ".join(election.levels)
    own = _source_level(spec, election, name)
    above = list(election.levels[: election.levels.index(own) + 1]) if own != NATIONAL else []
    carried = list(spec.levels) if spec.levels is not None else above
    for i, level in enumerate(carried):
        if level not in election.levels:
            raise _refuse(
                name,
                f"levels[{i}]",
                f"expected one of the election's levels ({known}), got {show(level)}",
            )
        if level not in above:
            raise _refuse(
                name,
                f"levels[{i}]",
                f"{show(level)} is below the source's level {own!r}: its tallies have no "
                "code there",
            )
    if own != NATIONAL and own not in carried:
        raise _refuse(name, "levels", f"must include the tally's level {own!r}")
    missing_levels = [lv for lv in carried if lv not in spec.codes]
    if missing_levels:
        raise _refuse(name, "codes", f"no code for level(s) {', '.join(missing_levels)}")
    extra_levels = [lv for lv in spec.codes if lv not in carried]
    if extra_levels:
        raise _refuse(
            name,
            "codes",
            f"level(s) {listed(extra_levels)} not in the levels the feed carries "
            f"({', '.join(carried)})",
        )
    unknown_names = [lv for lv in spec.names if lv not in election.levels]
    if unknown_names:
        raise _refuse(name, "names", f"unknown level(s) {listed(unknown_names)}; known: {known}")
    if election.is_general:
        _check_general(spec, election, name)
        return carried
    if spec.contests is not None:
        raise _refuse(
            name,
            "contests",
            "the election has one contest: declare [[contest]] or discover_contests = true in "
            "election.toml to read several",
        )
    candidates = ", ".join(election.candidate_ids)
    if spec.candidates.columns is not None:
        unknown = [c for c in spec.candidates.columns if c not in election.candidate_ids]
        if unknown:
            raise _refuse(
                name,
                "candidates.columns",
                f"unknown candidate(s) {listed(unknown)}; known: {candidates}",
            )
        absent = [c for c in election.candidate_ids if c not in spec.candidates.columns]
        if absent:
            raise _refuse(
                name, "candidates.columns", f"no column for candidate(s) {', '.join(absent)}"
            )
    aliases = spec.candidates.aliases or {}
    targets = {*election.candidate_ids, *ALIAS_COUNTS}
    unknown = sorted({c for c in aliases.values() if c not in targets})
    if unknown:
        raise _refuse(
            name,
            "candidates.aliases",
            f"unknown candidate(s) {listed(unknown)}; known: {candidates} (or "
            f"{', '.join(ALIAS_COUNTS)})",
        )
    return carried


def _higher_level(spec: ContractFile, election: Election) -> str | None:
    """The source's level when it is above the polling units, else None."""
    level = spec.source.level
    return level if level is not None and level != election.tally_level else None


def _source_level(spec: ContractFile, election: Election, name: str) -> str:
    """The level the source's tallies count at: its `source.level`, by default the lowest."""
    level = spec.source.level or election.tally_level
    if level not in (*election.levels, NATIONAL):
        raise _refuse(
            name,
            "source.level",
            f"expected one of the election's levels ({', '.join(election.levels)}) or "
            f"{NATIONAL!r}, got {show(level)}",
        )
    return level


def _check_general(spec: ContractFile, election: Election, name: str) -> None:
    """A general election's contract: it says which contest its rows count."""
    contests = spec.contests
    if contests is None:
        raise _refuse(
            name,
            "contests",
            "a general election's contract says which contest it "
            'counts: [contests] id = "..." or columns = [...]',
        )
    declared = {c.id for c in election.contests}
    if contests.id is not None and contests.id not in declared:
        raise _refuse(
            name, "contests.id", f"{show(contests.id)} is not one of the election's [[contest]]"
        )
    if contests.pattern and not election.discovers_contests:
        raise _refuse(
            name,
            "contests.pattern",
            "the election does not discover contests: set discover_contests = true in "
            "election.toml, or declare each group with [[contests.group]]",
        )
    if not election.discovers_contests:
        known = declared_by_slug(election)
        for i, group in enumerate(contests.group):
            if slug(group.contest) not in known:
                raise _refuse(
                    name,
                    f"contests.group[{i}].contest",
                    f"{show(group.contest)} is none of the election's [[contest]] (id, name or "
                    "alias), and the election does not discover contests",
                )
    districts = [d for d, _ in election.district_levels]
    for i, rule in enumerate(contests.rule):
        if rule.level is not None and rule.level not in (*election.levels, *districts):
            raise _refuse(
                name,
                f"contests.rule[{i}].level",
                f"{show(rule.level)} is neither one of the levels nor one of [districts]",
            )
    if spec.candidates.layout == "wide" and contests.id is not None:
        contest = next(c for c in election.contests if c.id == contests.id)
        known = contest.candidate_ids
        unknown = [c for c in (spec.candidates.columns or {}) if known and c not in known]
        if unknown:
            raise _refuse(
                name,
                "candidates.columns",
                f"unknown candidate(s) {listed(unknown)} of contest {contest.id}; known: "
                f"{', '.join(known)}",
            )


def parse_contract(data: dict, election: Election, name: str = "contract") -> Contract:
    """Validate a contract read from TOML against the election it feeds.

    `name` heads every message: the contract's name (`observers.file.encoding: ...`) or its
    file (`mini/contracts/observers.toml: file.encoding: ...`).
    """
    spec = validated(ContractFile, data, name)
    carried = _check_against(spec, election, name)
    cand = spec.candidates
    release = spec.release or ReleaseSpec()
    return Contract(
        id=spec.id,
        source_id=spec.source.id,
        source_kind=spec.source.kind,
        source_name=spec.source.name,
        source_level=_higher_level(spec, election),
        pattern=spec.file.pattern,
        format=spec.file.format,
        separator=spec.file.separator,
        encoding=spec.file.encoding,
        compression=spec.file.compression,
        skip_lines=spec.file.skip_lines,
        two_row_header=spec.file.header_rows == 2,
        columns=tuple(spec.file.columns or ()),
        codes={lv: _code_spec(spec.codes[lv]) for lv in carried},
        names={
            lv: (ref, "") if isinstance(ref, str) else (ref.column, ref.strip)
            for lv, ref in spec.names.items()
        },
        # in the order the contract gives them, as the columns it reads are listed in
        counts={f: _columns(getattr(spec.counts, f)) for f in data["counts"]},
        candidates={c: _columns(ref) for c, ref in (cand.columns or {}).items()}
        if cand.layout == "wide"
        else {},
        long_candidate=" + ".join(cand.label_columns) if cand.layout == "long" else None,
        label_parts=tuple(cand.label_columns) if len(cand.label_columns) > 1 else (),
        long_votes=cand.votes_column if cand.layout == "long" else None,
        label_fallback=cand.label_fallback,
        aliases=dict(cand.aliases or {}),
        sum_over=tuple(cand.sum_over or ()),
        thousands=spec.file.thousands,
        absent_zero=cand.absent_lines == "zero",
        repeat=RepeatedGroups(
            spec.file.repeat.pattern, tuple(spec.file.repeat.columns), spec.file.repeat.key
        )
        if spec.file.repeat
        else None,
        fill_down=tuple(spec.file.fill_down or ()),
        exclude=tuple(Exclusion(e.column, e.equals, e.matches) for e in spec.exclude),
        release=release.number,
        snapshot=release.snapshot,
        include=tuple(Exclusion(e.column, e.equals, e.matches) for e in spec.include),
        no_list=spec.counts.registered.absent_values
        if isinstance(spec.counts.registered, RegisteredSpec)
        else (),
        contest_id=spec.contests.id if spec.contests else None,
        contest_columns=tuple(spec.contests.columns or ()) if spec.contests else (),
        contest_rules=tuple(
            ContestRule(r.column, r.matches, r.level, r.seats, r.vote_for)
            for r in (spec.contests.rule if spec.contests else ())
        ),
        contest_groups=tuple(
            ContestGroup(
                g.contest,
                {f: _columns(getattr(g.counts, f)) for f in COUNT_FIELDS if getattr(g.counts, f)},
                {label: _columns(ref) for label, ref in g.candidates.items()},
            )
            for g in (spec.contests.group if spec.contests else ())
        ),
        contest_patterns=tuple(
            GroupPattern(
                p.candidates, {f: getattr(p, f) for f in COUNT_FIELDS if getattr(p, f) is not None}
            )
            for p in (spec.contests.pattern if spec.contests else ())
        ),
    )


def header_problems(header: list[str], contract: Contract) -> str | None:
    """Schema drift: what the file's header lacks or adds against the contract, or None. With
    repeated groups the contract reads the header they leave (transforms.repeated_groups);
    `file.columns` is the file's own header either way."""
    read = header
    if contract.repeat:
        try:
            read = repeated_header(header, contract.repeat)
        except RepeatUnresolved as error:
            return f"columns no longer match the contract: its repeated groups: {error}"
    readable = set(read)
    missing = [c for c in contract.referenced_columns() if c not in readable]
    if contract.columns:
        present = set(header)
        missing += [c for c in contract.columns if c not in present and c not in missing]
        extra = [c for c in header if c not in set(contract.columns) and c != "source_row"]
    else:
        extra = []
    unresolved = None
    if contract.grouped and not missing:
        try:
            contract.column_groups(header)
        except GroupsUnresolved as error:
            unresolved = str(error)
    if not missing and not extra and not unresolved:
        return None
    said = []
    if missing:
        said.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        said.append(f"unexpected column(s) {', '.join(extra)}")
    if unresolved:
        said.append(f"its column groups do not match the contract: {unresolved}")
    return "columns no longer match the contract: " + "; ".join(said)


def _part_expr(part: CodePart, built: dict[str, pl.Expr]) -> pl.Expr:
    if part.value is not None:
        expr = pl.lit(part.value, pl.String)
    else:
        expr = pl.col(part.column).str.strip_chars() if part.column else built[part.level]
    if part.split is not None:
        pieces = expr.str.split(part.split)
        expr = pl.concat_str(
            [pieces.list.get(i, null_on_oob=True) for i in part.take], separator=part.split
        )
    if part.slice is not None:
        start, end = part.slice
        expr = expr.str.slice(start, end - start)
    if part.pad:
        expr = expr.str.zfill(part.pad)
    return expr


def _code_exprs(contract: Contract, election: Election) -> dict[str, pl.Expr]:
    """Build codes in dependency order: a level may derive from another level's code."""
    built: dict[str, pl.Expr] = {}
    pending = dict(contract.codes)
    while pending:
        progressed = False
        for level, spec in list(pending.items()):
            if all(p.level is None or p.level in built for p in spec.parts):
                exprs = [_part_expr(p, built) for p in spec.parts]
                built[level] = (
                    exprs[0] if len(exprs) == 1 else pl.concat_str(exprs, separator=spec.separator)
                )
                del pending[level]
                progressed = True
        if not progressed:
            raise ContractError(
                f"{contract.id}.codes: levels {', '.join(pending)} refer to each other in a circle"
            )
    return built


def _sum_text(columns: tuple[str, ...]) -> pl.Expr:
    """One column as delivered, or the sum of several (text out; empty if any part is not a
    whole number, so the quality gate sees it)."""
    if len(columns) == 1:
        return pl.col(columns[0]).str.strip_chars()
    parsed = [pl.col(c).str.strip_chars().cast(pl.Int64, strict=False) for c in columns]
    total = pl.sum_horizontal(parsed, ignore_nulls=False)
    return (
        pl.when(total.is_not_null())
        .then(total.cast(pl.String))
        .otherwise(pl.concat_str([pl.col(c).fill_null("") for c in columns], separator="+"))
    )


def _matches(rule: Exclusion) -> pl.Expr:
    value = pl.col(rule.column).fill_null("").str.strip_chars()
    return value == rule.equals if rule.equals is not None else value.str.contains(rule.matches)


def _count_expr(field: str, contract: Contract, election: Election) -> pl.Expr:
    """A count field's text: its mapped columns, a long feed's labelled rows, the derived valid
    votes, or null (absent)."""
    if field in contract.counts:
        text = _sum_text(contract.counts[field])
        if field == REGISTERED and contract.no_list:
            text = pl.when(_no_list(contract)).then(pl.lit(None, pl.String)).otherwise(text)
        return text
    if field in contract.alias_counts:
        return pl.col(field)
    if field == VALID and contract.derives_valid:
        return _derived_valid(contract, election)
    return pl.lit(None, pl.String)


def _derived_valid(contract: Contract, election: Election) -> pl.Expr:
    """A long feed's valid votes: the sum of the unit's candidate rows and its other votes
    (aliased rows or a mapped column); empty (missing, rule E8) when a part is not a count."""
    parts = [pl.col(c) for c in election.candidate_ids]
    if contract.maps_other_votes:
        parts.append(_count_expr(OTHER, contract, election))
    parsed = [p.str.strip_chars().cast(pl.Int64, strict=False) for p in parts]
    total = pl.sum_horizontal(parsed, ignore_nulls=False)
    return pl.when(total.is_not_null()).then(total.cast(pl.String)).otherwise(pl.lit(""))


def _no_list(contract: Contract) -> pl.Expr:
    """The unit has no list of registered voters: its cell is one of `absent_when`'s values."""
    column = contract.counts[REGISTERED][0]
    return pl.col(column).fill_null("").str.strip_chars().is_in(list(contract.no_list))


@dataclass(frozen=True)
class Applied:
    tallies: pl.DataFrame  # canonical text columns, source_row
    excluded: int  # rows left out by the contract's [[exclude]] and [[include]]
    rows_read: int = 0  # data rows in the file (= rows used + excluded + blank)
    blank: int = 0  # blank or whitespace-only lines: skipped, never a tally


def filled_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The feed rows with some cell that is not empty or whitespace. A blank line, a trailing
    one, a spreadsheet's empty row is skipped (and counted), never a tally without a code.

    Only the rows whose first cell is empty are tested cell by cell: in a feed of millions of
    rows there are a handful, and testing every cell of every row was a tenth of its raw load."""
    cells = [c for c in frame.columns if c != "source_row"]
    if not cells or not frame.height:
        return frame
    empty = [pl.col(c).fill_null("").str.strip_chars() == "" for c in cells]
    blank = frame.select(empty[0]).to_series()
    if not blank.any():
        return frame
    suspects = blank.arg_true()
    whole = frame[suspects].select(pl.all_horizontal(empty)).to_series()
    return frame.filter(~blank.scatter(suspects.filter(~whole), False))


def filled_down(column: str) -> pl.Expr:
    """`file.fill_down`: the column's empty cells take the last value above them, in the file's
    order (Taiwan's CEC names a town on its first row only, as the spreadsheet's merged cell
    exports). Cells before the first value stay empty, for the rules to judge."""
    cell = pl.col(column)
    given = pl.when(cell.fill_null("").str.strip_chars() != "").then(cell)
    return given.forward_fill().fill_null(cell).alias(column)


def labelled(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """A long feed's rows, a row whose candidate cell is empty labelled from the column
    `candidates.label_fallback` names: Argentina's rows of blank, null, contested and challenged
    votes have no agrupación but a votos_tipo, so each is a line of its own (aliased to a count)
    instead of one empty label. A label read from several columns (`label_parts`) is first
    their non-empty cells joined with a space, in the column `long_candidate` names. Unchanged
    without either key."""
    if contract.label_parts:
        cells = [pl.col(c).fill_null("").str.strip_chars() for c in contract.label_parts]
        joined = pl.concat_list(cells).list.eval(pl.element().filter(pl.element() != ""))
        frame = frame.with_columns(joined.list.join(" ").alias(contract.long_candidate))
    if not contract.label_fallback:
        return frame
    label = pl.col(contract.long_candidate)
    empty = label.fill_null("").str.strip_chars() == ""
    return frame.with_columns(
        pl.when(empty)
        .then(pl.col(contract.label_fallback))
        .otherwise(label)
        .alias(contract.long_candidate)
    )


def kept_rows(contract: Contract) -> pl.Expr:
    """True for the rows the contract keeps: those that match every `[[include]]` rule and no
    `[[exclude]]` rule."""
    keep = pl.lit(True)
    for rule in contract.exclude:
        keep = keep & ~_matches(rule)
    for rule in contract.include:
        keep = keep & _matches(rule)
    return keep


def _long_votes(contract: Contract) -> pl.Expr:
    """A long feed's votes cell as text: empty where absent, outer spaces dropped."""
    return pl.col(contract.long_votes).fill_null("").str.strip_chars()


def numbers(frame: pl.DataFrame, contract: Contract) -> list[str]:
    """The columns of `frame` that hold counts or votes under `contract`: [counts], the wide
    candidates' columns, the long votes column, a grouped feed's group cells."""
    found = [
        c for columns in (*contract.counts.values(), *contract.candidates.values()) for c in columns
    ]
    found += [contract.long_votes] if contract.long_votes else []
    if contract.grouped:
        found += [c for g in contract.column_groups(frame.columns) for c in g.cells]
    return [c for c in dict.fromkeys(found) if c in frame.columns]


def ungrouped(column: str, thousands: str) -> pl.Expr:
    """A number's text without the character grouping its digits by three (`1.234.567` →
    `1234567` for "."); any other text is left as it is, for the quality gate to judge (`1.5`
    stays unparsable)."""
    value = pl.col(column)
    grouped = rf"^\s*[1-9]\d{{0,2}}(?:{re.escape(thousands)}\d{{3}})+\s*$"
    return (
        pl.when(value.str.contains(grouped))
        .then(value.str.replace_all(thousands, "", literal=True))
        .otherwise(value)
        .alias(column)
    )


def summed_over(kept: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """A long feed whose lines are split over rows (`candidates.sum_over`, e.g. a vote type:
    election day, mail, early) → one row per line: the rows that agree on every column the
    contract reads but those are one, their votes summed, numbered by their first row. Rows that
    agree on those columns too are one part given twice: the same votes once, else `a|b`, as
    anywhere. A part that is not a whole number leaves the parts joined by `+` (unparsable: E8)."""
    apart = {contract.long_votes, contract.label_fallback, *contract.sum_over}
    rule_columns = [r.column for r in contract.contest_rules if r.column]
    keys = [c for c in dict.fromkeys([*contract.referenced_columns(), *rule_columns])]
    keys = [c for c in keys if c not in apart]
    votes = _long_votes(contract)
    # a part given twice (the same vote type on two rows) is one part, or `a|b` if they differ
    parts = kept.group_by([*keys, *contract.sum_over], maintain_order=True).agg(
        pl.col("source_row").min(), votes.unique(maintain_order=True).str.join("|")
    )
    parsed = votes.cast(pl.Int64, strict=False)
    return parts.group_by(keys, maintain_order=True).agg(
        pl.col("source_row").min(),
        pl.when(parsed.is_not_null().all())
        .then(parsed.sum().cast(pl.String))
        .otherwise(votes.str.join("+"))
        .alias(contract.long_votes),
    )


UNIT_REGISTERED = "_unit_registered"  # a long feed's registered voters, read from their own row


def unit_registered(kept: pl.DataFrame, contract: Contract) -> tuple[pl.DataFrame, Contract]:
    """A long feed whose unit's registered voters are a row of their own (a label aliased to
    `registered`: Clarity's "Registered Voters", under a contest of its own) → the other rows,
    each with its unit's figure in a column, and the contract reading it as [counts] registered:
    the figure holds for every contest of the unit. Units are the rows that agree on the columns
    the codes are built from; two rows of a unit that disagree give `a|b` (unparsable, rule E8);
    a unit without the row has it empty (missing, E8), as an empty [counts] cell."""
    labels = [label for label, target in contract.aliases.items() if target == REGISTERED]
    is_count = pl.col(contract.long_candidate).fill_null("").str.strip_chars().is_in(labels)
    unit = [p.column for spec in contract.codes.values() for p in spec.parts if p.column]
    unit = list(dict.fromkeys(unit)) or ["_national"]
    kept = kept.with_columns(pl.lit("").alias("_national")) if unit == ["_national"] else kept
    votes = _long_votes(contract)
    given = (
        kept.filter(is_count)
        .group_by(unit, maintain_order=True)
        .agg(votes.unique(maintain_order=True).str.join("|").alias(UNIT_REGISTERED))
    )
    lines = kept.filter(~is_count).join(
        given, on=unit, how="left", nulls_equal=True, maintain_order="left"
    )
    aliases = {label: target for label, target in contract.aliases.items() if target != REGISTERED}
    counts = {**contract.counts, REGISTERED: (UNIT_REGISTERED,)}
    return lines.drop("_national", strict=False), replace(contract, aliases=aliases, counts=counts)


def contract_rows(filled: pl.DataFrame, contract: Contract) -> tuple[pl.DataFrame, int]:
    """A file's rows (blank ones dropped: filled_rows) as the contract reads them, and how many
    of them it leaves out: empty cells filled down (`file.fill_down`), the rows `[[exclude]]` and
    `[[include]]` leave out dropped, each row split into its groups' rows (`file.repeat`, after
    the rules: they judge the file's rows), digit groups dropped (`file.thousands`), empty labels
    filled (`label_fallback`, before the rules: a rule on the candidate column sees the label)."""
    if contract.fill_down:
        filled = filled.with_columns(filled_down(c) for c in contract.fill_down)
    if contract.repeat:
        kept = filled.filter(kept_rows(contract))
        return _read_cells(unpivoted(kept, contract.repeat), contract), filled.height - kept.height
    kept = _read_cells(filled, contract).filter(kept_rows(contract))
    return kept, filled.height - kept.height


def _read_cells(rows: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    if contract.thousands:
        rows = rows.with_columns(ungrouped(c, contract.thousands) for c in numbers(rows, contract))
    return labelled(rows, contract)


def apply_contract(frame: pl.DataFrame, contract: Contract, election: Election) -> Applied:
    """Feed rows (every column text, plus source_row) → canonical tally rows, as text.

    Fields the contract does not map stay null (absent); mapped cells keep their text, empty
    included, for staging and the quality gate to judge. `no_list` is "1" where the unit has no
    list of registered voters (then `registered` is null: absent, never judged).
    """
    filled = filled_rows(frame)
    blank = frame.height - filled.height
    kept, excluded = contract_rows(filled, contract)
    if contract.long_candidate:
        contract = with_spellings(contract, long_labels(kept, contract), election)
    if contract.long_candidate and REGISTERED in contract.aliases.values():
        kept, contract = unit_registered(kept, contract)
    if contract.sum_over:
        kept = summed_over(kept, contract)
    if election.is_general:
        return Applied(_general_rows(kept, contract, election), excluded, frame.height, blank)
    if contract.long_candidate:
        kept = _pivot_long(kept, contract, election)
    selected = [
        pl.col("source_row"),
        *_code_columns(contract, election),
        *[
            _name_expr(column, strip).alias(f"{lv}_name")
            for lv, (column, strip) in contract.names.items()
        ],
        *[_count_expr(f, contract, election).alias(f) for f in COUNT_FIELDS],
        _no_list_marker(contract),
    ]
    if contract.long_candidate:
        selected += [pl.col(c) for c in election.candidate_ids]
    else:
        selected += [_sum_text(contract.candidates[c]).alias(c) for c in election.candidate_ids]
    # A mapped field with no value (a JSON null, a missing key) is missing, not absent.
    mapped_counts = [
        f
        for f in COUNT_FIELDS
        if (f in contract.counts and not (f == REGISTERED and contract.no_list))
        or f in contract.alias_counts
        or (f == VALID and contract.derives_valid)
    ]
    mapped = [
        *[election.code_column(lv) for lv in contract.carried_levels],
        *mapped_counts,
        *election.candidate_ids,
    ]
    names = [
        pl.lit(None, pl.String).alias(f"{lv}_name")
        for lv in election.levels
        if lv not in contract.names
    ]
    tallies = kept.select(selected).with_columns(pl.col(mapped).fill_null(""), *names)
    if contract.no_list:  # a unit with a list whose cell is empty is missing, not absent
        tallies = tallies.with_columns(
            pl.when(pl.col(NO_LIST).is_null())
            .then(pl.col(REGISTERED).fill_null(""))
            .otherwise(pl.col(REGISTERED))
            .alias(REGISTERED)
        )
    return Applied(tallies, excluded, frame.height, blank)


def _code_columns(contract: Contract, election: Election) -> list[pl.Expr]:
    """Every level's code as the contract builds it (null for a level the feed lacks)."""
    codes = _code_exprs(contract, election)
    return [
        (codes[lv] if lv in codes else pl.lit(None, pl.String)).alias(election.code_column(lv))
        for lv in election.levels
    ]


def _no_list_marker(contract: Contract) -> pl.Expr:
    """`no_list`: "1" where the unit has no list of registered voters, else null."""
    if not contract.no_list:
        return pl.lit(None, pl.String).alias(NO_LIST)
    return pl.when(_no_list(contract)).then(pl.lit("1")).alias(NO_LIST)


def long_labels(kept: pl.DataFrame, contract: Contract) -> list[str]:
    """The distinct labels of a long feed's rows (its candidate cells, trimmed)."""
    label = pl.col(contract.long_candidate).fill_null("").str.strip_chars()
    return kept.select(label.unique()).to_series().to_list()


def with_spellings(contract: Contract, labels: list[str], election: Election) -> Contract:
    """The contract with its `aliases` also taking the spellings of their labels that these
    `labels` use: a label no alias names exactly whose slug (case, spaces and punctuation
    aside, as contests and declared candidates are matched) is that of aliases all naming
    one target maps to it (`Write-Ins` and `WRITE-INS` as `"Write-ins" = "other_votes"`).
    County files that capitalise a count row each their own way then give one count, not a
    line of their own that every other county lacks (E8). A label that is an alias exactly,
    or (one contest) a candidate's id, keeps its meaning; the spellings added come after the
    contract's own, so a count's first label stays the one it names first."""
    if not contract.aliases:
        return contract
    own = list(contract.aliases)
    slugs = _slugs([*own, *labels])  # one engine call: a file's few labels and the aliases
    targets: dict[str, set[str]] = {}
    for label, key in zip(own, slugs[: len(own)], strict=True):
        if key is not None:
            targets.setdefault(key, set()).add(contract.aliases[label])
    taken = set(own) | (set() if election.is_general else set(election.candidate_ids))
    added = {}
    for label, key in zip(labels, slugs[len(own) :], strict=True):
        found = targets.get(key or "", set())
        if label not in taken and len(found) == 1:
            added[label] = next(iter(found))
    if not added:
        return contract
    return replace(contract, aliases={**contract.aliases, **added})


def _slugs(texts: list[str]) -> list[str | None]:
    """transforms.contests.slug of each text, in one call."""
    return (
        pl.Series("text", texts, pl.String)
        .to_frame()
        .select(slug_expr(pl.col("text")).alias("text"))["text"]
        .to_list()
    )


def _general_rows(kept: pl.DataFrame, contract: Contract, election: Election) -> pl.DataFrame:
    """A general election's rows: one per unit, contest and line (a candidate, or a count the
    contract's aliases name), as text; the contest's candidates get their columns in staging
    (transforms.contests.ballots)."""
    if contract.grouped:
        return _grouped_rows(kept, contract, election)
    if contract.long_candidate:
        label = pl.col(contract.long_candidate).fill_null("").str.strip_chars()
        counts = {k: v for k, v in contract.aliases.items() if v in ALIAS_COUNTS}
        renamed = {k: v for k, v in contract.aliases.items() if v not in ALIAS_COUNTS}
        unit = _unit_columns(contract, election)
        keys = _contest_keys(contract)
        lines = kept.select(
            *unit,
            *[pl.col(c).alias(k) for c, k in keys.items()],
            label.replace(renamed).str.slice(0, 200).alias("candidate"),
            label.replace_strict(counts, default=None, return_dtype=pl.String).alias("count_field"),
            _long_votes(contract).alias("votes"),
        )
        if not keys:  # a contract of one declared contest: nothing to read per row
            return zero_filled(
                lines.select(
                    *[pl.col(c) for c in lines.columns[: len(unit)]],
                    *contest_columns(contract, election),
                    "candidate",
                    "count_field",
                    "votes",
                ),
                contract,
                election,
            )
        # the contest's columns once per distinct label (a handful per file, not every row)
        contests = (
            kept.select(list(keys))
            .unique()
            .select(
                *[pl.col(c).alias(k) for c, k in keys.items()], *contest_columns(contract, election)
            )
        )
        joined = lines.join(
            contests, on=list(keys.values()), how="left", nulls_equal=True, maintain_order="left"
        )
        return zero_filled(
            joined.select(
                *[c for c in lines.columns[: len(unit)]],
                *[c for c in contests.columns if c not in keys.values()],
                "candidate",
                "count_field",
                "votes",
            ),
            contract,
            election,
        )
    rows = kept.select(
        *_general_base(contract, election),
        *[_sum_text(cols).alias(f"_c_{c}") for c, cols in contract.candidates.items()],
    )
    return pl.concat(
        rows.select(
            *[c for c in rows.columns if not c.startswith("_c_")],
            pl.lit(cid).alias("candidate"),
            pl.lit(None, pl.String).alias("count_field"),
            pl.col(f"_c_{cid}").fill_null("").alias("votes"),
        )
        for cid in contract.candidates
    ).sort("source_row", maintain_order=True)


ZERO_COUNTS = ("null_votes", "blank_votes", "other_votes")  # counts a missing row makes 0


def zero_filled(rows: pl.DataFrame, contract: Contract, election: Election) -> pl.DataFrame:
    """`absent_lines = "zero"`: a feed that lists only the lines with votes. Each unit's contest
    gets a row of 0 votes for every line of its district's ballot it gives no row for (a
    candidate some row of the file gives in the district, a declared candidate of the contest,
    an aliased null, blank or other count), numbered by the unit's first row. A line that only
    another file gives in the district stays missing (E8). Unchanged without the key."""
    if not contract.absent_zero or rows.is_empty():
        return rows
    unit = [*election.code_columns, CONTEST]
    declared = declared_labels(election).select(
        CONTEST, pl.col("_key").alias("_slug"), pl.col("candidate_id").alias("_declared")
    )
    keyed = rows.filter(pl.col(CONTEST).is_not_null()).with_columns(
        district_code(election).alias("_district"),
        slug_expr(pl.col("candidate")).alias("_slug"),
    )
    keyed = keyed.join(declared, on=[CONTEST, "_slug"], how="left", maintain_order="left").drop(
        "_slug"
    )
    keyed = keyed.with_columns(
        pl.coalesce("count_field", "_declared", "candidate").alias("_line")
    ).drop("_declared")
    firsts = keyed.group_by(unit, maintain_order=True).first()
    districts = firsts.select(CONTEST, "_district").unique()
    labels = {v: k for k, v in reversed(contract.aliases.items()) if v in ZERO_COUNTS}
    counts = pl.DataFrame(
        [(f, label, f) for f, label in labels.items()],
        schema={"_line": pl.String, "candidate": pl.String, "count_field": pl.String},
        orient="row",
    )
    given = keyed.filter(pl.col("count_field").is_null()).select(
        CONTEST, "_district", "_line", "candidate", "count_field"
    )
    listed = districts.join(
        declared.select(CONTEST, pl.col("_declared").alias("_line")).unique(), on=CONTEST
    ).with_columns(pl.col("_line").alias("candidate"), pl.lit(None, pl.String).alias("count_field"))
    ballot = pl.concat(
        [
            given,
            listed.select(given.columns),
            districts.join(counts, how="cross").select(given.columns),
        ]
    ).unique([CONTEST, "_district", "_line"], keep="first", maintain_order=True)
    wanted = firsts.select(*unit, "_district").join(
        ballot, on=[CONTEST, "_district"], nulls_equal=True
    )
    absent = wanted.join(
        keyed.select(*unit, "_line"), on=[*unit, "_line"], how="anti", nulls_equal=True
    )
    added = (
        absent.select(*unit, "_line", "candidate", "count_field")
        .join(
            firsts.drop("_line", "candidate", "count_field", "votes", "_district"),
            on=unit,
            nulls_equal=True,
        )
        .with_columns(pl.lit("0").alias("votes"))
    )
    return pl.concat([rows, added.select(rows.columns)], how="vertical").sort(
        "source_row", maintain_order=True
    )


def _contest_keys(contract: Contract) -> dict[str, str]:
    """The feed columns a row's contest is read from (its label's, its rules'), each under a
    private name for the join of the contests found once per distinct combination."""
    if contract.contest_id is not None:
        columns = [r.column for r in contract.contest_rules]
    else:
        columns = [*contract.contest_columns, *[r.column for r in contract.contest_rules]]
    return {c: f"_contest_key{i}" for i, c in enumerate(dict.fromkeys(columns))}


def _general_base(contract: Contract, election: Election) -> list[pl.Expr]:
    """A general election's raw columns before the line: the unit's, then the contest."""
    return [*_unit_columns(contract, election), *contest_columns(contract, election)]


def _unit_columns(contract: Contract, election: Election) -> list[pl.Expr]:
    """Row, codes, names, the contract's counts and the no-list marker."""
    return [
        pl.col("source_row"),
        *_code_columns(contract, election),
        *[
            (
                _name_expr(*contract.names[lv]) if lv in contract.names else pl.lit(None, pl.String)
            ).alias(f"{lv}_name")
            for lv in election.levels
        ],
        *[
            (
                _unit_count(f, contract, election)
                if f in contract.counts
                else pl.lit(None, pl.String)
            ).alias(f)
            for f in COUNT_FIELDS
        ],
        _no_list_marker(contract),
    ]


def _unit_count(field: str, contract: Contract, election: Election) -> pl.Expr:
    """A [counts] field of a general election's row: an empty cell is missing (rule E8), but
    the registered voters of a unit without a list (`absent_when`) stay absent (null), as in an
    election of one contest."""
    text = _count_expr(field, contract, election)
    if field == REGISTERED and contract.no_list:
        return pl.when(_no_list(contract)).then(text).otherwise(text.fill_null(""))
    return text.fill_null("")


GROUP_LABEL = "_contest_group"  # a grouped feed's contest label, as a long feed's contest column


def _grouped_rows(kept: pl.DataFrame, contract: Contract, election: Election) -> pl.DataFrame:
    """A wide feed of several contests → the long rows a long feed gives: per data row and
    contest on its ballot (a group with a cell not empty), one row per candidate column and per
    count of the group (a count as a labelled line, as a long feed's "OVER VOTES" row). The
    contract's [counts] (e.g. the unit's registered voters) hold for every group; a group's own
    count wins. The contest label goes through the long layout's matching and rules."""
    groups = contract.column_groups(kept.columns)
    if kept.height and kept["source_row"].max() > MAX_ROW:
        raise GroupsUnresolved(f"more than {MAX_ROW} data rows: split the file")
    as_long = replace(
        contract,
        contest_columns=(GROUP_LABEL,),
        contest_rules=tuple(replace(r, column=GROUP_LABEL) for r in contract.contest_rules),
    )
    # the unit's columns once, beside every group's cells under names of their own
    cells = {
        c: f"_cell{i}" for i, c in enumerate(dict.fromkeys(c for g in groups for c in g.cells))
    }
    units = kept.select(
        *_unit_columns(contract, election), *[pl.col(c).alias(n) for c, n in cells.items()]
    )
    unit_names = [c for c in units.columns if c not in cells.values()]
    counts = {k: v for k, v in contract.aliases.items() if v in ALIAS_COUNTS}
    renamed = {k: v for k, v in contract.aliases.items() if v not in ALIAS_COUNTS}
    parts = []
    for number, group in enumerate(groups, start=1):
        # the contest's id, name, district, seats: the same for every row of the group
        contest = pl.DataFrame({GROUP_LABEL: [group.contest]}).select(
            contest_columns(as_long, election)
        )
        own = ContestGroup(
            group.contest,
            {f: tuple(cells[c] for c in cols) for f, cols in group.counts.items()},
            {k: tuple(cells[c] for c in cols) for k, cols in group.candidates.items()},
        )
        rows = units.filter(on_ballot(own)).with_columns(
            group_row(number),
            *[pl.lit(v, pl.String).alias(k) for k, v in contest.row(0, named=True).items()],
        )
        lines = [
            (renamed.get(label, label), counts.get(label), cols)
            for label, cols in own.candidates.items()
        ] + [(field, field, cols) for field, cols in own.counts.items()]
        for label, count, cols in lines:
            # a count's empty cell is missing; a candidate's is no row (as in a long feed)
            given = rows if count else rows.filter(_given(cols))
            parts.append(
                given.select(
                    *unit_names,
                    *contest.columns,
                    pl.lit(label[:200], pl.String).alias("candidate"),
                    pl.lit(count, pl.String).alias("count_field"),
                    _sum_text(cols).fill_null("").alias("votes"),
                )
            )
    return pl.concat(parts).sort("source_row", maintain_order=True)


def _given(columns: tuple[str, ...]) -> pl.Expr:
    """Some cell of a line is not empty. A candidate's empty cell is no row, as in a long feed:
    missing (rule E8) where the candidate runs (another unit of the district gives them votes,
    or the contest declares them), otherwise not on this district's ballot."""
    return pl.any_horizontal([pl.col(c).fill_null("").str.strip_chars() != "" for c in columns])


def _name_expr(column: str, strip: str) -> pl.Expr:
    """A unit's name as delivered, less a leading pattern such as "EDO. " when asked."""
    name = pl.col(column).str.strip_chars()
    return (name.str.replace(strip, "") if strip else name).str.strip_chars()


class UnknownCandidate(ValueError):
    """A long-layout row names a candidate the contract does not know."""


def _pivot_long(frame: pl.DataFrame, contract: Contract, election: Election) -> pl.DataFrame:
    """Long rows (one per candidate) → one row per tally with a column per candidate.

    Rows belong to one tally when the columns the contract reads (other than candidate and
    votes) agree. A candidate with no row is left empty (missing, rule E8); two rows for one
    candidate that disagree are kept as `a|b`, which no count reads (unparsable, rule E8).
    """
    label = pl.col(contract.long_candidate).str.strip_chars()
    known = {**{c: c for c in election.candidate_ids}, **contract.aliases}
    targets = [*election.candidate_ids, *contract.alias_counts]
    frame = frame.with_columns(label.replace_strict(known, default=None).alias("_candidate"))
    unknown = frame.filter(pl.col("_candidate").is_null())
    if unknown.height:
        row = unknown.row(0, named=True)
        raise UnknownCandidate(
            f"row {row['source_row']}: candidate {show(row[contract.long_candidate])} is neither "
            "a candidate id nor one of the contract's aliases"
        )
    keys = contract.line_keys()
    votes = _long_votes(contract)
    zero = [*election.candidate_ids, *ZERO_COUNTS] if contract.absent_zero else []
    return frame.group_by(keys, maintain_order=True).agg(
        pl.col("source_row").min(),
        *[
            _line_votes(votes.filter(pl.col("_candidate") == c), c in zero).alias(c)
            for c in targets
        ],
    )


def _line_votes(given: pl.Expr, absent_is_zero: bool) -> pl.Expr:
    """A tally's votes for one line from its rows: the one value they give, `a|b` when they
    disagree; with no row, empty (missing), or "0" under `absent_lines = "zero"`."""
    joined = given.unique(maintain_order=True).str.join("|")
    return (
        pl.when(given.len() == 0).then(pl.lit("0")).otherwise(joined) if absent_is_zero else joined
    )
