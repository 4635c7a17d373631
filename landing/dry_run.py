"""`tallyhouse check`: an election's contracts tried on a landing folder, in memory.

For each landing file a contract matches, the first rows are read with the contract, mapped and
staged exactly as a run would (transforms.contract, transforms.staging), and the rule catalogue
is run on the sample's evidence (expectations.evidence, the GX suites). Nothing is written
anywhere: no data directory, no warehouse, no Dagster instance. The result is a CheckReport;
reporting/terminal/check.py prints it.

Each file is judged on its own: rules between deliveries (W3) and between files of one source
never fire here. A long feed's sample may cut its last tally; those trailing rows are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from expectations.evidence import judged_evidence
from expectations.quarantine import issues_frame
from expectations.rules import ERROR, RULES, RULES_BY_ID, applicable, for_policy
from expectations.suites import EngineError, validate
from landing.files import (
    FileRejected,
    failure_reason,
    mapped,
    matching_files,
    read_delimited,
    read_feed,
    refuse_drift,
    registry_path,
    unmatched_files,
)
from transforms.ballots import lists_ballots
from transforms.contests import stage_general
from transforms.contract import Contract, contract_rows, filled_rows, long_labels, with_spellings
from transforms.feed import missing_columns, registry_columns
from transforms.model import Election
from transforms.staging import ROW_SPAN, stage

SAMPLE_ROWS = 1_000
EXAMPLES = 3  # example tallies shown per rule and file
LABELS_SHOWN = 30  # distinct long-layout labels kept per file


@dataclass(frozen=True)
class Example:
    """One tally breaking a rule: where it is and what was observed (raw text, not escaped)."""

    source_row: int
    tally_code: str | None
    observed: str


@dataclass(frozen=True)
class Breach:
    rule_id: str
    severity: str
    description: str
    tallies: int
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class Label:
    """A long feed's candidate label as found in the sample, and the candidate it maps to
    (None: neither a candidate id nor an alias; the file would be rejected)."""

    text: str
    candidate_id: str | None
    rows: int


@dataclass(frozen=True)
class FileCheck:
    file_name: str
    contract_id: str
    source_id: str
    rows_read: int = 0
    more_rows: bool = False  # the file goes on past the sample
    rows_excluded: int = 0
    rows_blank: int = 0  # blank lines: skipped
    tallies: int = 0
    units: tuple[tuple[str, int], ...] = ()  # (level, distinct units in the sample)
    candidates: tuple[tuple[str, tuple[str, ...]], ...] = ()  # wide: (candidate id, columns)
    labels: tuple[Label, ...] = ()  # long: the labels found
    more_labels: int = 0  # long: distinct labels beyond LABELS_SHOWN
    # a general election: the contests the sample counts (id, name, district level or None)
    contests: tuple[tuple[str, str, str | None], ...] = ()
    more_contests: int = 0
    counts: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (count field, columns summed)
    cut_rows: int = 0  # long: trailing rows of a tally the sample may have cut, left out
    error: str | None = None  # why the whole file would be rejected (one bounded line)
    breaches: tuple[Breach, ...] = ()
    quarantined: int = 0  # tallies of the sample breaking at least one error rule
    flagged: int = 0  # tallies breaking a warning rule only

    @property
    def would_quarantine(self) -> bool:
        return self.quarantined > 0


@dataclass(frozen=True)
class CheckReport:
    election_id: str
    election_name: str
    levels: tuple[str, ...]
    landing: str
    sample_rows: int
    files: tuple[FileCheck, ...]
    unmatched: tuple[str, ...]
    registry: str | None = None  # the registry file read, if the election has one landed
    registry_rows: int = 0
    registry_error: str | None = None  # why it would be rejected
    registry_note: str | None = None  # e.g. configured but not landed
    engine_error: str | None = None  # the rules could not be run
    rules_checked: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        """Nothing would be rejected or quarantined (warnings and unmatched files aside)."""
        return (
            not self.registry_error
            and not self.engine_error
            and not any(f.error or f.would_quarantine for f in self.files)
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.clean else 1


def dry_run(config, landing: Path, rows: int = SAMPLE_ROWS) -> CheckReport:
    """Try the election's contracts (config: warehouse.configs.ElectionConfig-like, with
    `.election` and `.contracts`) on the first `rows` data rows of each matching landing file.

    Raises ValueError when two contracts claim one file (a configuration error)."""
    election: Election = config.election
    matched = matching_files(landing, config.contracts)
    registry, registry_rows, registry_error, registry_note = _registry(landing, election)
    checks: list[FileCheck] = []
    evidence: list[pl.DataFrame] = []
    for seq, (path, contract) in enumerate(matched, start=1):
        check, frame = _check_file(path, contract, election, registry, rows, seq)
        checks.append(check)
        if frame is not None and frame.height:
            evidence.append(frame)
    rules = applicable(
        for_policy(RULES, election.quality), registry is not None, lists_ballots(registry)
    )
    engine_error = None
    if evidence:
        try:
            checks = _judge(checks, pl.concat(evidence, how="diagonal_relaxed"), rules)
        except EngineError as error:
            engine_error = str(error)
    return CheckReport(
        election_id=election.id,
        election_name=election.name,
        levels=tuple(election.levels),
        landing=str(landing),
        sample_rows=rows,
        files=tuple(checks),
        unmatched=tuple(unmatched_files(landing, config.contracts, election)),
        registry=election.registry_file if registry is not None or registry_error else None,
        registry_rows=registry_rows,
        registry_error=registry_error,
        registry_note=registry_note,
        engine_error=engine_error,
        rules_checked=tuple(r.id for r in rules),
    )


def _registry(landing: Path, election: Election):
    """(registry frame or None, its rows, why it would be rejected, a note)."""
    if not election.registry_file:
        return None, 0, None, None
    path = registry_path(landing, election)
    if path is None:
        note = (
            f"the election's registry {election.registry_file} is not in the landing folder: "
            "rule E7 and the registry half of E6 are not checked, and feeds short of levels cannot "
            "be placed"
        )
        return None, 0, None, note
    try:
        frame = read_delimited(path)
        missing = missing_columns(frame.columns, registry_columns(election))
        if missing:
            raise FileRejected(path.name, f"lacks required column(s) {', '.join(missing)}")
    except Exception as error:  # whatever fails, the registry would be rejected, not the run
        return None, 0, failure_reason(path.name, error), None
    return frame, frame.height, None, None


def _check_file(
    path: Path,
    contract: Contract,
    election: Election,
    registry: pl.DataFrame | None,
    rows: int,
    seq: int,
) -> tuple[FileCheck, pl.DataFrame | None]:
    """The file's sample read, mapped and staged: its FileCheck (rules not yet judged) and its
    evidence frame (None when the file would be rejected)."""
    check = FileCheck(
        path.name,
        contract.id,
        contract.source_id,
        counts=tuple((f, tuple(c)) for f, c in contract.counts.items()),
        candidates=tuple((c, tuple(cols)) for c, cols in contract.candidates.items()),
    )
    found: dict = {}
    try:
        frame = read_feed(path, contract, n_rows=rows + 1)
        more = frame.height > rows
        frame = frame.head(rows)
        found = {"rows_read": frame.height, "more_rows": more}
        refuse_drift(path, frame, contract)
        filled = filled_rows(frame)
        found["rows_blank"] = frame.height - filled.height
        kept, found["rows_excluded"] = contract_rows(filled, contract)
        if contract.long_candidate:
            found.update(_labels(kept, contract, election))
            if more:
                frame, cut = _without_cut_tally(frame, contract)
                found["cut_rows"] = cut
        applied = mapped(path, frame, contract, election)
        sha = f"check:{seq}"
        raw = applied.tallies.with_columns(pl.lit(sha).alias("file_sha256"))
        delivery = _delivery(sha, contract, seq)
        if election.is_general:
            general = stage_general(raw, delivery, election, registry)
            staged = general.staged.tallies
            found.update(_contests(general.contests))
        else:
            staged = stage(raw, delivery, election, registry).tallies
        found["tallies"] = staged.height
        found["units"] = tuple(
            (level, staged[election.code_column(level)].drop_nulls().n_unique())
            for level in election.levels
        )
        evidence = judged_evidence(staged, election, registry)
    except Exception as error:  # any failure: the run would reject this file whole
        return _replace(check, found, error=failure_reason(path.name, error)), None
    return _replace(check, found), evidence


def _replace(check: FileCheck, found: dict, **more) -> FileCheck:
    from dataclasses import replace

    return replace(check, **found, **more)


def _delivery(sha: str, contract: Contract, seq: int) -> pl.DataFrame:
    """The one delivery staging needs to know the sample by, as raw.deliveries would hold it."""
    return pl.DataFrame(
        {
            "file_sha256": [sha],
            "source_id": [contract.source_id],
            "delivery_seq": [seq],
            "release": [contract.release],
            "snapshot": [contract.snapshot],
            "loaded_at": [datetime.now(UTC).replace(tzinfo=None)],
        },
        schema={
            "file_sha256": pl.String,
            "source_id": pl.String,
            "delivery_seq": pl.Int64,
            "release": pl.Int32,
            "snapshot": pl.Boolean,
            "loaded_at": pl.Datetime("us"),
        },
    )


def _contests(contests: pl.DataFrame) -> dict:
    """The contests a general election's sample counts, as listed, and how many more."""
    listed = contests.sort(["declared", "contest_id"], descending=[True, False]).select(
        "contest_id", "contest_name", "district_level"
    )
    return {
        "contests": tuple(listed.head(LABELS_SHOWN).iter_rows()),
        "more_contests": max(listed.height - LABELS_SHOWN, 0),
    }


def _labels(kept: pl.DataFrame, contract: Contract, election: Election) -> dict:
    """The candidate labels of the rows the contract keeps (`kept`: contract_rows), with the
    candidate each maps to (in a general election every label not aliased to a count is a
    candidate of its contest)."""
    given = long_labels(kept, contract)
    contract = with_spellings(contract, given, election)  # as apply_contract reads them
    if election.is_general:
        known = {**{text: text for text in given}, **contract.aliases}
    else:
        known = {**{c: c for c in election.candidate_ids}, **contract.aliases}
    label = pl.col(contract.long_candidate).fill_null("").str.strip_chars()
    counted = (
        kept.group_by(label.alias("label"))
        .agg(pl.len().alias("rows"))
        .with_columns(pl.col("label").is_in(list(known)).alias("_known"))
        .sort("_known", pl.col("rows"), "label", descending=[False, True, False])
    )
    labels = tuple(
        Label(text, known.get(text), int(n))
        for text, n in counted.select("label", "rows").head(LABELS_SHOWN).iter_rows()
    )
    return {"labels": labels, "more_labels": max(counted.height - LABELS_SHOWN, 0)}


def _without_cut_tally(frame: pl.DataFrame, contract: Contract) -> tuple[pl.DataFrame, int]:
    """A long feed's sample less the trailing rows of its last tally (those whose key columns
    equal the last row's), which the sample may have cut short of some candidates."""
    keys = [c for c in contract.line_keys() if c in frame.columns]
    if not keys or not frame.height:
        return frame, 0
    same = pl.all_horizontal(
        [pl.col(c).fill_null("") == pl.col(c).fill_null("").last() for c in keys]
    )
    # the trailing run of rows equal to the last one on the keys
    tail = frame.select(same.alias("s"))["s"].to_list()
    cut = 0
    for value in reversed(tail):
        if not value:
            break
        cut += 1
    return frame.head(frame.height - cut), cut


def _judge(checks: list[FileCheck], evidence: pl.DataFrame, rules) -> list[FileCheck]:
    """The rules run once over every file's evidence; each file gets its breaches."""
    failures = validate(evidence, rules, "check")
    issues = issues_frame(evidence, failures, rules=rules).with_columns(
        (pl.col("tally_id") // ROW_SPAN).alias("_seq")
    )
    checked = {r.id: r for r in rules}  # as applicable() worded them (E6 with ballots)
    judged = []
    for seq, check in enumerate(checks, start=1):
        own = issues.filter(pl.col("_seq") == seq)
        breaches = []
        for rule_id in failures.checked:
            hits = own.filter(rule_id=rule_id).sort("source_row")
            if not hits.height:
                continue
            rule = checked.get(rule_id, RULES_BY_ID[rule_id])
            examples = tuple(
                Example(int(row), code, observed)
                for row, code, observed in hits.select("source_row", "tally_code", "observed")
                .head(EXAMPLES)
                .iter_rows()
            )
            breaches.append(Breach(rule.id, rule.severity, rule.description, hits.height, examples))
        errors = own.filter(severity=ERROR)["tally_id"]
        flagged = own.filter(~pl.col("tally_id").is_in(errors.implode()))["tally_id"]
        judged.append(
            _replace(
                check,
                {
                    "breaches": tuple(breaches),
                    "quarantined": errors.n_unique(),
                    "flagged": flagged.n_unique(),
                },
            )
        )
    return judged
