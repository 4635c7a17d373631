"""Feed contracts: one small declarative file describes how a feed's rows become canonical
tallies. Parsing is strict (an invalid contract is refused naming the key); applying one is pure
polars: frames of text in, canonical frames of text out.

See docs/contracts.md for the reference and a worked example.
"""

import re
from dataclasses import dataclass, field

import polars as pl

from transforms.feed import COUNT_FIELDS
from transforms.model import SOURCE_KINDS, Election, identifier

FORMATS = ("delimited", "jsonl")
ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "latin-1": "latin-1"}


class ContractError(ValueError):
    """A contract that is itself invalid; the message names the key and what is wrong."""


@dataclass(frozen=True)
class CodePart:
    column: str | None = None  # a column of the feed
    level: str | None = None  # or the code already built for another level
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
class Contract:
    id: str
    source_id: str
    source_kind: str
    source_name: str
    pattern: str
    format: str = "delimited"
    separator: str = ","
    encoding: str = "utf-8"
    skip_lines: int = 0
    columns: tuple[str, ...] = ()  # the full expected header, when declared
    codes: dict[str, CodeSpec] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # level → (column, strip)
    counts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field → summed columns
    candidates: dict[str, tuple[str, ...]] = field(default_factory=dict)  # wide: id → columns
    long_candidate: str | None = None  # long layout: the candidate column...
    long_votes: str | None = None  # ...and the votes column
    aliases: dict[str, str] = field(default_factory=dict)  # long layout: label → candidate id
    exclude: tuple[Exclusion, ...] = ()
    release: int = 0
    snapshot: bool = False

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
        found += [c for c in (self.long_candidate, self.long_votes) if c]
        found += [e.column for e in self.exclude]
        return list(dict.fromkeys(found))


def _need(data: dict, key: str, where: str, kind=str):
    if key not in data:
        raise ContractError(f"{where}: missing key '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        raise ContractError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _only(data, allowed: set[str], where: str) -> None:
    if not isinstance(data, dict):
        raise ContractError(f"{where}: expected a table, got {data!r}")
    unknown = set(data) - allowed
    if unknown:
        raise ContractError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")


def _columns(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict) and isinstance(value.get("sum"), list) and value["sum"]:
        return tuple(str(c) for c in value["sum"])
    raise ContractError(f"{where}: expected a column name or {{ sum = [columns] }}, got {value!r}")


def _part(data, where: str) -> CodePart:
    if isinstance(data, str):
        return CodePart(column=data)
    if not isinstance(data, dict):
        raise ContractError(f"{where}: expected a column name or a table, got {data!r}")
    unknown = set(data) - {"column", "level", "split", "take", "slice", "pad"}
    if unknown:
        raise ContractError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if ("column" in data) == ("level" in data):
        raise ContractError(f"{where}: give exactly one of 'column' or 'level'")
    take = data.get("take", [])
    if "split" in data and not take:
        raise ContractError(f"{where}: 'split' needs 'take' (the parts to keep)")
    span = data.get("slice")
    if span is not None and (not isinstance(span, list) or len(span) != 2):
        raise ContractError(f"{where}.slice: expected [start, end], got {span!r}")
    pad = data.get("pad", 0)
    if not isinstance(pad, int) or pad < 0:
        raise ContractError(f"{where}.pad: expected a width of zero or more, got {pad!r}")
    return CodePart(
        column=data.get("column"),
        level=data.get("level"),
        split=data.get("split"),
        take=tuple(take),
        slice=tuple(span) if span else None,
        pad=pad,
    )


def _code_spec(data, where: str) -> CodeSpec:
    if isinstance(data, dict) and "parts" in data:
        parts = data["parts"]
        if not isinstance(parts, list) or not parts:
            raise ContractError(f"{where}.parts: expected a non-empty list")
        return CodeSpec(
            tuple(_part(p, f"{where}.parts[{i}]") for i, p in enumerate(parts)),
            str(data.get("separator", "")),
        )
    return CodeSpec((_part(data, where),))


def parse_contract(data: dict, election: Election, name: str = "contract") -> Contract:
    """Validate a contract read from TOML against the election it feeds."""
    unknown = set(data) - {
        "id",
        "source",
        "file",
        "codes",
        "names",
        "counts",
        "candidates",
        "exclude",
        "release",
        "levels",
    }
    if unknown:
        raise ContractError(f"{name}: unknown key(s) {', '.join(sorted(unknown))}")
    cid = identifier(_need(data, "id", name), f"{name}.id")
    source = _need(data, "source", name, dict)
    _only(source, {"id", "kind", "name"}, f"{name}.source")
    _only(data.get("release", {}), {"number", "snapshot"}, f"{name}.release")
    _only(
        _need(data, "file", name, dict),
        {"pattern", "format", "separator", "encoding", "skip_lines", "columns"},
        f"{name}.file",
    )
    _only(
        _need(data, "candidates", name, dict),
        {"layout", "columns", "candidate_column", "votes_column", "aliases"},
        f"{name}.candidates",
    )
    for i, rule in enumerate(data.get("exclude", [])):
        _only(rule, {"column", "equals", "matches"}, f"{name}.exclude[{i}]")
    kind = _need(source, "kind", f"{name}.source")
    if kind not in SOURCE_KINDS:
        raise ContractError(f"{name}.source.kind: {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    file = _need(data, "file", name, dict)
    fmt = file.get("format", "delimited")
    if fmt not in FORMATS:
        raise ContractError(f"{name}.file.format: {fmt!r} is not one of {', '.join(FORMATS)}")
    encoding = file.get("encoding", "utf-8")
    if encoding not in ENCODINGS:
        raise ContractError(
            f"{name}.file.encoding: {encoding!r} is not one of {', '.join(ENCODINGS)}"
        )
    carried = data.get("levels", list(election.levels))
    if not isinstance(carried, list) or not set(carried) <= set(election.levels):
        raise ContractError(
            f"{name}.levels: expected a list of the election's levels "
            f"({', '.join(election.levels)}), got {carried!r}"
        )
    if election.tally_level not in carried:
        raise ContractError(
            f"{name}.levels: must include the tally's level {election.tally_level!r}"
        )
    codes_data = _need(data, "codes", name, dict)
    missing_levels = [lv for lv in carried if lv not in codes_data]
    if missing_levels:
        raise ContractError(f"{name}.codes: no code for level(s) {', '.join(missing_levels)}")
    extra_levels = set(codes_data) - set(carried)
    if extra_levels:
        raise ContractError(
            f"{name}.codes: level(s) {', '.join(sorted(extra_levels))} not in "
            "the levels the feed carries"
        )
    codes = {lv: _code_spec(codes_data[lv], f"{name}.codes.{lv}") for lv in carried}
    for lv, spec in codes.items():
        for part in spec.parts:
            if part.level and part.level not in codes:
                raise ContractError(f"{name}.codes.{lv}: refers to unknown level {part.level!r}")
    names = {}
    for lv, value in data.get("names", {}).items():
        if lv not in election.levels:
            raise ContractError(f"{name}.names: unknown level {lv!r}")
        if isinstance(value, str):
            column, strip = value, ""
        else:
            _only(value, {"column", "strip"}, f"{name}.names.{lv}")
            column = _need(value, "column", f"{name}.names.{lv}")
            strip = str(value.get("strip", ""))
            try:
                re.compile(strip)
            except re.error as error:
                raise ContractError(
                    f"{name}.names.{lv}.strip: not a valid pattern ({error})"
                ) from None
        names[lv] = (column, strip)
    counts_data = data.get("counts", {})
    bad = set(counts_data) - set(COUNT_FIELDS)
    if bad:
        raise ContractError(
            f"{name}.counts: unknown field(s) {', '.join(sorted(bad))}; "
            f"known: {', '.join(COUNT_FIELDS)}"
        )
    counts = {f: _columns(v, f"{name}.counts.{f}") for f, v in counts_data.items()}
    if "valid_votes" not in counts:
        raise ContractError(
            f"{name}.counts: 'valid_votes' is required "
            "(a column, or { sum = [candidate columns] })"
        )
    cand = _need(data, "candidates", name, dict)
    layout = cand.get("layout", "wide")
    wide, long_candidate, long_votes, aliases = {}, None, None, {}
    if layout == "wide":
        mapping = _need(cand, "columns", f"{name}.candidates", dict)
        wide = {c: _columns(v, f"{name}.candidates.columns.{c}") for c, v in mapping.items()}
        unknown_c = set(wide) - set(election.candidate_ids)
        if unknown_c:
            raise ContractError(
                f"{name}.candidates.columns: unknown candidate(s) {', '.join(sorted(unknown_c))}"
            )
        absent = [c for c in election.candidate_ids if c not in wide]
        if absent:
            raise ContractError(
                f"{name}.candidates.columns: no column for candidate(s) {', '.join(absent)}"
            )
    elif layout == "long":
        long_candidate = _need(cand, "candidate_column", f"{name}.candidates")
        long_votes = _need(cand, "votes_column", f"{name}.candidates")
        aliases = {str(k): str(v) for k, v in cand.get("aliases", {}).items()}
        unknown_c = set(aliases.values()) - set(election.candidate_ids)
        if unknown_c:
            raise ContractError(
                f"{name}.candidates.aliases: unknown candidate(s) {', '.join(sorted(unknown_c))}"
            )
    else:
        raise ContractError(f"{name}.candidates.layout: {layout!r} is not 'wide' or 'long'")
    exclusions = []
    for i, rule in enumerate(data.get("exclude", [])):
        where = f"{name}.exclude[{i}]"
        column = _need(rule, "column", where)
        if ("equals" in rule) == ("matches" in rule):
            raise ContractError(f"{where}: give exactly one of 'equals' or 'matches'")
        if "matches" in rule:
            try:
                re.compile(rule["matches"])
            except re.error as error:
                raise ContractError(f"{where}.matches: not a valid pattern ({error})") from None
        exclusions.append(Exclusion(column, rule.get("equals"), rule.get("matches")))
    release = data.get("release", {})
    return Contract(
        id=cid,
        source_id=identifier(_need(source, "id", f"{name}.source"), f"{name}.source.id"),
        source_kind=kind,
        source_name=str(source.get("name", "")),
        pattern=_need(file, "pattern", f"{name}.file"),
        format=fmt,
        separator=str(file.get("separator", ",")),
        encoding=encoding,
        skip_lines=int(file.get("skip_lines", 0)),
        columns=tuple(file.get("columns", ())),
        codes=codes,
        names=names,
        counts=counts,
        candidates=wide,
        long_candidate=long_candidate,
        long_votes=long_votes,
        aliases=aliases,
        exclude=tuple(exclusions),
        release=int(release.get("number", 0)),
        snapshot=bool(release.get("snapshot", False)),
    )


def header_problems(header: list[str], contract: Contract) -> str | None:
    """Schema drift: what the file's header lacks or adds against the contract, or None."""
    present = set(header)
    missing = [c for c in contract.referenced_columns() if c not in present]
    if contract.columns:
        missing += [c for c in contract.columns if c not in present and c not in missing]
        extra = [c for c in header if c not in set(contract.columns) and c != "source_row"]
    else:
        extra = []
    if not missing and not extra:
        return None
    said = []
    if missing:
        said.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        said.append(f"unexpected column(s) {', '.join(extra)}")
    return "columns no longer match the contract: " + "; ".join(said)


def _part_expr(part: CodePart, built: dict[str, pl.Expr]) -> pl.Expr:
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


@dataclass(frozen=True)
class Applied:
    tallies: pl.DataFrame  # canonical text columns, source_row
    excluded: int  # rows left out by the contract's exclusions


def apply_contract(frame: pl.DataFrame, contract: Contract, election: Election) -> Applied:
    """Feed rows (every column text, plus source_row) → canonical tally rows, as text.

    Fields the contract does not map stay null (absent); mapped cells keep their text, empty
    included, for staging and the quality gate to judge.
    """
    keep = pl.lit(True)
    for rule in contract.exclude:
        value = pl.col(rule.column).fill_null("").str.strip_chars()
        hit = value == rule.equals if rule.equals is not None else value.str.contains(rule.matches)
        keep = keep & ~hit
    kept = frame.filter(keep)
    excluded = frame.height - kept.height
    if contract.long_candidate:
        kept = _pivot_long(kept, contract, election)
    codes = _code_exprs(contract, election)
    selected = [
        pl.col("source_row"),
        *[
            (codes[lv] if lv in codes else pl.lit(None, pl.String)).alias(election.code_column(lv))
            for lv in election.levels
        ],
        *[
            _name_expr(column, strip).alias(f"{lv}_name")
            for lv, (column, strip) in contract.names.items()
        ],
        *[
            (
                _sum_text(contract.counts[f]) if f in contract.counts else pl.lit(None, pl.String)
            ).alias(f)
            for f in COUNT_FIELDS
        ],
    ]
    if contract.long_candidate:
        selected += [pl.col(c) for c in election.candidate_ids]
    else:
        selected += [_sum_text(contract.candidates[c]).alias(c) for c in election.candidate_ids]
    # A mapped field with no value (a JSON null, a missing key) is missing, not absent.
    mapped = [
        *[election.code_column(lv) for lv in contract.carried_levels],
        *[f for f in COUNT_FIELDS if f in contract.counts],
        *election.candidate_ids,
    ]
    names = [
        pl.lit(None, pl.String).alias(f"{lv}_name")
        for lv in election.levels
        if lv not in contract.names
    ]
    tallies = kept.select(selected).with_columns(pl.col(mapped).fill_null(""), *names)
    return Applied(tallies, excluded)


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
    frame = frame.with_columns(label.replace_strict(known, default=None).alias("_candidate"))
    unknown = frame.filter(pl.col("_candidate").is_null())
    if unknown.height:
        row = unknown.row(0, named=True)
        raise UnknownCandidate(
            f"row {row['source_row']}: candidate {row[contract.long_candidate]!r} is neither a "
            "candidate id nor one of the contract's aliases"
        )
    keys = [
        c
        for c in contract.referenced_columns()
        if c not in (contract.long_candidate, contract.long_votes)
    ]
    votes = pl.col(contract.long_votes).fill_null("").str.strip_chars()
    return frame.group_by(keys, maintain_order=True).agg(
        pl.col("source_row").min(),
        *[
            votes.filter(pl.col("_candidate") == c)
            .unique(maintain_order=True)
            .str.join("|")
            .alias(c)
            for c in election.candidate_ids
        ],
    )
