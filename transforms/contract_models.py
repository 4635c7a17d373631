"""What a feed contract, an election.toml and an announced.toml may hold: pydantic models.

Pure: the models validate dictionaries read from TOML elsewhere (no I/O here). They check shapes,
types, ranges and the rules within one file; the rules that need the election (its levels and
candidates) are checked where a contract is parsed (transforms/contract.py). Every refusal is one
line naming the file, the key path, what was expected and what came (`refusal`).

`json_schemas()` gives the JSON Schema of a contract and of election.toml, for editors.
"""

from __future__ import annotations

import json
import re
import reprlib
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import polars as pl
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError

from transforms.model import (
    CANDIDATE_ID,
    CONTEST_ID,
    IDENTIFIER,
    NATIONAL,
    SOURCE_KINDS,
    Candidate,
    Contest,
    Election,
    ModelError,
    QualityPolicy,
    RuleOverride,
)

FORMATS = ("delimited", "jsonl")
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "windows-1250", "windows-1252")
# Characters that group a number's digits by three (file.thousands): Europe's and Latin America's
# 1.234.567, the English-speaking 1,234,567, and the (no-break, thin) spaces and apostrophe of
# French, Swiss and ISO typography
THOUSANDS = (".", ",", " ", "\u00a0", "\u202f", "'")
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (line breaks, escapes, NUL)
REASON = r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$"  # printable, not blank
RULE_ID = r"^[A-Z][0-9]{1,2}$"
SHOWN = 80  # the most characters of a received value a message repeats

# A message is one line: pydantic's own text only where nothing better is known.
_TAGS = {"<column>", "<sum>", "<part>", "<parts>", "<table>"}  # union branches, not keys
_HINTS = {
    IDENTIFIER.pattern: "an identifier (lower-case letter, then letters, digits or underscores, "
    "at most 63 characters)",
    PRINTABLE: "text without control characters",
    REASON: "a reason for people (not blank, no control characters)",
    RULE_ID: "a rule id such as E4",
    CANDIDATE_ID.pattern: "a candidate id (a letter, then letters, digits or underscores, at most "
    "63 characters: it names a column)",
}


M = TypeVar("M", bound=BaseModel)


class ContractError(ValueError):
    """A contract or election configuration that is itself invalid; the message names the file,
    the key and what is wrong."""


# --- reporting ------------------------------------------------------------------------------

_repr = reprlib.Repr()  # short: a contract is hostile input and its values may be huge
_repr.maxlevel, _repr.maxdict, _repr.maxlist = 2, 4, 6
_repr.maxstring = _repr.maxother = SHOWN


def show(value: Any) -> str:
    """A received value as a message may repeat it: TOML-like, control characters escaped, at
    most SHOWN characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = _repr.repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def listed(values: Any, shown: int = 5) -> str:
    """A few values of a list a message names (each as `show` gives it), then `…`."""
    values = list(values)
    more = ", …" if len(values) > shown else ""
    return ", ".join(show(v) if not isinstance(v, str) else _key(v) for v in values[:shown]) + more


def _key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
        return key
    quoted = json.dumps(key, ensure_ascii=False)
    return quoted if len(quoted) <= 40 else quoted[:38] + '…"'


def where(name: str, path: str) -> str:
    """`observers.file.columns[2]` for a contract named observers; `ve2024/election.toml:
    levels[2]` for a file."""
    path = path.lstrip(".")
    if not path:
        return name
    if name.endswith(".toml"):
        return f"{name}: {path}"
    return f"{name}{path}" if path.startswith("[") else f"{name}.{path}"


def key_path(loc: tuple) -> str:
    """`file.columns[2]` from pydantic's location of an error."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in _TAGS:
            path += f".{_key(str(part))}"
    return path.lstrip(".")


def _expected(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    simple = {
        "string_type": "a string",
        "int_type": "a whole number",
        "float_type": "a number",
        "bool_type": "true or false",
        "list_type": "a list",
        "dict_type": "a table",
        "model_type": "a table",
        "model_attributes_type": "a table",
    }
    if kind in simple:
        return simple[kind]
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "a non-empty string" if n == 1 else f"a string of at least {n} characters"
    if kind == "string_too_long":
        n = ctx.get("max_length")
        return f"a string of at most {n} character{'' if n == 1 else 's'}"
    if kind in ("too_short", "too_long"):
        what = "table" if str(ctx.get("field_type", "")).lower().startswith("dict") else "list"
        if kind == "too_short":
            return f"a {what} of at least {ctx.get('min_length')} item(s)"
        return f"a {what} of at most {ctx.get('max_length')} item(s)"
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        sign, key = bounds[kind]
        return f"a number {sign} {ctx.get(key)}"
    if kind == "string_pattern_mismatch":
        return _HINTS.get(str(ctx.get("pattern")), f"text matching {ctx.get('pattern')}")
    if kind.startswith("expected_"):  # our own: the message is what was expected
        return error["msg"]
    return error["msg"][:1].lower() + error["msg"][1:]


def error_line(error: dict, name: str) -> str:
    """One pydantic error as one line: where, what was expected, what came."""
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "missing":
        return f"{where(name, key_path(loc[:-1]))}: missing key '{loc[-1]}'"
    if kind == "extra_forbidden":
        return f"{where(name, key_path(loc[:-1]))}: unknown key(s) {_key(str(loc[-1]))}"
    path = key_path(loc)
    at = str(error.get("ctx", {}).get("at", ""))
    if at:
        path += at if at.startswith("[") else f".{at}"
    here = where(name, path)
    if kind.startswith("rule_"):  # a rule across keys: the message says it all
        return f"{here}: {error['msg']}"
    if kind == "literal_error":
        return f"{here}: {show(error['input'])} is not one of {error['ctx']['expected']}"
    return f"{here}: expected {_expected(error)}, got {show(error['input'])}"


def refusal(error: ValidationError, name: str) -> str:
    """The first problem pydantic found, in one line (and how many more there are)."""
    errors = error.errors(include_url=False)
    line = error_line(errors[0], name)
    more = len(errors) - 1
    return f"{line} (and {more} more problem{'s' if more > 1 else ''})" if more else line


def validated(model: type[M], data: Any, name: str) -> M:
    """data checked against the model, or ContractError with a one-line message."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ContractError(refusal(error, name)) from None


def _rule(message: str, at: str = "", **context: Any) -> PydanticCustomError:
    """A rule across keys broken; `at` continues the key path below the table that checks it."""
    return PydanticCustomError("rule_broken", message, {"at": at, **context})


# --- building blocks ------------------------------------------------------------------------


class _Table(BaseModel):
    """A TOML table: only the keys described, each of its one natural type."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    _noun: ClassVar[str] = "key"

    @model_validator(mode="before")
    @classmethod
    def _only_known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            unknown = [str(k) for k in data if k not in cls.model_fields]
            if unknown:
                raise _rule(
                    "unknown {noun}(s) {unknown}; allowed: {allowed}",
                    noun=cls._noun,
                    unknown=listed(unknown),
                    allowed=", ".join(allowed),
                )
        return data


def _polars_pattern(pattern: str) -> str:
    """The pattern as the engine that runs it (polars, Rust `regex`) reads it: Python's `re`
    accepts look-around that it refuses."""
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.PolarsError as error:
        lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
        reason = next((ln[6:].strip() for ln in lines if ln.startswith("error:")), lines[0])
        raise PydanticCustomError(
            "expected_pattern",
            "a regular expression polars can run ({reason})",
            {"reason": reason[:100]},
        ) from None
    return pattern


Identifier = Annotated[
    str,
    Field(pattern=IDENTIFIER.pattern, description="lower-case letter, then letters, digits, _"),
]
Column = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=PRINTABLE, description="a column of the feed"),
]
Label = Annotated[str, Field(max_length=200, pattern=PRINTABLE)]
Pattern = Annotated[
    str,
    Field(max_length=500, description="a regular expression (polars / Rust `regex` syntax)"),
    AfterValidator(_polars_pattern),
]
Count = Annotated[int, Field(ge=0, le=10**10)]


def _branch(value: Any, table: str) -> str | None:
    if isinstance(value, str):
        return "<column>"
    return table if isinstance(value, dict) else None


class ColumnSum(_Table):
    """Several columns added up."""

    sum: list[Column] = Field(
        min_length=1, max_length=1000, description="the columns whose values are added up"
    )


ColumnOrSum = Annotated[
    Annotated[Column, Tag("<column>")] | Annotated[ColumnSum, Tag("<sum>")],
    Discriminator(
        lambda v: _branch(v, "<sum>"),
        custom_error_type="expected_column_or_sum",
        custom_error_message="a column name or { sum = [columns] }",
    ),
]


# --- contract -------------------------------------------------------------------------------


class SourceSpec(_Table):
    """Who supplied the feed. Several contracts may share a source (releases of one feed)."""

    id: Identifier = Field(description="the source's identifier")
    kind: Literal[SOURCE_KINDS] = Field(description="what kind of supplier it is")  # type: ignore[valid-type]
    name: str = Field(
        "", max_length=200, pattern=PRINTABLE, description="the source's name, for people"
    )
    level: Identifier | None = Field(
        None,
        description="the level its tallies count at: one of the election's levels or 'national' "
        "(a ward's or a city-wide canvass); absent: the polling units (the lowest level). A "
        "higher-level source is reconciled with the polling units' rollup, never counted",
    )


class ReleaseSpec(_Table):
    """Within a source a higher release supersedes a lower one."""

    number: int = Field(0, ge=0, le=10**6, description="the release's number")
    snapshot: bool = Field(
        False,
        description="each release is complete: a unit the latest release leaves out is withdrawn",
    )


class RepeatSpec(_Table):
    """Column groups repeated side by side in one row (France's `Nom candidat 1`, `Voix 1`,
    `Nom candidat 2`, …), each read as a row of its own."""

    pattern: Pattern = Field(
        description="a header column's name: (?P<column>…) the group's common name for it, "
        "(?P<key>…) the group it belongs to, e.g. '^(?P<column>.+) (?P<key>[0-9]+)$'"
    )
    columns: list[Column] = Field(
        min_length=1,
        max_length=100,
        description="the common names every group gives: the columns the contract reads",
    )
    key: Column | None = Field(
        None, description="optional: a column holding each row's group key (e.g. for a code)"
    )

    @model_validator(mode="after")
    def _named_groups(self) -> RepeatSpec:
        named = pl.select(pl.lit("").str.extract_groups(self.pattern)).to_series().struct.fields
        if "column" not in named or "key" not in named:
            raise _rule(
                "expected a pattern with the named groups (?P<column>…) and (?P<key>…), "
                "got {value}",
                at="pattern",
                value=show(self.pattern),
            )
        if len(set(self.columns)) != len(self.columns) or self.key in self.columns:
            raise _rule("a column is named twice", at="columns")
        return self


class FileSpec(_Table):
    """Which files the contract reads and how."""

    pattern: str = Field(
        min_length=1,
        max_length=200,
        pattern=PRINTABLE,
        description="glob of the file names this contract reads",
    )
    format: Literal[FORMATS] = Field("delimited", description="delimited text or JSON lines")  # type: ignore[valid-type]
    separator: str = Field(
        ",",
        min_length=1,
        max_length=1,
        description="the delimiter: one ASCII character other than a quote or a line break",
    )
    encoding: Literal[ENCODINGS] = Field("utf-8", description="the text encoding")  # type: ignore[valid-type]
    compression: Literal["none", "gzip"] = Field(
        "none",
        description="gzip: the files are gzip-compressed (any other compressed file is rejected)",
    )
    skip_lines: int = Field(0, ge=0, le=1000, description="lines before the header to skip")
    header_rows: int = Field(
        1,
        ge=1,
        le=2,
        description="2: a two-row header (a contest's name above its candidates' columns): each "
        "column is named 'upper|lower', an empty upper cell continuing the one on its left",
    )
    columns: list[Column] | None = Field(
        None,
        min_length=1,
        max_length=10_000,
        description="the complete header: any other header is schema drift, rejected whole",
    )
    thousands: Literal[THOUSANDS] | None = Field(  # type: ignore[valid-type]
        None,
        description="the character grouping a number's digits by three (1.234.567, 1,234 or "
        "1 234): removed from the counts and votes where it groups digits",
    )
    fill_down: list[Column] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="columns whose empty cells repeat the last value above them (a spreadsheet's "
        "cell merged down several rows, exported once)",
    )
    repeat: RepeatSpec | None = Field(
        None,
        description="column groups repeated in one row (a candidate per numbered group), each "
        "read as a row of its own; long layout, delimited files",
    )

    @model_validator(mode="after")
    def _one_byte_separator(self) -> FileSpec:
        if not self.separator.isascii() or self.separator in '"\r\n':
            raise _rule(
                "expected one ASCII character other than a quote or a line break, got {value}",
                at="separator",
                value=show(self.separator),
            )
        if self.thousands == self.separator:
            raise _rule(
                "the digit-grouping character cannot be the separator {value}",
                at="thousands",
                value=show(self.separator),
            )
        return self

    @model_validator(mode="after")
    def _pattern_in_landing(self) -> FileSpec:
        what = "a file-name pattern in the landing folder (no folders)"
        _landing_file_name(self.pattern, "pattern", what)
        return self

    @model_validator(mode="after")
    def _header_rows_delimited(self) -> FileSpec:
        if self.header_rows == 2 and self.format != "delimited":
            raise _rule("a two-row header is read in delimited files only", at="header_rows")
        if self.repeat and self.format != "delimited":
            raise _rule("repeated column groups are read in delimited files only", at="repeat")
        return self

    @model_validator(mode="after")
    def _distinct_columns(self) -> FileSpec:
        for at, columns in (("columns", self.columns), ("fill_down", self.fill_down)):
            seen: set[str] = set()
            for column in columns or ():
                if column in seen:
                    raise _rule("{column} is listed twice", at=at, column=show(column))
                seen.add(column)
        return self


class CodePartSpec(_Table):
    """One part of a unit code: a column, another level's code or a fixed text, then
    split/slice/pad."""

    column: Column | None = Field(None, description="a column of the feed, or")
    level: Identifier | None = Field(
        None, description="the code already built for another level, or"
    )
    value: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=PRINTABLE,
        description="a fixed text: a unit only the file's name or title says (a contract per file)",
    )
    split: str | None = Field(
        None, min_length=1, max_length=10, description="split the value on this separator…"
    )
    take: list[Annotated[int, Field(ge=-100, le=100)]] | None = Field(
        None, min_length=1, max_length=50, description="…and keep these parts (0 is the first)"
    )
    slice: list[Annotated[int, Field(ge=0, le=10_000)]] | None = Field(
        None, min_length=2, max_length=2, description="keep characters [start, end)"
    )
    pad: int = Field(0, ge=0, le=64, description="left-pad with zeros to this width")

    @model_validator(mode="after")
    def _consistent(self) -> CodePartSpec:
        if [self.column, self.level, self.value].count(None) != 2:
            raise _rule("give exactly one of 'column', 'level' or 'value'")
        if self.split is not None and not self.take:
            raise _rule("'split' needs 'take' (the parts to keep)")
        if self.take and self.split is None:
            raise _rule("'take' needs 'split' (the separator to split on)")
        if self.slice is not None and self.slice[0] >= self.slice[1]:
            raise _rule(
                "expected [start, end] with start < end, got {value}",
                at="slice",
                value=show(self.slice),
            )
        return self


PartRef = Annotated[
    Annotated[Column, Tag("<column>")] | Annotated[CodePartSpec, Tag("<part>")],
    Discriminator(
        lambda v: _branch(v, "<part>"),
        custom_error_type="expected_part",
        custom_error_message=(
            "a column name or a table { column | level | value, split, take, slice, pad }"
        ),
    ),
]


class CodePartsSpec(_Table):
    """A code joined from several parts."""

    parts: list[PartRef] = Field(min_length=1, max_length=20, description="the parts, in order")
    separator: str = Field("", max_length=10, description="put between the parts")


CodeRef = Annotated[
    Annotated[Column, Tag("<column>")]
    | Annotated[CodePartsSpec, Tag("<parts>")]
    | Annotated[CodePartSpec, Tag("<part>")],
    Discriminator(
        lambda v: (
            "<column>"
            if isinstance(v, str)
            else ("<parts>" if "parts" in v else "<part>")
            if isinstance(v, dict)
            else None
        ),
        custom_error_type="expected_code",
        custom_error_message="a column name, a part table or { parts = [...], separator }",
    ),
]


class NameSpec(_Table):
    """A unit's name, less a leading pattern."""

    column: Column = Field(description="the column with the unit's name")
    strip: Pattern = Field("", description="a pattern removed from the start, e.g. '^EDO\\.\\s*'")


NameRef = Annotated[
    Annotated[Column, Tag("<column>")] | Annotated[NameSpec, Tag("<table>")],
    Discriminator(
        lambda v: _branch(v, "<table>"),
        custom_error_type="expected_name",
        custom_error_message="a column name or { column, strip }",
    ),
]


def _absent_values(value: Any) -> Any:
    """A whole number ≥ 0 or a string of at most 200 printable characters, or a list of 1 to 20
    of them (TOML's own types: true is not 1)."""
    values = value if isinstance(value, list) else [value]

    def fits(v: Any) -> bool:
        if isinstance(v, bool):
            return False
        if isinstance(v, int):
            return 0 <= v <= 10**10
        return isinstance(v, str) and len(v) <= 200 and re.fullmatch(PRINTABLE, v) is not None

    if not 1 <= len(values) <= 20 or not all(fits(v) for v in values):
        raise PydanticCustomError(
            "expected_absent_when",
            "a whole number, a string, or a list of 1 to 20 of them",
        )
    return value


class RegisteredSpec(_Table):
    """Registered voters from a column, or a sum of columns, with the values that mean "this
    unit has no list" (in the column, or the sum's first column: the list's)."""

    column: Column | None = Field(None, description="the column with registered voters, or")
    sum: list[Column] | None = Field(
        None,
        min_length=2,
        max_length=20,
        description="the columns added up, the list's first: `absent_when` tests it (Mexico's "
        "LISTA_NOMINAL, then the party representatives who vote where they serve)",
    )
    absent_when: Annotated[
        int | str | list[int | str],
        Field(
            description='a value (or a list of values, e.g. [0, ""]) meaning the unit has no '
            "list of registered voters (e.g. Mexico's casillas especiales): such tallies are "
            "accepted, never judged against registered voters, and shown apart in turnout",
        ),
    ] = Field()

    @model_validator(mode="before")
    @classmethod
    def _check_values(cls, data: Any) -> Any:
        if isinstance(data, dict) and "absent_when" in data:
            try:
                _absent_values(data["absent_when"])
            except PydanticCustomError as error:
                raise _rule(
                    "expected {what}, got {value}",
                    at="absent_when",
                    what=error.message(),
                    value=show(data["absent_when"]),
                ) from None
        return data

    @model_validator(mode="after")
    def _one_source(self) -> RegisteredSpec:
        if (self.column is None) == (self.sum is None):
            raise _rule("give exactly one of 'column' or 'sum'")
        return self

    @property
    def columns(self) -> list[str]:
        """The columns added up; `absent_when` tests the first."""
        return self.sum if self.sum is not None else [self.column]

    @property
    def absent_values(self) -> tuple[str, ...]:
        """The values as the stripped cell text is compared with them."""
        values = self.absent_when if isinstance(self.absent_when, list) else [self.absent_when]
        return tuple(dict.fromkeys(str(v).strip() for v in values))


RegisteredRef = Annotated[
    Annotated[Column, Tag("<column>")]
    | Annotated[ColumnSum, Tag("<sum>")]
    | Annotated[RegisteredSpec, Tag("<table>")],
    Discriminator(
        lambda v: (
            "<column>"
            if isinstance(v, str)
            else ("<sum>" if "sum" in v and "absent_when" not in v else "<table>")
            if isinstance(v, dict)
            else None
        ),
        custom_error_type="expected_registered",
        custom_error_message=(
            "a column name, { sum = [columns] } or { column | sum, absent_when }"
        ),
    ),
]

# Labels of a long feed may stand for these counts (candidates.aliases): "OVER VOTES" =
# "null_votes", "Total Votes" = "valid_votes", "Times Cast" = "total_votes" (Clarity's count rows);
# "Registered Voters" = "registered" gives the unit's registered voters, for all its contests
ALIAS_COUNTS = (
    "registered",
    "valid_votes",
    "total_votes",
    "null_votes",
    "blank_votes",
    "other_votes",
)


class CountsSpec(_Table):
    """The sheet's totals: a field not mapped is absent, never judged."""

    _noun: ClassVar[str] = "field"
    registered: RegisteredRef | None = Field(None, description="registered voters")
    valid_votes: ColumnOrSum | None = Field(
        None,
        description="valid votes (required, except in the long layout: left out, it is the sum "
        "of the unit's candidate rows and other votes)",
    )
    null_votes: ColumnOrSum | None = Field(None, description="null votes")
    blank_votes: ColumnOrSum | None = Field(None, description="blank votes")
    total_votes: ColumnOrSum | None = Field(None, description="ballots cast, as declared")
    other_votes: ColumnOrSum | None = Field(
        None, description="valid votes for no declared candidate (write-ins, 'others')"
    )


class CandidatesSpec(_Table):
    """Candidates' votes: wide (a column per candidate), long (a row per candidate) or grouped
    (a group of columns per contest, declared in [contests])."""

    layout: Literal["wide", "long", "grouped"] = Field(
        "wide",
        description="wide, long, or grouped (a general election's wide feed: a group of columns "
        "per contest, [[contests.group]] or [[contests.pattern]])",
    )
    columns: dict[str, ColumnOrSum] | None = Field(
        None, max_length=1000, description="wide: candidate id = column or { sum = [...] }"
    )
    candidate_column: Column | Annotated[list[Column], Field(min_length=2, max_length=5)] | None = (
        Field(
            None,
            description="long: the candidate's column, or the columns whose cells, joined with "
            "a space, label the line (a family name, a first name and a party: two Independents "
            "of one riding are two candidates)",
        )
    )
    votes_column: Column | None = Field(None, description="long: the votes' column")
    label_fallback: Column | None = Field(
        None,
        description="long: the column that labels a row whose candidate cell is empty "
        "(Argentina's votos_tipo: EN BLANCO, NULO on rows with no agrupación)",
    )
    aliases: dict[Label, str] | None = Field(
        None,
        max_length=1000,
        description="long and grouped: label in the feed = candidate id, or registered, "
        'valid_votes, total_votes, null_votes, blank_votes or other_votes (e.g. "OVER VOTES" = '
        '"null_votes"; a long feed\'s registered row holds for every contest of its unit)',
    )
    absent_lines: Literal["missing", "zero"] = Field(
        "missing",
        description="long: what a line (candidate, or an aliased null, blank or other count) "
        "with no row at a unit means: missing (rule E8), or zero votes, for feeds that list "
        "only the lines with votes (Brazil's boletins de urna)",
    )
    sum_over: list[Column] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="long: columns a line's votes are split over (a vote type: election day, "
        "mail, early), whose rows of one unit, contest and label are summed",
    )

    @property
    def label_columns(self) -> list[str]:
        """The columns a long feed's line label is read from (none in the other layouts)."""
        if isinstance(self.candidate_column, list):
            return self.candidate_column
        return [self.candidate_column] if self.candidate_column else []

    @model_validator(mode="after")
    def _layout_keys(self) -> CandidatesSpec:
        if self.layout == "wide":
            if self.columns is None:
                raise _rule("missing key 'columns' (layout = \"wide\")")
            for key in ("candidate_column", "votes_column", "aliases", "label_fallback"):
                if getattr(self, key) is not None:
                    raise _rule(f"'{key}' is read only with layout = \"long\"")
        elif self.layout == "grouped":
            for key in ("columns", "candidate_column", "votes_column", "label_fallback"):
                if getattr(self, key) is not None:
                    raise _rule(
                        f"'{key}' is not read with layout = \"grouped\": each contest's columns "
                        "are in [[contests.group]] or [[contests.pattern]]"
                    )
        else:
            for key in ("candidate_column", "votes_column"):
                if getattr(self, key) is None:
                    raise _rule(f"missing key '{key}' (layout = \"long\")")
            if self.columns is not None:
                raise _rule("'columns' is read only with layout = \"wide\"")
            if self.sum_over and {*self.label_columns, self.votes_column} & set(self.sum_over):
                raise _rule(
                    "'sum_over' names the columns a line's votes are split over, not the "
                    "candidate or the votes column"
                )
            if self.label_fallback in (
                *self.label_columns,
                self.votes_column,
                *(self.sum_over or ()),
            ):
                raise _rule(
                    "'label_fallback' labels the rows whose candidate cell is empty: a column "
                    "other than the candidate, the votes and the sum_over columns"
                )
        if self.layout != "long" and self.sum_over is not None:
            raise _rule("'sum_over' is read only with layout = \"long\"")
        if self.layout != "long" and self.absent_lines != "missing":
            raise _rule("'absent_lines' is read only with layout = \"long\"")
        return self


class ExclusionSpec(_Table):
    """Rows to leave out, e.g. embedded subtotals."""

    column: Column = Field(description="the column compared")
    equals: Label | None = Field(None, description="leave out rows whose value is this")
    matches: Pattern | None = Field(None, description="or rows whose value matches this pattern")

    @model_validator(mode="after")
    def _one_test(self) -> ExclusionSpec:
        if (self.equals is None) == (self.matches is None):
            raise _rule("give exactly one of 'equals' or 'matches'")
        return self


class InclusionSpec(ExclusionSpec):
    """Rows to keep: a row that fails any [[include]] is left out (and counted as excluded)."""

    column: Column = Field(description="the column compared")
    equals: Label | None = Field(None, description="keep only rows whose value is this")
    matches: Pattern | None = Field(None, description="or rows whose value matches this pattern")


class ContestRuleSpec(_Table):
    """Attributes of the discovered contests whose label matches (first matching rule wins)."""

    column: Column | None = Field(
        None,
        description="the feed column tested (one of [contests] columns); left out in a grouped "
        "feed, where the rule tests each column group's contest label",
    )
    matches: Pattern = Field(
        description="a pattern; its first group, if any, is the contest's district code"
    )
    level: Identifier | None = Field(
        None,
        description="the contest's district level: one of [districts] (the code is the group) or "
        "an administrative level (the code is the tally's own code at that level)",
    )
    seats: int | None = Field(None, ge=1, le=1000, description="winners per district")
    vote_for: int | None = Field(None, ge=1, le=1000, description="votes per ballot")


def _groups_in(pattern: str) -> int:
    """How many capture groups a (valid) polars pattern has."""
    return len(pl.select(pl.lit("").str.extract_groups(pattern)).to_series().struct.fields)


class GroupCountsSpec(_Table):
    """One contest's counts in its column group: a field not mapped here is the contract's
    [counts] one (e.g. the unit's registered voters), or absent."""

    _noun: ClassVar[str] = "field"
    registered: ColumnOrSum | None = Field(None, description="registered voters for this contest")
    valid_votes: ColumnOrSum | None = Field(
        None, description="valid votes (left out: the sum of the candidates' and other votes)"
    )
    null_votes: ColumnOrSum | None = Field(None, description="null (over) votes")
    blank_votes: ColumnOrSum | None = Field(None, description="blank (under) votes")
    total_votes: ColumnOrSum | None = Field(None, description="ballots cast in this contest")
    other_votes: ColumnOrSum | None = Field(
        None, description="valid votes for no listed candidate (write-ins, 'others')"
    )


ContestLabel = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]


class ContestGroupSpec(_Table):
    """One contest's group of columns in a wide feed of several contests."""

    contest: ContestLabel = Field(
        description="the contest: a declared [[contest]]'s id, name or alias, or (with "
        "discover_contests) the label of a contest to discover (its id: the label's slug)"
    )
    counts: GroupCountsSpec = Field(
        default_factory=GroupCountsSpec, description="the contest's own counts"
    )
    candidates: dict[Label, ColumnOrSum] = Field(
        min_length=1,
        max_length=1000,
        description="candidate label (a declared candidate's id, name or alias) = column or "
        "{ sum = [...] }",
    )


CountPattern = Annotated[
    Pattern | None,
    Field(description="a pattern whose first group is the contest's label"),
]


class GroupPatternSpec(_Table):
    """Column groups found in the header by pattern: one contest per distinct label."""

    candidates: Pattern = Field(
        description="a pattern with two groups: the contest's label, then the candidate's "
        "(e.g. '^([A-Z]+)_CAND_(.+)$')"
    )
    registered: CountPattern = Field(None, description="registered voters' columns (group 1)")
    valid_votes: CountPattern = Field(None, description="valid votes' columns (group 1)")
    null_votes: CountPattern = Field(None, description="null votes' columns (group 1)")
    blank_votes: CountPattern = Field(None, description="blank votes' columns (group 1)")
    total_votes: CountPattern = Field(None, description="ballots cast columns (group 1)")
    other_votes: CountPattern = Field(None, description="other votes' columns (group 1)")

    @model_validator(mode="after")
    def _groups(self) -> GroupPatternSpec:
        for key in type(self).model_fields:
            pattern = getattr(self, key)
            wanted = 2 if key == "candidates" else 1
            if pattern is not None and _groups_in(pattern) < wanted:
                raise _rule(
                    "expected a pattern with {wanted} group(s), got {value}",
                    at=key,
                    wanted=wanted,
                    value=show(pattern),
                )
        return self


class ContestsSpec(_Table):
    """Which contest a feed's rows count (a general election, docs/contracts.md)."""

    id: str | None = Field(
        None, pattern=CONTEST_ID.pattern, description="the whole feed counts this one contest"
    )
    columns: list[Column] | None = Field(
        None,
        min_length=1,
        max_length=5,
        description="long layout: one contest per distinct combination of these columns' values "
        "(its label: the non-empty values joined by a space; its id: the label's slug)",
    )
    group: list[ContestGroupSpec] = Field(
        default_factory=list,
        max_length=999,
        description="[[contests.group]], grouped layout: one contest's columns",
    )
    pattern: list[GroupPatternSpec] = Field(
        default_factory=list,
        max_length=100,
        description="[[contests.pattern]], grouped layout: contests' columns found by pattern",
    )
    rule: list[ContestRuleSpec] = Field(
        default_factory=list, max_length=1000, description="[[contests.rule]]"
    )

    @property
    def grouped(self) -> bool:
        return bool(self.group or self.pattern)

    @model_validator(mode="after")
    def _one_way(self) -> ContestsSpec:
        ways = [self.id is not None, self.columns is not None, self.grouped]
        if sum(ways) != 1:
            raise _rule(
                "give exactly one of 'id' (one contest), 'columns' (discovered from a long feed) "
                "or [[contests.group]] / [[contests.pattern]] (a grouped feed)"
            )
        for i, rule in enumerate(self.rule):
            if self.grouped:
                if rule.column is not None:
                    raise _rule(
                        "left out in a grouped feed: the rule tests each group's contest label",
                        at=f"rule[{i}].column",
                    )
            elif self.columns is None or rule.column not in self.columns:
                raise _rule(
                    "{column} is not one of [contests] columns",
                    at=f"rule[{i}].column",
                    column=show(rule.column),
                )
        seen: list[str] = []
        for i, group in enumerate(self.group):
            if group.contest in seen:
                raise _rule(
                    "{contest} has two groups",
                    at=f"group[{i}].contest",
                    contest=show(group.contest),
                )
            seen.append(group.contest)
        return self


class ContractFile(_Table):
    """A feed contract: how one feed layout's rows become canonical tallies
    (elections/<election>/contracts/*.toml; see docs/contracts.md)."""

    model_config = ConfigDict(title="tallyhouse feed contract")

    id: Identifier = Field(description="the contract's identifier")
    source: SourceSpec = Field(description="who supplied the feed")
    release: ReleaseSpec | None = Field(None, description="which release of the source this is")
    levels: list[Identifier] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="the levels the feed carries, the tally's own included (default: all)",
    )
    file: FileSpec = Field(description="which files, and how they are read")
    codes: dict[str, CodeRef] = Field(
        default_factory=dict,
        max_length=20,
        description="how each carried level's unit code is built (none for a national source)",
    )
    names: dict[str, NameRef] = Field(
        default_factory=dict, max_length=20, description="optional: a level's unit names"
    )
    counts: CountsSpec = Field(description="the sheet's totals")
    candidates: CandidatesSpec = Field(description="the candidates' votes")
    contests: ContestsSpec | None = Field(
        None, description="a general election: which contest the rows count"
    )
    exclude: list[ExclusionSpec] = Field(
        default_factory=list, max_length=100, description="rows to leave out"
    )
    include: list[InclusionSpec] = Field(
        default_factory=list,
        max_length=100,
        description="rows to keep: only rows matching every [[include]] (and no [[exclude]])",
    )

    @model_validator(mode="after")
    def _counts_fit_layout(self) -> ContractFile:
        cand = self.candidates
        if cand.layout == "grouped":
            return self._aliases_not_mapped()
        if cand.layout == "wide":
            if self.counts.valid_votes is None:
                raise _rule(
                    "missing key 'valid_votes' (only the long layout may leave it out, to "
                    "derive it from the unit's rows)",
                    at="counts",
                )
            return self
        reserved = {cand.votes_column: "votes column"}
        reserved |= {column: "candidate column" for column in cand.label_columns}
        for field in CountsSpec.model_fields:
            ref = getattr(self.counts, field)
            if ref is None:
                continue
            if isinstance(ref, str):
                columns = [ref]
            elif isinstance(ref, ColumnSum):
                columns = ref.sum
            else:
                columns = ref.columns
            for column in columns:
                if column in reserved:
                    raise _rule(
                        "{column} is the long layout's {what}: it holds one row's votes, not the "
                        "unit's {field}; leave {field} out to derive it from the unit's rows, or "
                        "map a label to it in candidates.aliases",
                        at=f"counts.{field}",
                        column=show(column),
                        what=reserved[column],
                        field=field,
                    )
        return self._aliases_not_mapped()

    def _aliases_not_mapped(self) -> ContractFile:
        for label, target in (self.candidates.aliases or {}).items():
            if target in ALIAS_COUNTS and getattr(self.counts, target) is not None:
                raise _rule(
                    "{target} is both mapped in [counts] and the alias of label {label}",
                    at="candidates.aliases",
                    target=target,
                    label=show(label),
                )
        return self

    @model_validator(mode="after")
    def _repeat_fits(self) -> ContractFile:
        """Repeated groups become a long feed's rows; `file.fill_down` and the row filters work
        on the file's rows, before they are split, so they can read neither a group's columns
        (under their common names, or the key) nor a header column the pattern matches."""
        repeat = self.file.repeat
        if repeat is None:
            return self
        if self.candidates.layout != "long":
            raise _rule('repeated column groups are read with layout = "long"', at="file.repeat")
        before = [("file.fill_down", n, c) for n, c in enumerate(self.file.fill_down or ())]
        for at, rules in (("exclude", self.exclude), ("include", self.include)):
            before += [(at, n, rule.column) for n, rule in enumerate(rules)]
        matched = pl.Series([c for _, _, c in before], dtype=pl.String).str.contains(repeat.pattern)
        for (at, number, column), in_group in zip(before, matched.to_list(), strict=True):
            if in_group or column in (*repeat.columns, repeat.key):
                where = f"{at}[{number}]" if at == "file.fill_down" else f"{at}[{number}].column"
                raise _rule(
                    "{column} is a repeated group's column: the file's rows are filtered and "
                    "filled down before their groups are split",
                    at=where,
                    column=show(column),
                )
        return self

    @model_validator(mode="after")
    def _contests_fit_layout(self) -> ContractFile:
        if self.contests and self.contests.columns and self.candidates.layout == "grouped":
            raise _rule(
                "a grouped feed's contests are its column groups, not a column's values",
                at="contests.columns",
            )
        grouped = self.candidates.layout == "grouped"
        if grouped and not (self.contests and self.contests.grouped):
            raise _rule(
                'layout = "grouped" reads each contest\'s columns from [[contests.group]] or '
                "[[contests.pattern]]: give at least one",
                at="contests",
            )
        if not grouped and self.contests and self.contests.grouped:
            raise _rule(
                '[[contests.group]] and [[contests.pattern]] are read with layout = "grouped"',
                at="candidates.layout",
            )
        return self

    @model_validator(mode="after")
    def _levels_distinct(self) -> ContractFile:
        if self.levels is not None and len(set(self.levels)) != len(self.levels):
            raise _rule(
                "a level is listed twice, got {value}", at="levels", value=show(self.levels)
            )
        return self

    @model_validator(mode="after")
    def _codes_refer_to_codes(self) -> ContractFile:
        refers = {level: _referred_levels(spec) for level, spec in self.codes.items()}
        for level, others in refers.items():
            for other in others:
                if other not in refers:
                    raise _rule(
                        "refers to unknown level {other}",
                        at=f"codes.{_key(level)}",
                        other=show(other),
                    )
        built: set[str] = set()
        pending = dict(refers)
        while pending:
            ready = [lv for lv, others in pending.items() if set(others) <= built]
            if not ready:
                raise _rule(
                    "levels {levels} refer to each other in a circle",
                    at="codes",
                    levels=", ".join(map(_key, pending)),
                )
            built.update(ready)
            for lv in ready:
                del pending[lv]
        return self


def _referred_levels(spec: str | CodePartSpec | CodePartsSpec) -> list[str]:
    parts = spec.parts if isinstance(spec, CodePartsSpec) else [spec]
    return [p.level for p in parts if isinstance(p, CodePartSpec) and p.level]


# --- election -------------------------------------------------------------------------------


class CandidateSpec(_Table):
    """One candidate."""

    id: str = Field(pattern=CANDIDATE_ID.pattern, description="stable code; contracts map onto it")
    name: str = Field(min_length=1, max_length=200, pattern=PRINTABLE, description="for people")


def _landing_file_name(
    value: str | None, at: str, what: str = "a file name in the landing folder"
) -> None:
    """A plain file name (or pattern: `what` says which) in the landing folder: no folders, not
    `.` or `..`."""
    if value is not None and (
        not value.strip() or re.search(r"[/\\]", value) or value in (".", "..")
    ):
        raise _rule(f"expected {what}, got {{value}}", at=at, value=show(value))


class OverrideSpec(_Table):
    """An error rule demoted to a warning: its tallies are accepted and counted, and the issue is
    recorded with severity warn and this reason."""

    rule: str = Field(pattern=RULE_ID, description="an error rule's id (E1–E8, docs/quality.md)")
    source: Identifier | None = Field(None, description="one source's id; every source if absent")
    severity: Literal["warn"] = Field(description="`warn`: flag and keep instead of quarantine")
    reason: str = Field(
        min_length=1,
        max_length=500,
        pattern=REASON,
        description="why, for people: shown with every issue the override touches",
    )


class QualitySpec(_Table):
    """The election's quality policy (docs/quality.md): thresholds and rule overrides."""

    quarantine_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="share of a delivery's tallies quarantined above which a run is blocked "
        "(default 0.05; the CLI flag and TALLYHOUSE_QUARANTINE_THRESHOLD win over it)",
    )
    w1_turnout: float = Field(
        0.95, gt=0, le=1, description="W1 flags turnout at or above this share (default 0.95)"
    )
    w1_min_registered: int = Field(
        100, ge=1, le=10**8, description="… at units with at least this many registered voters"
    )
    w2_min_valid: int = Field(
        50,
        ge=1,
        le=10**8,
        description="W2 flags one candidate taking every valid vote at units with at least "
        "this many valid votes (default 50)",
    )
    override: list[OverrideSpec] = Field(
        default_factory=list,
        max_length=100,
        description="[[quality.override]]: an error rule demoted to a warning, with its reason",
    )

    @model_validator(mode="after")
    def _distinct(self) -> QualitySpec:
        seen = [(o.rule, o.source) for o in self.override]
        for i, key in enumerate(seen):
            if key in seen[:i]:
                raise _rule(
                    "rule {rule} is overridden twice for {source}",
                    at=f"override[{i}]",
                    rule=key[0],
                    source=f"source {key[1]}" if key[1] else "every source",
                )
        return self


class ContestCandidateSpec(CandidateSpec):
    """One candidate of a declared contest."""

    aliases: list[Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]] = Field(
        default_factory=list,
        max_length=100,
        description="other spellings feeds use for the candidate (matched like the id and name: "
        "case, spaces and punctuation aside)",
    )


class ContestSpec(_Table):
    """One contest on the ballot ([[contest]]): declared, or the declared attributes of a
    contest a contract discovers (matched by id or by one of its aliases)."""

    id: str = Field(
        pattern=CONTEST_ID.pattern,
        description="stable id: a letter or digit, then letters, digits, '-' or '_' (≤ 100)",
    )
    name: str | None = Field(
        None, min_length=1, max_length=200, pattern=PRINTABLE, description="for people"
    )
    seats: int = Field(1, ge=1, le=1000, description="winners per district (default 1)")
    vote_for: int | None = Field(
        None, ge=1, le=1000, description="votes per ballot (default: as many as seats)"
    )
    district: Identifier | None = Field(
        None,
        description="the level each of whose units elects `seats` winners: one of the levels or "
        "a [districts] level; absent: the whole election area",
    )
    aliases: list[Annotated[str, Field(min_length=1, max_length=300, pattern=PRINTABLE)]] = Field(
        default_factory=list, max_length=100, description="labels the feeds use for it"
    )
    candidates: list[ContestCandidateSpec] = Field(
        default_factory=list,
        max_length=1000,
        description="[{ id, name, aliases }, …]; when listed, a feed label that maps to none of "
        "them is quarantined",
    )


class ElectionFile(_Table):
    """An election: its geography levels and candidates (elections/<election>/election.toml;
    see docs/contracts.md)."""

    model_config = ConfigDict(title="tallyhouse election")

    id: Identifier = Field(description="the election's identifier")
    name: str | None = Field(
        None, min_length=1, max_length=200, pattern=PRINTABLE, description="for people"
    )
    levels: list[Identifier] = Field(
        min_length=1,
        max_length=20,
        description="geography levels, broadest first, the tally's own unit last",
    )
    candidates: list[CandidateSpec] = Field(
        default_factory=list,
        max_length=1000,
        description="[{ id, name }, …]; contracts map onto the ids (an election of one contest)",
    )
    contest: list[ContestSpec] = Field(
        default_factory=list,
        max_length=100_000,
        description="[[contest]]: the contests of a general election (docs/canonical-model.md)",
    )
    discover_contests: bool = Field(
        False, description="contracts may discover contests from feed columns ([contests])"
    )
    districts: dict[str, str] = Field(
        default_factory=dict,
        max_length=100,
        description="district levels of their own, id = name: contests' districts that do not "
        "nest in the levels",
    )
    expected_tallies: int | None = Field(
        None, ge=1, le=10**8, description="how many tallies exist in all, where known"
    )
    primary_source: Identifier | None = Field(
        None,
        description="the source to show first where sources tie (the report's default source "
        "among those with the most tallies counted); a source some contract feeds",
    )
    registry: str | None = Field(
        None,
        max_length=200,
        description="the registry's file name in the landing folder (no folders)",
    )
    names: dict[str, str] | None = Field(
        None,
        max_length=20,
        description="level = names file in the landing folder (CSV `code,name`): unit names "
        "when there is no registry",
    )
    quality: QualitySpec | None = Field(None, description="the quality policy (docs/quality.md)")
    codes: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="level = the pattern its codes must match (a regular expression of polars); "
        "default: a letter or digit, then letters, digits, spaces and . _ / -, at most 64",
    )
    ignore: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="file-name patterns (`*`, `?`) of landing files that are not feeds "
        "(READMEs, truth files): not reported as matching no contract",
    )

    def _one_of_the_levels(self, level: str, at: str) -> None:
        if level not in self.levels:
            raise _rule(
                "{level} is not one of the levels ({levels})",
                at=at,
                level=show(level),
                levels=", ".join(self.levels),
            )

    @model_validator(mode="after")
    def _consistent(self) -> ElectionFile:
        for i, level in enumerate(self.levels):
            if level == NATIONAL:
                raise _rule(
                    "'national' is implicit above the levels and must not be listed",
                    at=f"levels[{i}]",
                )
            if level in self.levels[:i]:
                raise _rule("{level} is listed twice", at=f"levels[{i}]", level=show(level))
        ids = [c.id for c in self.candidates]
        for i, cid in enumerate(ids):
            if cid in ids[:i]:
                raise _rule("{cid} is listed twice", at=f"candidates[{i}].id", cid=show(cid))
        self._contests_consistent()
        if self.registry:
            _landing_file_name(self.registry, "registry")
        if self.registry and self.names:
            raise _rule(
                "the registry names the units; names files are for an election without one",
                at="names",
            )
        for level, file_name in (self.names or {}).items():
            self._one_of_the_levels(level, f"names.{_key(level)}")
            if len(file_name) > 200:
                raise _rule(
                    "expected a file name of at most 200 characters", at=f"names.{_key(level)}"
                )
            _landing_file_name(file_name, f"names.{_key(level)}")
        for level, pattern in self.codes.items():
            self._one_of_the_levels(level, f"codes.{_key(level)}")
            try:
                _polars_pattern(pattern)
            except PydanticCustomError:
                raise _rule(
                    "expected a regular expression polars can run, got {value}",
                    at=f"codes.{_key(level)}",
                    value=show(pattern),
                ) from None
        for i, pattern in enumerate(self.ignore):
            if len(pattern) > 200 or not re.fullmatch(PRINTABLE, pattern):
                raise _rule(
                    "expected a printable pattern of at most 200 characters", at=f"ignore[{i}]"
                )
            _landing_file_name(pattern, f"ignore[{i}]")
        return self

    def _contests_consistent(self) -> None:
        general = bool(self.contest) or self.discover_contests
        if not general and not self.candidates:
            raise _rule(
                "an election of one contest lists its candidates (or declares [[contest]] or "
                "discover_contests = true)",
                at="candidates",
            )
        if general and self.candidates:
            raise _rule(
                "a general election lists each contest's candidates under its [[contest]]",
                at="candidates",
            )
        for key in self.districts:
            if not IDENTIFIER.match(key) or key in self.levels or key == NATIONAL:
                raise _rule(
                    "{key} must be an identifier that is not one of the levels",
                    at=f"districts.{_key(key)}",
                    key=show(key),
                )
        ids = [c.id for c in self.contest]
        for i, contest in enumerate(self.contest):
            if contest.id in ids[:i]:
                raise _rule("{cid} is listed twice", at=f"contest[{i}].id", cid=show(contest.id))
            if contest.district not in (None, *self.levels, *self.districts):
                raise _rule(
                    "{district} is neither one of the levels nor one of [districts]",
                    at=f"contest[{i}].district",
                    district=show(contest.district),
                )
            cids = [c.id for c in contest.candidates]
            for j, cid in enumerate(cids):
                if cid in cids[:j]:
                    raise _rule(
                        "{cid} is listed twice",
                        at=f"contest[{i}].candidates[{j}].id",
                        cid=show(cid),
                    )


# --- announced totals -----------------------------------------------------------------------


class BulletinSpec(_Table):
    """Totals an authority announced at one time."""

    id: Identifier = Field(description="the bulletin's identifier")
    name: str | None = Field(None, max_length=200, pattern=PRINTABLE, description="for people")
    contest: str | None = Field(
        None,
        pattern=CONTEST_ID.pattern,
        description="the contest the totals are of (its id); default: the election's own "
        "(required in a general election)",
    )
    counted_share: float | None = Field(
        None, ge=0, le=1, description="share of tallies said to be counted, 0–1"
    )
    registered: Count | None = None
    valid_votes: Count | None = None
    null_votes: Count | None = None
    blank_votes: Count | None = None
    total_votes: Count | None = None
    votes: dict[str, Count] = Field(
        min_length=1, max_length=1000, description="candidate id = announced votes"
    )


class AnnouncedFile(_Table):
    """Totals an authority announced (elections/<election>/announced.toml)."""

    model_config = ConfigDict(title="tallyhouse announced totals")

    bulletin: list[BulletinSpec] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _distinct(self) -> AnnouncedFile:
        ids = [b.id for b in self.bulletin]
        for i, bid in enumerate(ids):
            if bid in ids[:i]:
                raise _rule("{bid} is listed twice", at=f"bulletin[{i}].id", bid=show(bid))
        return self


def parse_election(data: Any, name: str = "election.toml") -> Election:
    """An election.toml's content, checked, as the canonical Election (no sources yet: they
    come from the contracts)."""
    spec = validated(ElectionFile, data, name)
    try:
        return Election(
            id=spec.id,
            name=spec.name if spec.name is not None else spec.id,
            levels=tuple(spec.levels),
            candidates=tuple(Candidate(c.id, c.name) for c in spec.candidates),
            expected_tallies=spec.expected_tallies,
            primary_source=spec.primary_source,
            registry_file=spec.registry or None,
            quality=_policy(spec.quality),
            names_files=tuple((spec.names or {}).items()),
            contests=tuple(
                Contest(
                    id=c.id,
                    name=c.name or c.id,
                    seats=c.seats,
                    vote_for=c.vote_for,
                    district=c.district,
                    candidates=tuple(
                        Candidate(k.id, k.name, tuple(k.aliases)) for k in c.candidates
                    ),
                    aliases=tuple(c.aliases),
                )
                for c in spec.contest
            ),
            discovers_contests=spec.discover_contests,
            district_levels=tuple(spec.districts.items()),
            ignored_files=tuple(spec.ignore),
            code_patterns=tuple(spec.codes.items()),
        )
    except ModelError as error:  # the models check all of it first; kept as a second line
        raise ContractError(f"{name}: {error}") from None


def _policy(spec: QualitySpec | None) -> QualityPolicy:
    if spec is None:
        return QualityPolicy()
    return QualityPolicy(
        quarantine_threshold=spec.quarantine_threshold,
        w1_turnout=spec.w1_turnout,
        w1_min_registered=spec.w1_min_registered,
        w2_min_valid=spec.w2_min_valid,
        overrides=tuple(
            RuleOverride(o.rule, o.severity, o.reason.strip(), o.source) for o in spec.override
        ),
    )


def parse_announced(data: Any, election: Election, name: str = "announced.toml") -> dict:
    """An announced.toml's content, checked against the election; returned as read."""
    spec = validated(AnnouncedFile, data, name)
    for i, bulletin in enumerate(spec.bulletin):
        contest = _announced_contest(bulletin, election, where(name, f"bulletin[{i}].contest"))
        known = [c.id for c in contest.candidates] if contest is not None else None
        unknown = [c for c in bulletin.votes if known is not None and c not in known]
        if unknown:
            raise ContractError(
                f"{where(name, f'bulletin[{i}].votes')}: unknown candidate(s) "
                f"{listed(unknown)}; known: {', '.join(known)}"
            )
    return data


def _announced_contest(bulletin: BulletinSpec, election: Election, at: str) -> Contest | None:
    """The contest a bulletin's totals are of, when its candidates are known (declared); None
    for a contest a contract discovers (its candidates are the feed's labels)."""
    if not election.is_general:
        if bulletin.contest not in (None, election.default_contest.id):
            raise ContractError(
                f"{at}: {show(bulletin.contest)} is not this election's contest; an election "
                f"of one contest has one, {show(election.default_contest.id)} (or leave it out)"
            )
        return election.default_contest
    if bulletin.contest is None:
        raise ContractError(f"{at}: required in a general election (the contest's id)")
    declared = {c.id: c for c in election.contests}
    contest = declared.get(bulletin.contest)
    if contest is None and not election.discovers_contests:
        raise ContractError(
            f"{at}: unknown contest {show(bulletin.contest)}; declared: {listed(list(declared))}"
        )
    return contest if contest is not None and contest.candidates else None


# --- schema ---------------------------------------------------------------------------------


class _TomlJsonSchema(GenerateJsonSchema):
    """TOML has no null: an optional key is one that may be left out, not one that may be null."""

    def nullable_schema(self, schema: Any) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: Any) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None:
            del json_schema["default"]
        return json_schema


def json_schemas() -> dict[str, dict]:
    """The JSON Schema of a contract file and of election.toml, for editors (taplo / Even
    Better TOML: `#:schema ./contract.schema.json` on a file's first line)."""
    out = {}
    for key, model, title in [
        ("contract", ContractFile, "tallyhouse feed contract"),
        ("election", ElectionFile, "tallyhouse election.toml"),
    ]:
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **model.model_json_schema(schema_generator=_TomlJsonSchema),
        }
        schema["title"] = title
        schema["description"] = " ".join((model.__doc__ or "").split())
        out[key] = schema
    return out
