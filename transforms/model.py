"""The canonical election model: an election's geography levels and candidates.

Pure data: no I/O. See docs/canonical-model.md for the whole model.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
CANDIDATE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
NATIONAL = "national"
# A unit code by default: a letter or digit of any script, then letters, digits, spaces and
# . _ / - , at most 64 characters. A formula (`=HYPERLINK(…)`), a quote or a line break in a
# code column is never a unit (election.toml `codes` sets a level's own pattern).
DEFAULT_CODE_PATTERN = r"^[\p{L}\p{N}][\p{L}\p{N} ._/-]{0,63}$"
ASCII_CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z ._/-]{0,63}$"  # the same over ASCII: a fast sieve
SOURCE_KINDS = ("official", "collected", "observer", "qr-decoded", "synthetic")


class ModelError(ValueError):
    """An election or source description that is itself invalid."""


def identifier(value: str, what: str) -> str:
    """Return value if it is a safe lower-case SQL identifier, else raise naming what it is."""
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ModelError(
            f"{what} {value!r} is not a valid identifier (lower-case letter, then letters, "
            "digits or underscores, at most 63 characters)"
        )
    return value


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    aliases: tuple[str, ...] = ()  # a declared contest's candidate: other spellings in feeds


# A contest's id: what analysts type (`results --contest`) and what every mart is keyed by.
# Discovered contests take the slug of their label (contests.slug); letters of any script.
CONTEST_ID = re.compile(r"^[^\W_][\w-]{0,99}$")


def contest_id(value: str, what: str = "contest id") -> str:
    if not isinstance(value, str) or not CONTEST_ID.match(value):
        raise ModelError(
            f"{what} {value[:120]!r} is not a valid contest id (a letter or digit, then letters, "
            "digits, '-' or '_', at most 100 characters)"
        )
    return value


@dataclass(frozen=True)
class Contest:
    """One contest on the ballot: who is elected, how many, and over which district.

    `district`: the level whose units each elect `seats` winners: an administrative level of the
    election (a ward council is elected per ward), a district level of its own declared in the
    election (districts that do not nest in the administrative levels), or None: the whole
    election area is one district.
    """

    id: str
    name: str
    seats: int = 1  # winners per district
    vote_for: int | None = None  # votes per ballot; None: as many as seats
    district: str | None = None
    candidates: tuple[Candidate, ...] = ()  # declared; a discovered contest lists none
    aliases: tuple[str, ...] = ()  # labels feeds use for it (matched by slug)
    declared: bool = True

    def __post_init__(self) -> None:
        contest_id(self.id)
        if self.seats < 1:
            raise ModelError(f"contest {self.id!r}: seats must be at least 1")
        if self.vote_for is not None and self.vote_for < 1:
            raise ModelError(f"contest {self.id!r}: vote_for must be at least 1")

    @property
    def votes_per_ballot(self) -> int:
        return self.vote_for if self.vote_for is not None else self.seats

    @property
    def candidate_ids(self) -> list[str]:
        return [c.id for c in self.candidates]


@dataclass(frozen=True)
class Source:
    """Who supplied a feed."""

    id: str
    kind: str
    name: str = ""
    # the level its tallies count at (contract `source.level`): None, the polling units (the
    # election's lowest level); a higher level (a ward's or a city-wide canvass) or `national`
    # makes it a source to reconcile against, never a unit of the results (docs/contracts.md)
    level: str | None = None

    def __post_init__(self) -> None:
        identifier(self.id, "source id")
        if self.kind not in SOURCE_KINDS:
            raise ModelError(f"source kind {self.kind!r} is not one of {', '.join(SOURCE_KINDS)}")


# W1 and W2's thresholds as the rule catalogue states them; an election's policy may move them.
W1_TURNOUT, W1_MIN_REGISTERED, W2_MIN_VALID = 0.95, 100, 50


@dataclass(frozen=True)
class RuleOverride:
    """An error rule demoted to a warning, for one source or (source None) every source: its
    tallies are accepted and counted, and the issue is recorded as a warning with the reason."""

    rule: str
    severity: str
    reason: str
    source: str | None = None


@dataclass(frozen=True)
class QualityPolicy:
    """An election's quality policy (election.toml [quality]; docs/quality.md). The defaults are
    the catalogue's: an election without [quality] is judged exactly as before."""

    quarantine_threshold: float | None = None  # None: the settings' default
    w1_turnout: float = W1_TURNOUT
    w1_min_registered: int = W1_MIN_REGISTERED
    w2_min_valid: int = W2_MIN_VALID
    overrides: tuple[RuleOverride, ...] = ()

    def verdict_part(self) -> dict:
        """What changes verdicts (everything but the threshold, which only decides whether a
        run may publish): compared between runs to decide whether the gate must run in full."""
        return {
            "w1_turnout": self.w1_turnout,
            "w1_min_registered": self.w1_min_registered,
            "w2_min_valid": self.w2_min_valid,
            "overrides": [
                {"rule": o.rule, "source": o.source, "severity": o.severity, "reason": o.reason}
                for o in self.overrides
            ],
        }

    def fingerprint(self) -> str:
        """sha256 of verdict_part(): equal fingerprints judge every tally alike."""
        text = json.dumps(self.verdict_part(), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        return {"quarantine_threshold": self.quarantine_threshold, **self.verdict_part()}


@dataclass(frozen=True)
class Election:
    """An election: ordered geography levels (broadest first, the tally's unit last)."""

    id: str
    name: str
    levels: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    sources: tuple[Source, ...] = field(default_factory=tuple)
    expected_tallies: int | None = None  # how many tallies exist in all, where known
    primary_source: str | None = None  # the source shown first where sources tie (the report)
    registry_file: str | None = None  # the registry's file name in the landing folder
    quality: QualityPolicy = field(default_factory=QualityPolicy)
    # level → file name in the landing folder (`code,name`): unit names without a registry
    names_files: tuple[tuple[str, str], ...] = ()
    other_votes: bool = False  # a contract maps other votes: results carry an `_other` line
    # A general election: the contests declared in election.toml (empty: one contest, the
    # election's own, with the election's candidates) ...
    contests: tuple[Contest, ...] = ()
    # ... and whether contracts may discover more from feed columns (contract [contests])
    discovers_contests: bool = False
    # district levels of their own (id → name): contests' districts that do not nest in `levels`
    district_levels: tuple[tuple[str, str], ...] = ()
    # file-name patterns of landing files that are not feeds: never reported as unmatched
    ignored_files: tuple[str, ...] = ()
    # level → the pattern its codes must match (default: DEFAULT_CODE_PATTERN)
    code_patterns: tuple[tuple[str, str], ...] = ()

    def code_pattern(self, level: str) -> str:
        """The pattern a code of `level` must match, else the tally breaks E8."""
        return dict(self.code_patterns).get(level, DEFAULT_CODE_PATTERN)

    def __post_init__(self) -> None:
        identifier(self.id, "election id")
        if len(self.levels) < 1:
            raise ModelError("an election needs at least one geography level")
        for level in self.levels:
            identifier(level, "level")
        if NATIONAL in self.levels:
            raise ModelError(f"level {NATIONAL!r} is implicit and must not be listed")
        if len(set(self.levels)) != len(self.levels):
            raise ModelError("levels must be distinct")
        if not self.candidates and not self.is_general:
            raise ModelError("an election needs at least one candidate")
        self._check_contests()
        ids = [c.id for c in self.candidates]
        for cid in ids:
            if not CANDIDATE_ID.match(cid):
                raise ModelError(
                    f"candidate id {cid!r} must be letters, digits and underscores, starting "
                    "with a letter (it names a column)"
                )
        if len(set(ids)) != len(ids):
            raise ModelError("candidate ids must be distinct")

    def _check_contests(self) -> None:
        ids = [c.id for c in self.contests]
        if len(set(ids)) != len(ids):
            raise ModelError("contest ids must be distinct")
        districts = [d for d, _ in self.district_levels]
        for level in districts:
            identifier(level, "district level")
            if level in self.levels or level == NATIONAL:
                raise ModelError(f"district level {level!r} is already an administrative level")
        for contest in self.contests:
            if contest.district not in (None, *self.levels, *districts):
                raise ModelError(
                    f"contest {contest.id!r}: district {contest.district!r} is neither one of the "
                    f"levels ({', '.join(self.levels)}) nor a declared district level"
                )

    @property
    def is_general(self) -> bool:
        """Several contests (declared or discovered): feeds are staged long, keyed by contest."""
        return bool(self.contests) or self.discovers_contests

    @property
    def default_contest(self) -> Contest:
        """The one contest of an election that declares none: the election's own."""
        return Contest(id=self.id, name=self.name, candidates=self.candidates)

    @property
    def declared_contests(self) -> tuple[Contest, ...]:
        return self.contests or (self.default_contest,)

    @property
    def tally_level(self) -> str:
        """The lowest level: one tally sheet per unit of this level."""
        return self.levels[-1]

    @property
    def candidate_ids(self) -> list[str]:
        return [c.id for c in self.candidates]

    def source_level(self, source_id: str) -> str:
        """The level a source's tallies count at: the tally level unless its contract says a
        higher one (or `national`)."""
        for source in self.sources:
            if source.id == source_id and source.level is not None:
                return source.level
        return self.tally_level

    @property
    def higher_sources(self) -> list[str]:
        """Sources reporting above the polling units: reconciled, never counted in results."""
        return [s.id for s in self.sources if self.source_level(s.id) != self.tally_level]

    def code_column(self, level: str) -> str:
        return f"{level}_code"

    @property
    def result_ids(self) -> list[str]:
        """The results' lines: the declared candidates, then `_other` when a contract maps
        other votes (transforms.feed.OTHER_ID)."""
        return [*self.candidate_ids, "_other"] if self.other_votes else self.candidate_ids

    @property
    def code_columns(self) -> list[str]:
        return [self.code_column(level) for level in self.levels]

    def to_dict(self) -> dict:
        extra = {"other_votes": True} if self.other_votes else {}
        return {
            "id": self.id,
            "name": self.name,
            "levels": list(self.levels),
            "candidates": [{"id": c.id, "name": c.name} for c in self.candidates],
            "sources": [{"id": s.id, "kind": s.kind, "name": s.name} for s in self.sources],
            "expected_tallies": self.expected_tallies,
            "registry": self.registry_file,
            **extra,
        }
