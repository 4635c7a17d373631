"""Raw rows as delivered (all text) → canonical staged tallies and long-form votes.

Staging casts and keeps evidence; it judges nothing. A cell that cannot become a count is left
null and described in `missing_or_unparsable` (rule E8) or `negative_or_fractional` (rule E1),
so the quality gate can quarantine its tally while the rest of the file goes on.
"""

from dataclasses import dataclass
from functools import cached_property

import polars as pl

from transforms.count_cells import CELL_KEYS, cell_text
from transforms.feed import BLANK, COUNT_FIELDS, NO_LIST, NULL, OTHER, TOTAL, VALID
from transforms.model import ASCII_CODE_PATTERN, DEFAULT_CODE_PATTERN, NATIONAL, Election

PROVENANCE = ("file_sha256", "source_row")
DELIVERY_COLUMNS = ("file_sha256", "source_id", "delivery_seq", "release", "snapshot", "loaded_at")
RELEASE_SPAN = 1 << 40  # ordering key: release first, then delivery
UNIT_KEY = ["_unit"]  # a unit of one source: its code, or the row itself if it has none
NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
WHOLE = r"^[0-9]+$"
ROW_SPAN = 1 << 32  # tally_id = delivery_seq * 2**32 + source_row: unique, stable, an int key
EVIDENCE = ("missing_or_unparsable", "negative_or_fractional")
# A general election's tallies also carry their contest (transforms/contests.py): a unit of a
# source is then one contest at one polling unit.
CONTEST = "contest_id"
DISTRICT_COLUMNS = ("contest_district_level", "contest_district")
CONTEST_CARRIED = (CONTEST, *DISTRICT_COLUMNS)
WITHDRAWAL = "withdrawal"  # deliveries: an operator's withdrawal (who, when, why), else null
WITHOUT_LIST = "without_list"  # the unit has no list of registered voters (contract: absent_when)


@dataclass(frozen=True)
class StagedTallies:
    """The staged tables. Their votes are given long, or wide (one column per candidate, in the
    rows' order) and made long on first use: a warehouse writer can unpivot them as it writes
    (warehouse/staged_write.py) instead of holding ten rows a tally in memory."""

    tallies: pl.DataFrame  # current versions
    given_votes: pl.DataFrame  # their per-candidate votes: long form, or wide with `candidates`
    versions: pl.DataFrame  # every version of every unit, with what superseded it
    candidates: tuple[str, ...] | None = None  # the candidate columns of wide votes

    @property
    def wide_votes(self) -> pl.DataFrame | None:
        """The votes, one column per candidate after the index columns; None when given long."""
        return None if self.candidates is None else self.given_votes

    @cached_property
    def votes(self) -> pl.DataFrame:
        """Per-candidate votes, long form: the index columns, candidate_id, votes; candidate by
        candidate, each in the rows' order."""
        if self.candidates is None:
            return self.given_votes
        return long_votes(self.given_votes, self.candidates)


def long_votes(wide: pl.DataFrame, candidates: tuple[str, ...]) -> pl.DataFrame:
    """Wide votes (index columns, then one column per candidate) → long form."""
    index = [c for c in wide.columns if c not in candidates]
    return wide.unpivot(index=index, variable_name="candidate_id", value_name="votes")


def count_columns(election: Election) -> list[str]:
    return [*COUNT_FIELDS, *election.candidate_ids]


def _cell_note(column: str, condition: pl.Expr, why: str = "") -> pl.Expr:
    """`column='value'` where condition holds, else null; followed by ` (why)` if given (a
    code outside its level's pattern names the election.toml key that sets it)."""
    shown = pl.col(column).fill_null("")
    if why:
        note = pl.format("{}='{}' ({})", pl.lit(column), shown, pl.lit(why))
    else:
        note = pl.format("{}='{}'", pl.lit(column), shown)
    return pl.when(condition).then(note)


def _evidence(election: Election) -> list[pl.Expr]:
    """Per row: which cells are missing or unparsable (E8), which negative or fractional (E1).

    A null cell is a field the feed's contract does not map (absent, not judged); an empty one is
    a mapped field left blank (missing).
    """
    unparsable, improper = [], []
    for column in count_columns(election):
        text = pl.col(column)
        empty, absent = text == "", text.is_null()
        numeric = text.str.contains(NUMBER)
        too_large = text.str.contains(WHOLE) & text.cast(pl.Int64, strict=False).is_null()
        unparsable.append(_cell_note(column, empty | (~absent & ~empty & ~numeric) | too_large))
        improper.append(_cell_note(column, ~empty & numeric & ~text.str.contains(WHOLE)))
    for level in election.levels:
        column = election.code_column(level)
        text = pl.col(column)
        missing = _code_required(column, election) & _blank(text)
        unparsable.append(_cell_note(column, missing))
        unparsable.append(_cell_note(column, _bad_code(level, election), f"outside codes.{level}"))
    return [
        _null_if_empty(pl.concat_str(notes, separator="; ", ignore_nulls=True)).alias(name)
        for name, notes in zip(EVIDENCE, (unparsable, improper), strict=True)
    ]


def _bad_code(level: str, election: Election, quick: bool = False) -> pl.Expr:
    """A code given that is no code: outside the level's pattern (a formula, a line break).
    quick: for picking the rows to describe, the default pattern's ASCII form (fourteen times
    faster on a million codes); a code of another script it flags is then described with the
    full pattern, which lets it through."""
    text = pl.col(election.code_column(level))
    pattern = election.code_pattern(level)
    if quick and pattern == DEFAULT_CODE_PATTERN:
        pattern = ASCII_CODE_PATTERN
    return ~_blank(text) & ~text.str.contains(pattern)


def _blank(text: pl.Expr) -> pl.Expr:
    return text.is_null() | (text == "")


def _code_required(column: str, election: Election) -> pl.Expr:
    """Whether a tally must have this code column: always, but a source above the polling units
    has codes only down to its own level (a national one none)."""
    higher = election.higher_sources
    if not higher:
        return pl.lit(True)
    depth = election.code_columns.index(column)
    below = [s for s in higher if _depth(election, s) < depth]  # codes this source lacks
    return ~pl.col("source_id").is_in(below) if below else pl.lit(True)


def _depth(election: Election, source_id: str) -> int:
    """Index of a source's level among the levels; -1 for national."""
    level = election.source_level(source_id)
    return election.levels.index(level) if level in election.levels else -1


def tally_code(election: Election) -> pl.Expr:
    """A tally's unit code: its code at the tally level, or at its source's level for a source
    above the polling units (`national` for a national one)."""
    code = pl.col(election.code_column(election.tally_level))
    for source in election.higher_sources:
        level = election.source_level(source)
        own = pl.col(election.code_column(level)) if level in election.levels else pl.lit(NATIONAL)
        code = pl.when(pl.col("source_id") == source).then(own).otherwise(code)
    return code


def _null_if_empty(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr == "").then(None).otherwise(expr)


def _whole(column: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    """The cell as a count, or null when it is not a plain whole number (no sign, no decimals).
    An integer cell (transforms/count_cells) is its count where it is one (EMPTY and TEXT are
    negative)."""
    if dtype.is_integer():
        return pl.when(pl.col(column) >= 0).then(pl.col(column))
    text = pl.col(column)
    plain = ~(text.str.starts_with("-") | text.str.starts_with("+"))
    return pl.when(plain).then(text.cast(pl.Int64, strict=False))


def _place_in_registry(
    frame: pl.DataFrame, registry: pl.DataFrame | None, election: Election
) -> pl.DataFrame:
    """Codes of the levels a feed does not carry (null), taken from the registry: for a tally
    of a polling unit, from its unit's row; for a tally above them (a source at a higher level,
    e.g. a constituency's form carrying no county code), the codes above its own level, from
    the registry's rows of its unit where they all name one parent. A code the registry cannot
    place, or places under two parents, stays null (E8 names it)."""
    codes = election.code_columns
    if registry is None or not any(frame[c].null_count() for c in codes[:-1]):
        return frame
    # deepest first: a tally's own level is the deepest whose code it carries
    for depth in range(len(codes) - 1, 0, -1):
        above = [c for c in codes[:depth] if frame[c].null_count()]
        if above:
            frame = _fill_from(frame, registry, codes[depth], above, unique=depth < len(codes) - 1)
    return frame


def _fill_from(
    frame: pl.DataFrame, registry: pl.DataFrame, key: str, above: list[str], unique: bool
) -> pl.DataFrame:
    """The null codes `above` filled from the registry's rows whose `key` code is the row's.
    unique: a key whose rows name several parents fills nothing (a polling unit's code is its
    row's: the first row counts, as E6 judges the rest)."""
    lookup = registry.select(
        pl.col(key).cast(pl.String).str.strip_chars(),
        *[pl.col(c).cast(pl.String).str.strip_chars().alias(f"_registry_{c}") for c in above],
    )
    if unique:
        lookup = lookup.unique().filter(pl.len().over(key) == 1)
    else:
        lookup = lookup.unique(key, keep="first")
    return (
        frame.join(lookup, on=key, how="left", maintain_order="left")
        .with_columns(*[pl.coalesce(c, f"_registry_{c}").alias(c) for c in above])
        .drop([f"_registry_{c}" for c in above])
    )


def _typed(
    raw: pl.DataFrame,
    deliveries: pl.DataFrame,
    election: Election,
    registry: pl.DataFrame | None = None,
    cells: pl.DataFrame | None = None,
) -> pl.DataFrame:
    counts = count_columns(election)
    codes = election.code_columns
    names = [c for c in name_columns(election) if c in raw.columns]
    # a raw table loaded before a count field existed lacks it: absent (null), never judged
    raw = raw.with_columns(pl.lit(None, pl.String).alias(c) for c in counts if c not in raw.columns)
    if WITHDRAWAL not in deliveries.columns:
        deliveries = deliveries.with_columns(pl.lit(None, pl.String).alias(WITHDRAWAL))
    frame = _with_deliveries(raw, deliveries).with_columns(
        *[pl.col(c).str.strip_chars() for c in codes]
    )
    frame = _place_in_registry(frame, registry, election)
    # Counts are cast as delivered: a cell padded with spaces, like any bad cell, is rare, and
    # its row is cast again trimmed below. Bad cells: find their rows with native casts, then
    # trim and describe only those rows.
    fast = {c: f"_fast_{c}" for c in counts}
    trimmed = {c: f"_trimmed_{c}" for c in counts}
    frame = frame.with_row_index("_row").with_columns(
        _whole(c, frame.schema[c]).alias(fast[c]) for c in counts
    )
    suspect = pl.any_horizontal(
        *[pl.col(c).is_not_null() & pl.col(fast[c]).is_null() for c in counts],
        *[_code_required(c, election) & _blank(pl.col(c)) for c in codes],
        *[_bad_code(level, election, quick=True) for level in election.levels],
    )
    frame = frame.with_columns(suspect.alias("_suspect"))
    described = (
        _as_text(frame.filter("_suspect"), counts, cells)
        .with_columns(pl.col(c).str.strip_chars() for c in counts)
        .select("_row", *_evidence(election), *[_whole(c).alias(trimmed[c]) for c in counts])
    )
    return (
        joined_beside(frame, described, ["_row"])
        .with_columns(
            *[pl.coalesce(fast[c], trimmed[c]).alias(c) for c in counts],
            *[_null_if_empty(pl.col(c)).alias(c) for c in [*codes, *names]],
            _null_if_empty(tally_code(election)).alias("tally_code"),
            _without_list(raw).alias(WITHOUT_LIST),
            tally_id(pl.col("delivery_seq")),
            (pl.col("release").cast(pl.Int64) * RELEASE_SPAN + pl.col("delivery_seq")).alias(
                "_order"
            ),
        )
        .drop("_row", "_suspect", *fast.values(), *trimmed.values())
    )


def _as_text(rows: pl.DataFrame, counts: list[str], cells: pl.DataFrame | None) -> pl.DataFrame:
    """The rows with their integer count cells (transforms/count_cells) as text again, as the
    feed gave them: a TEXT cell's text from `cells` (joined on CELL_KEYS: only the few rows
    described are)."""
    integer = [c for c in counts if rows.schema[c].is_integer()]
    if not integer:
        return rows
    texts = {c: f"_text_{c}" for c in integer}
    if cells is None:
        cells = pl.DataFrame(schema={k: rows.schema[k] for k in CELL_KEYS})
    given = cells.select(*CELL_KEYS, *[pl.col(c).alias(texts[c]) for c in integer if c in cells])
    rows = rows.join(given, on=list(CELL_KEYS), how="left", maintain_order="left")
    return (
        rows.with_columns(
            pl.lit(None, pl.String).alias(t) for c, t in texts.items() if t not in rows.columns
        )
        .with_columns(cell_text(c, texts[c]) for c in integer)
        .drop(texts.values())
    )


def tally_id(delivery_seq: pl.Expr) -> pl.Expr:
    """A row's tally_id from its delivery's delivery_seq and its source_row."""
    return (delivery_seq.cast(pl.Int64) * ROW_SPAN + pl.col("source_row")).alias("tally_id")


def joined_beside(frame: pl.DataFrame, table: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """`frame` left-joined to `table` (unique on `keys`), in the frame's order: only the keys
    are joined and the columns found set beside the frame's, which a join of the whole frame
    would copy, every column of every row (the few rows described, the few units superseded
    or the tallies' districts, against a frame of a row per tally). A table not unique on
    `keys` raises (polars' horizontal concat is strict: the joined rows outnumber the frame's)."""
    found = frame.select(keys).join(table, on=keys, how="left", maintain_order="left")
    return pl.concat([frame, found.drop(keys)], how="horizontal")


def _with_deliveries(raw: pl.DataFrame, deliveries: pl.DataFrame) -> pl.DataFrame:
    """The raw rows of the delivered files, in their order, with their delivery's columns
    (joined_beside: a join of the whole rows would copy every raw column)."""
    delivered = deliveries.select(*DELIVERY_COLUMNS, WITHDRAWAL, pl.lit(True).alias("_delivered"))
    rows = joined_beside(raw, delivered, ["file_sha256"])
    undelivered = rows["_delivered"].is_null()
    rows = rows.drop("_delivered")
    return rows.filter(~undelivered) if undelivered.any() else rows  # a filter copies them all


def _without_list(raw: pl.DataFrame) -> pl.Expr:
    """True where the contract said the unit has no list of registered voters."""
    if NO_LIST not in raw.columns:
        return pl.lit(False)
    return (pl.col(NO_LIST) == "1").fill_null(False)


def name_columns(election: Election) -> list[str]:
    return [f"{level}_name" for level in election.levels]


def _cast_total() -> pl.Expr:
    """Ballots cast: the declared total, else valid + null + blank (other votes are part of
    valid votes)."""
    return pl.coalesce(TOTAL, pl.col(VALID) + pl.col(NULL) + pl.col(BLANK).fill_null(0))


def stage(
    raw: pl.DataFrame,
    deliveries: pl.DataFrame,
    election: Election,
    registry: pl.DataFrame | None = None,
    cells: pl.DataFrame | None = None,
) -> StagedTallies:
    """Current tallies: for each source and unit, the rows of its latest delivery.

    Identical copies within that delivery collapse into one row (`copies` counts them); rows that
    differ are all kept, for the quality gate to judge (rule E5). An earlier delivery of the unit
    is superseded; its ballot total is kept as `previous_total_votes` (rule W3).

    raw: file_sha256, source_row and the feed columns as text (counts may be integers).
    registry: where given, places tallies of feeds that do not carry every level.
    cells: where counts are given as integers (transforms/count_cells), the text of those that
    are no plain count.
    deliveries: file_sha256, source_id, delivery_seq, release, snapshot, loaded_at.

    Within a source, "later" means a higher release, then a later delivery. When the source's
    deliveries are snapshots (full releases), the latest release alone is current: a unit it
    leaves out is withdrawn, not kept from an older release.
    """
    raw = with_contest(raw, election)
    typed = _typed(raw, deliveries, election, registry, cells)
    typed = _latest_per_unit(_with_units(typed, election))
    latest = pl.col("_latest")
    current = typed.filter(latest)
    index = ["tally_id", "source_id", *_carried(current)[:1]]
    candidates = tuple(election.candidate_ids)
    if _has_copies(current):
        current = _collapsed_copies(current)
        wide = current.select(*index, *candidates)
    else:  # the votes in source_row order as well; sorted alone, not with every column
        current = current.with_columns(pl.lit(1, pl.Int32).alias("copies"))
        in_order = current.select(*index, *candidates, "source_row").sort("source_row")
        wide = in_order.drop("source_row")
    tallies = _tally_rows(current, _previous_versions(typed.filter(~latest)), election)
    return StagedTallies(tallies.sort("tally_id"), wide, _versions(typed, latest), candidates)


def with_contest(frame: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Rows keyed by contest: those of an election of one contest (raw rows, tallies staged
    before contests, or built by hand) get the election's own."""
    if CONTEST in frame.columns:
        return frame
    return frame.with_columns(pl.lit(election.default_contest.id).alias(CONTEST))


def district_columns(frame: pl.DataFrame) -> list[str]:
    """A general election's contest district columns the frame has (none in an election of
    one contest)."""
    return [c for c in DISTRICT_COLUMNS if c in frame.columns]


def _carried(frame: pl.DataFrame) -> list[str]:
    """The contest columns a general election's frames carry (none in an election of one)."""
    return [c for c in CONTEST_CARRIED if c in frame.columns]


def _with_units(typed: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Each row's unit (_unit): one integer per unit of a source (exact: polars' categories are
    a dictionary), and, where a unit has several rows, each row's content hash (_content), which
    tells copies and versions apart (a row a unit has neither: the hash is left out). A row
    without a unit code is its own unit: it never supersedes nor collapses another."""
    counts = count_columns(election)
    typed = typed.with_columns(
        pl.concat_str(
            "source_id",
            pl.lit("\x1f"),
            *[pl.col(c).fill_null("") + "\x1f" for c in _carried(typed)[:1]],
            pl.coalesce("tally_code", pl.format("#{}", "tally_id")),
        )
        .cast(pl.Categorical)
        .to_physical()
        .alias("_unit"),
    )
    if _a_row_a_unit(typed):
        return typed
    return typed.with_columns(
        pl.struct([*election.code_columns, *_carried(typed), *counts, WITHOUT_LIST, *EVIDENCE])
        .hash(seed=0)
        .alias("_content"),
    )


def _a_row_a_unit(frame: pl.DataFrame) -> bool:
    """Whether no two rows share a unit (the rule in a first full staging): no copies to
    collapse, no earlier versions."""
    return frame["_unit"].n_unique() == frame.height


def _hashed(frame: pl.DataFrame) -> bool:
    """Whether _with_units gave the rows their content hash: some unit has several rows."""
    return "_content" in frame.columns


def _latest_per_unit(typed: pl.DataFrame) -> pl.DataFrame:
    """_latest: the row belongs to its unit's latest delivery within the current release (a
    snapshot release replaces every earlier release of its source, units it omits included)."""
    kept = pl.col(WITHDRAWAL).is_null()  # a withdrawn delivery is never current
    current_release = (
        pl.when(pl.col("snapshot") & kept).then(pl.col("release")).max().over("source_id")
    )
    in_release = kept & (current_release.is_null() | (pl.col("release") >= current_release))
    typed = typed.with_columns(in_release.alias("_in_release"))
    newest = pl.col("_order").filter(pl.col("_in_release")).max().over(UNIT_KEY)
    return typed.with_columns(
        (pl.col("_in_release") & (pl.col("_order") == newest)).alias("_latest")
    )


def _has_copies(latest: pl.DataFrame) -> bool:
    """Whether some unit has several latest rows (copies, or rows that differ: rule E5)."""
    return _hashed(latest) and not _a_row_a_unit(latest)


def _collapsed_copies(latest: pl.DataFrame) -> pl.DataFrame:
    """The latest rows in source_row order, identical copies collapsed into the first
    (`copies` counts them)."""
    in_order = latest.sort("source_row")
    return in_order.with_columns(
        pl.len().over([*UNIT_KEY, "_content"]).cast(pl.Int32).alias("copies")
    ).unique(subset=[*UNIT_KEY, "_content"], keep="first", maintain_order=True)


def _previous_versions(earlier: pl.DataFrame) -> pl.DataFrame:
    """Per unit: the delivery and ballot total of its last superseded version."""
    return (
        earlier.sort("_order", "source_row")
        .group_by(UNIT_KEY)
        .agg(
            pl.col("delivery_seq").last().alias("previous_delivery_seq"),
            _cast_total().last().alias("previous_total_votes"),
        )
    )


def _tally_rows(current: pl.DataFrame, previous: pl.DataFrame, election: Election) -> pl.DataFrame:
    """The staged tallies' columns, in order."""
    names = [c for c in name_columns(election) if c in current.columns]
    general = "contest_district_level" in current.columns
    return joined_beside(current, previous, UNIT_KEY).select(
        "tally_id",
        "source_id",
        *_carried(current),
        "tally_code",
        *election.code_columns,
        *names,
        *COUNT_FIELDS,
        WITHOUT_LIST,
        *EVIDENCE,
        # sums across the candidates, kept so that checks need not pivot the long votes again;
        # other votes (valid votes for no declared candidate) are part of the sum (rule E3)
        # (a general election's ballot positions past a contest's lines are null: not summed)
        (
            pl.sum_horizontal(election.candidate_ids, ignore_nulls=general)
            + pl.col(OTHER).fill_null(0)
        ).alias("candidate_sum"),
        pl.max_horizontal(election.candidate_ids).alias("top_candidate_votes"),
        "copies",
        "previous_delivery_seq",
        "previous_total_votes",
        *PROVENANCE,
        "delivery_seq",
        "release",
        "loaded_at",
    )


def _versions(typed: pl.DataFrame, latest: pl.Expr) -> pl.DataFrame:
    """Every version of every unit, oldest first: current, superseded (by which delivery), or
    withdrawn (a later snapshot release left the unit out)."""
    unit = UNIT_KEY
    narrow = typed.select(
        "tally_id",
        "source_id",
        *_carried(typed)[:1],
        "tally_code",
        "_unit",
        "delivery_seq",
        "release",
        "_order",
        "file_sha256",
        "source_row",
        *(["_content"] if _hashed(typed) else []),
        VALID,
        _cast_total().alias(TOTAL),
        latest.alias("_current"),
        pl.col(WITHDRAWAL).is_not_null().alias("_withdrawn"),
    )
    versions = (
        narrow.sort("_order", "source_row")
        .group_by([*unit, "delivery_seq", "_content"], maintain_order=True)
        .agg(pl.all().first(), pl.len().cast(pl.Int32).alias("copies"))
        .sort(*unit, "_order", "source_row")
        if _hashed(narrow)
        # each row is its unit's one version
        else narrow.with_columns(pl.lit(1, pl.Int32).alias("copies")).sort(*unit)
    )
    later = pl.col("delivery_seq").shift(-1).over(unit)
    return versions.select(
        "tally_id",
        "source_id",
        *_carried(versions)[:1],
        "tally_code",
        "delivery_seq",
        "release",
        "file_sha256",
        "source_row",
        "copies",
        VALID,
        TOTAL,
        pl.when(pl.col("_current"))
        .then(pl.lit("current"))
        .when(pl.col("_withdrawn"))
        .then(pl.lit("withdrawn"))
        .when(later.is_not_null())
        .then(pl.lit("superseded"))
        .otherwise(pl.lit("withdrawn"))
        .alias("status"),
        pl.when(~pl.col("_current")).then(later).alias("superseded_by_delivery"),
    )


def cast_votes_total(tallies: pl.DataFrame) -> pl.DataFrame:
    """Fill a missing declared total with valid + null + blank."""
    return tallies.with_columns(_cast_total().alias(TOTAL))


def votes_wide(votes: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Long-form votes → one row per tally_id, one column per candidate."""
    return votes.pivot(
        on="candidate_id",
        index="tally_id",
        values="votes",
        aggregate_function=None,
        on_columns=election.candidate_ids,
    )


def affected_units(new_rows: pl.DataFrame, deliveries: pl.DataFrame, election: Election):
    """The tally units a drop touches: (source_id, tally_code), codes trimmed as staging does.

    Rows without a unit code are their own units; they touch no earlier tally.
    """
    code = election.code_column(election.tally_level)
    return (
        new_rows.join(deliveries.select("file_sha256", "source_id"), on="file_sha256")
        .select("source_id", _null_if_empty(pl.col(code).str.strip_chars()).alias("tally_code"))
        .drop_nulls()
        .unique()
        .sort("source_id", "tally_code")
    )


def without_unit_code(new_rows: pl.DataFrame, election: Election) -> pl.DataFrame:
    code = election.code_column(election.tally_level)
    return new_rows.filter(_null_if_empty(pl.col(code).str.strip_chars()).is_null())
