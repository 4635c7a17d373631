"""The mart registry: every published mart declared once.

A declaration says what the mart is (name = its table in the published file, grain,
description), its columns (DuckDB type and description each, in published order), which step
builds it and how an incremental run updates it. Everything else reads it: the asset keys and
the marts asset's specs (orchestration/assets/), writing the pending file and publishing
(warehouse/publish.py, which creates each table from its declaration), the incremental
put-back (warehouse/mart_updates.py), COMMENT ON (warehouse/mart_comments.py) and
docs/data-dictionary.md (warehouse/data_dictionary.py).

Columns whose names depend on the election (a code column per geography level, a delta column
per candidate) are declared as families; the per-rule columns of `quality_summary` are
generated from the rule catalogue, so a new rule is declared and documented the day it is added.

Descriptions are written for an analyst or observer who has only the published file: units,
where a number comes from, what a null means, and whether a share is 0–1 or a percentage.

Adding a mart: declare it in MARTS below, and give it a build function (for the marts step:
an entry in orchestration/mart_builds.py's BUILDS; later steps write theirs into the
warehouse's marts schema), then run `tallyhouse docs`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from expectations.rules import RULES, Rule
from transforms.model import Election


class Step(StrEnum):
    """Which step builds the mart."""

    MARTS = "marts"  # the marts step, from the staged tallies (orchestration/mart_builds.py)
    PROJECTION = "projection"  # later steps, into the warehouse's marts schema
    FORENSICS = "forensics"
    PUBLISH = "publish"  # the publish step itself (history snapshot, publication stamp)


class Update(StrEnum):
    """How an incremental run (the last change applied to the published marts) updates it."""

    SUMMED = "summed"  # the touched units' rows are taken out and put back updated
    BY_ROWS = "by_rows"  # the rows keyed (`keys`) by changed tallies or units are swapped
    REPLACED = "replaced"  # small: rebuilt whole
    KEPT = "kept"  # left as published (incremental runs only happen with a single source)
    ADDED = "added"  # built after the marts step, by a later step, on every run


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type as duckdb_columns() reports it
    description: str


@dataclass(frozen=True)
class Family:
    """Columns named after the election (levels, candidates): one per level or candidate."""

    shown_as: str  # how the data dictionary names the family, e.g. `<level>_code`
    type: str
    names: Callable[[Election], list[str]]
    regex: str  # matches a member's name; its first group is the level or candidate
    describe: Callable[[str], str]  # a member's description from that group
    summary: str  # the family's description in the data dictionary


@dataclass(frozen=True)
class Mart:
    name: str  # its table in the published file
    grain: str  # one row per …
    description: str
    columns: tuple[Column | Family, ...]
    step: Step
    update: Update
    keys: tuple[str, ...] = ()  # Update.BY_ROWS: the columns naming the changed rows

    @property
    def comment(self) -> str:
        return f"One row per {self.grain}. {self.description}"

    def schema(self, election: Election) -> dict[str, str]:
        """Column name → DuckDB type, in published order, for this election."""
        found = {}
        for item in self.columns:
            if isinstance(item, Family):
                found.update(dict.fromkeys(item.names(election), item.type))
            else:
                found[item.name] = item.type
        return found

    def describe(self, column: str) -> str | None:
        for item in self.columns:
            if isinstance(item, Column) and item.name == column:
                return item.description
        for item in self.columns:
            found = re.fullmatch(item.regex, column) if isinstance(item, Family) else None
            if found:
                return item.describe(found.group(1))
        return None


# Columns shared by many marts, worded once.
SOURCE = (
    "The feed's supplier (election configuration `sources`), e.g. `opposition`. Sources are "
    "never summed together: every figure is per source."
)
CONTEST = (
    "The contest (docs/canonical-model.md): an election of one contest has one, the election's "
    "own id; a general election one per office and district."
)
LEVEL = (
    "Geography level of the unit: `national` or one of the election's levels, broadest first "
    "(e.g. state, municipality, parish, centre, table)."
)
UNIT_CODE = (
    "Code of the unit at that level, unique within the level across the election; `national` "
    "for the national row."
)
UNIT_NAME = (
    "Name of the unit from the registry, or from the feeds where there is no registry (then the "
    "code when no feed names it)."
)
PARENT_CODE = "Code of the unit one level up; `national` for first-level units, null for national."
CANDIDATE_ID = (
    "Candidate's stable code from the election configuration, e.g. `c01` or `EG`; `_other` for "
    "the valid votes of no declared candidate (write-ins, 'others'), a line present only when a "
    "contract maps `other_votes`."
)
CANDIDATE_NAME = (
    "Candidate's name as given in the election configuration; `Other candidates (not declared)` "
    "for `_other`."
)
TALLY_CODE = "Code of the tally's unit (the lowest level, e.g. a voting table)."
VOTES = "Votes for the candidate summed over the accepted tallies under the unit (a count)."
SHARE = (
    "The candidate's votes divided by the unit's valid votes (declared candidates' and `_other` "
    "votes): a fraction 0–1, not a percentage; null when the unit has no valid votes."
)
RANK = (
    "1 + the number of declared candidates with strictly more votes in the unit (ties share the "
    "better rank); null for `_other`, never ranked."
)
REGISTERED = (
    "Registered voters summed over the accepted tallies' units that have a list of registered "
    "voters (units without one, see units_without_list, add nothing); null when any tally of a "
    "unit with a list lacks the figure (a partial sum would mislead)."
)
VALID = (
    "Valid votes (declared candidates' and other votes) summed over all accepted tallies, with "
    "or without a list; null if any tally lacks it."
)
TOTAL = (
    "Ballots cast (as declared on the sheets, else valid + null + blank; in a vote-for-N contest "
    "that sum is N marks a ballot, so divided by N, rounded up) summed over all accepted "
    "tallies, units without a list of registered voters included; null if any tally lacks it."
)
TURNOUT = (
    "Ballots of the units with a list, (total_votes − votes_without_list) / registered, as a "
    "fraction 0–1 (not a percentage); null when registered voters are unknown or zero. Units "
    "without a list never count in it: their ballots are in votes_without_list."
)
UNITS_WITHOUT_LIST = (
    "Accepted tallies under the unit whose unit has no list of registered voters (the contract's "
    "`registered.absent_when`, e.g. special polling stations); 0 when every unit has one."
)
VOTES_WITHOUT_LIST = (
    "Ballots cast (as total_votes) at those units, part of total_votes but not of turnout; 0 "
    "when every unit has a list; null if any of those tallies lacks the figure."
)
EXPECTED = (
    "Tallies expected under the unit: from the registry (of the contest: the units where it is "
    "on the ballot, where the registry lists each unit's contests), or only nationally from the "
    "election configuration; null when unknown."
)
COUNTED = "Tally units under the unit with an accepted (not quarantined) current tally."
PERCENT_REPORTING = (
    "counted × 100 / expected: a percentage 0–100 (not a fraction); null when expected is unknown."
)
FILE_NAME = "Name of the landed file the row came from."
SOURCE_ROW = "Data row in that file (1 = the first row after the header)."
DELIVERY_SEQ = "Sequence number of the delivery (landed file) in `raw.deliveries`, in load order."


def _level_code(level: str) -> str:
    return f"Code of the tally's {level} unit (from the feed, as in `staged.tallies`)."


LEVEL_CODES = Family(
    "<level>_code",
    "VARCHAR",
    lambda election: election.code_columns,
    r"([a-z][a-z0-9_]*)_code",
    _level_code,
    "Code of the tally's unit at each geography level of the election, one column per level "
    "(e.g. `state_code` … `table_code`).",
)
DELTAS = Family(
    "delta_<line>",
    "BIGINT",
    lambda election: [f"delta_{c}" for c in election.candidate_ids],
    r"delta_([A-Za-z][A-Za-z0-9_]*)",
    lambda c: (
        f"Votes on line {c} (candidate {c}; in a general election the contest's line {c}, "
        "numbered over all its districts and named in reconciliation_lines) in source_b minus "
        "source_a for the compared unit; null when the unit or the line is in one source only."
    ),
    "Per line: votes in source_b minus source_a for the compared unit, one column per "
    "candidate in an election of one contest; in a general election one per line of the "
    "contest, numbered over all its districts (`delta_p001` = the contest's first line), the "
    "candidate named in `reconciliation_lines` "
    "(a column per candidate of 308 contests would be thousands). Null when the unit or the "
    "line is in one source only.",
)


def rule_column(rule: Rule) -> str:
    action = "quarantined, never counted" if rule.severity == "error" else "flagged, still counted"
    return (
        f"Tallies under the unit breaking rule {rule.id} ({rule.severity}: {action}): "
        f"{rule.description}"
    )


RULE_COLUMNS = tuple(Column(r.id.lower(), "BIGINT", rule_column(r)) for r in RULES)

MARTS: tuple[Mart, ...] = (
    Mart(
        "results",
        "source, contest, unit (every level, district and national), candidate",
        "Votes, share of the unit's valid votes and rank per candidate, from accepted tallies "
        "only (quarantined tallies never count).",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column("level", "VARCHAR", LEVEL),
            Column("unit_code", "VARCHAR", UNIT_CODE),
            Column("unit_name", "VARCHAR", UNIT_NAME),
            Column("parent_code", "VARCHAR", PARENT_CODE),
            Column("candidate_id", "VARCHAR", CANDIDATE_ID),
            Column("candidate_name", "VARCHAR", CANDIDATE_NAME),
            Column("votes", "BIGINT", VOTES),
            Column("share", "DOUBLE", SHARE),
            Column("rank", "INTEGER", RANK),
        ),
        Step.MARTS,
        Update.SUMMED,
    ),
    Mart(
        "turnout",
        "source, unit",
        "Registered voters, valid, null, blank and total ballots and turnout per unit, from "
        "accepted tallies only.",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column("level", "VARCHAR", LEVEL),
            Column("unit_code", "VARCHAR", UNIT_CODE),
            Column("unit_name", "VARCHAR", UNIT_NAME),
            Column("parent_code", "VARCHAR", PARENT_CODE),
            Column("registered", "BIGINT", REGISTERED),
            Column("valid_votes", "BIGINT", VALID),
            Column(
                "null_votes",
                "BIGINT",
                "Null (spoiled) ballots summed over the accepted tallies; null if any tally "
                "lacks the figure.",
            ),
            Column(
                "blank_votes",
                "BIGINT",
                "Blank ballots summed over the accepted tallies; null if any tally lacks the "
                "figure (some feeds carry none).",
            ),
            Column("total_votes", "BIGINT", TOTAL),
            Column("turnout", "DOUBLE", TURNOUT),
            Column("units_without_list", "BIGINT", UNITS_WITHOUT_LIST),
            Column("votes_without_list", "BIGINT", VOTES_WITHOUT_LIST),
        ),
        Step.MARTS,
        Update.SUMMED,
    ),
    Mart(
        "coverage",
        "source, unit",
        "How much of the unit has reported: tallies expected, received and counted. Counts tally"
        " units (one per table, however many versions arrived).",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column("level", "VARCHAR", LEVEL),
            Column("unit_code", "VARCHAR", UNIT_CODE),
            Column("unit_name", "VARCHAR", UNIT_NAME),
            Column("expected", "BIGINT", EXPECTED),
            Column(
                "received",
                "BIGINT",
                "Tally units under the unit that the source delivered, accepted or not.",
            ),
            Column("counted", "BIGINT", COUNTED),
            Column("percent_reporting", "DOUBLE", PERCENT_REPORTING),
        ),
        Step.MARTS,
        Update.SUMMED,
    ),
    Mart(
        "quality_summary",
        "source, unit (every level above the tally, and national)",
        "What the quality gate did per unit: staged tally rows received, accepted, quarantined "
        "and flagged, and how many broke each rule. Counts staged rows, so a unit delivered "
        "twice with different numbers (E5) counts twice.",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column("level", "VARCHAR", LEVEL),
            Column("unit_code", "VARCHAR", UNIT_CODE),
            Column("unit_name", "VARCHAR", UNIT_NAME),
            Column(
                "received", "BIGINT", "Staged tally rows under the unit (every version delivered)."
            ),
            Column(
                "accepted",
                "BIGINT",
                "Tally rows that broke no error rule (they count in the results).",
            ),
            Column(
                "quarantined",
                "BIGINT",
                "Tally rows that broke at least one error rule (E…): never counted.",
            ),
            Column(
                "flagged",
                "BIGINT",
                "Tally rows that broke at least one warning rule (W…): counted, but worth a look.",
            ),
            *RULE_COLUMNS,
        ),
        Step.MARTS,
        Update.SUMMED,
    ),
    Mart(
        "quality_issues",
        "quarantined or flagged tally and broken rule",
        "Every tally the gate quarantined or flagged, once per rule it broke, with its "
        "geography, the values that broke the rule and the file and row it came from.",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column(
                "rule_id",
                "VARCHAR",
                "Rule broken (E1–E8 errors, W1–W3 warnings); see docs/quality.md.",
            ),
            Column(
                "severity",
                "VARCHAR",
                "`error` (the tally is quarantined) or `warn` (flagged, still counted; an "
                "overridden error rule is `warn`).",
            ),
            Column(
                "status",
                "VARCHAR",
                "`quarantined` (error rule) or `flagged` (warning rule, or an error rule the "
                "election's quality policy demotes to a warning).",
            ),
            Column("rule_description", "VARCHAR", "The rule in one line, from the rule catalogue."),
            Column("tally_code", "VARCHAR", TALLY_CODE),
            LEVEL_CODES,
            Column(
                "observed",
                "VARCHAR",
                "The values that broke the rule, as `name=value` pairs (e.g. `votes_cast=190, "
                "registered=200`).",
            ),
            Column(
                "overridden",
                "BOOLEAN",
                "True when the election's quality policy (election.toml [quality.override]) "
                "demotes this error rule to a warning for the source: the tally is counted.",
            ),
            Column(
                "override_reason",
                "VARCHAR",
                "The override's documented reason; null when not overridden.",
            ),
            Column("file_name", "VARCHAR", FILE_NAME),
            Column(
                "file_sha256", "VARCHAR", "SHA-256 of the landed file: identifies its exact bytes."
            ),
            Column("source_row", "BIGINT", SOURCE_ROW),
            Column("delivery_seq", "BIGINT", DELIVERY_SEQ),
        ),
        Step.MARTS,
        Update.BY_ROWS,
        keys=("delivery_seq", "source_row"),
    ),
    Mart(
        "reconciliation",
        "pair of sources, contest, compared unit (accepted tallies)",
        "Two sources compared per contest and unit: whether they agree, differ (and by how many "
        "votes per line), or the unit is in one source only. Two sources at the polling units "
        "are compared tally by tally (level = the tally level); a source above them (a ward's "
        "or a city-wide canvass, contract `source.level`) is compared with the other's accepted "
        "tallies rolled up to its level, over the contests it reports. The same columns whatever"
        " the number of sources: empty with fewer than two. Which candidate differs: "
        "`reconciliation_lines` (one row per line), since a general election's hundreds of "
        "contests cannot each have a column per candidate.",
        (
            Column("source_a", "VARCHAR", "First source of the pair (alphabetical order)."),
            Column(
                "source_b", "VARCHAR", "Second source of the pair; deltas are source_b − source_a."
            ),
            Column("contest_id", "VARCHAR", CONTEST),
            Column(
                "level",
                "VARCHAR",
                "Level of the compared unit: the tally level for two sources at the polling "
                "units, else the level of the higher of the two sources (`national` for a "
                "city-wide or national canvass).",
            ),
            Column(
                "unit_code",
                "VARCHAR",
                "Code of the compared unit at `level` (the tally's code at the polling units; "
                "`national` for the whole area).",
            ),
            LEVEL_CODES,
            Column(
                "status",
                "VARCHAR",
                "`agree` (same votes on every line), `differ`, `only_in_a` or `only_in_b`.",
            ),
            Column(
                "differing_candidates",
                "INTEGER",
                "Lines (candidates; in a general election also other, null and blank votes) "
                "whose votes differ or that one source lacks; 0 when the unit is in one source "
                "only (see status).",
            ),
            Column(
                "votes_apart",
                "BIGINT",
                "Sum over lines of |delta| (a line one source lacks counts its votes): total "
                "votes the two sources disagree by; 0 when the unit is in one source only.",
            ),
            DELTAS,
        ),
        Step.MARTS,
        Update.KEPT,
    ),
    Mart(
        "reconciliation_lines",
        "pair of sources, contest, compared unit, line (accepted tallies)",
        "The reconciliation line by line: both sources' votes for each candidate (and, in a "
        "general election, other, null and blank votes) of a contest at a compared unit, and "
        "the difference. Long, so that any contest's differing candidate is one filter away "
        "(`where status <> 'agree'`) whatever the number of contests and candidates. The same "
        "columns whatever the number of sources: empty with fewer than two.",
        (
            Column("source_a", "VARCHAR", "First source of the pair (alphabetical order)."),
            Column("source_b", "VARCHAR", "Second source of the pair; delta is b − a."),
            Column("contest_id", "VARCHAR", CONTEST),
            Column("level", "VARCHAR", "Level of the compared unit (see reconciliation.level)."),
            Column("unit_code", "VARCHAR", "Code of the compared unit at `level`."),
            LEVEL_CODES,
            Column(
                "candidate_id",
                "VARCHAR",
                "The line's candidate; `_other`, `_null`, `_blank` for a general election's "
                "other (write-in), null (over) and blank (under) votes.",
            ),
            Column("candidate_name", "VARCHAR", CANDIDATE_NAME),
            Column(
                "line",
                "VARCHAR",
                "The line as `delta_<line>` names it in reconciliation: the candidate id in an "
                "election of one contest, the contest's line number over all its districts "
                "(`p001`, …) in a general election.",
            ),
            Column(
                "status",
                "VARCHAR",
                "`agree`, `differ`, `only_in_a` or `only_in_b` (the line or its unit is in one "
                "source only).",
            ),
            Column("votes_a", "BIGINT", "source_a's votes for the line; null when it lacks it."),
            Column("votes_b", "BIGINT", "source_b's votes for the line; null when it lacks it."),
            Column("delta", "BIGINT", "votes_b − votes_a; null when one source lacks the line."),
        ),
        Step.MARTS,
        Update.KEPT,
    ),
    Mart(
        "reconciliation_summary",
        "pair of sources, contest, compared level, unit (that level and above, national)",
        "The reconciliation rolled up: compared units agreeing, differing or in one source only"
        " per unit at the compared level and every level above it. The same columns whatever "
        "the number of sources: empty with fewer than two.",
        (
            Column("source_a", "VARCHAR", "First source of the pair (alphabetical order)."),
            Column("source_b", "VARCHAR", "Second source of the pair."),
            Column("contest_id", "VARCHAR", CONTEST),
            Column(
                "compared_level",
                "VARCHAR",
                "Level of the units compared (reconciliation.level): the tally level, or a "
                "higher source's level.",
            ),
            Column("level", "VARCHAR", LEVEL),
            Column("unit_code", "VARCHAR", UNIT_CODE),
            Column("unit_name", "VARCHAR", UNIT_NAME),
            Column(
                "agree",
                "BIGINT",
                "Compared units under the unit where both sources give the same votes.",
            ),
            Column(
                "differ",
                "BIGINT",
                "Compared units under the unit where both sources have it but the votes differ.",
            ),
            Column("only_in_a", "BIGINT", "Compared units under the unit only source_a has."),
            Column("only_in_b", "BIGINT", "Compared units under the unit only source_b has."),
            Column(
                "votes_apart",
                "BIGINT",
                "Total votes the two sources disagree by under the unit (sum of |delta| over "
                "lines and compared units).",
            ),
        ),
        Step.MARTS,
        Update.KEPT,
    ),
    Mart(
        "announced_vs_tallied",
        "announced bulletin, source, contest, candidate",
        "Totals announced by the electoral authority (elections/<id>/announced.toml) set against"
        " each source's tallies, with the votes the uncounted tallies would have to hold for the"
        " announcement to be reachable. Empty where nothing was announced.",
        (
            Column("bulletin_id", "VARCHAR", "Identifier of the announced bulletin, e.g. `cne_1`."),
            Column("bulletin", "VARCHAR", "The bulletin's name, as configured."),
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column("candidate_id", "VARCHAR", CANDIDATE_ID),
            Column("candidate_name", "VARCHAR", CANDIDATE_NAME),
            Column("announced_votes", "BIGINT", "Votes the bulletin announced for the candidate."),
            Column(
                "announced_share",
                "DOUBLE",
                "Announced votes / the bulletin's announced valid votes, 0–1; null when the "
                "bulletin gave no valid-vote total.",
            ),
            Column(
                "tallied_votes",
                "BIGINT",
                "The candidate's national votes in this source's accepted tallies.",
            ),
            Column(
                "tallied_share", "DOUBLE", "Tallied votes / the source's national valid votes, 0–1."
            ),
            Column(
                "difference",
                "BIGINT",
                "announced_votes − tallied_votes (negative: the tallies already hold more than "
                "was announced).",
            ),
            Column(
                "announced_counted_share",
                "DOUBLE",
                "Share of tallies the bulletin said were counted, 0–1; null when not stated.",
            ),
            Column(
                "tallies_counted_share",
                "DOUBLE",
                "Counted / expected tallies in this source, 0–1; null when the expected number "
                "is unknown.",
            ),
            Column(
                "uncounted_tallies",
                "BIGINT",
                "Expected − counted tallies; null when expected is unknown.",
            ),
            Column(
                "votes_needed",
                "BIGINT",
                "Fewest votes the uncounted tallies must hold for the candidate to reach the "
                "announced figure (0 when already reached).",
            ),
            Column(
                "uncounted_capacity",
                "BIGINT",
                "Most ballots the uncounted tallies could hold: registered voters of uncounted "
                "units where a registry gives every one of them a positive figure, else "
                "uncounted tallies × ballots of an average counted tally; null when unknown.",
            ),
            Column(
                "capacity_basis",
                "VARCHAR",
                "How uncounted_capacity was estimated: `registered voters of uncounted units` or"
                " `counted turnout`.",
            ),
            Column(
                "needed_share_of_capacity",
                "DOUBLE",
                "votes_needed / uncounted_capacity, 0–1 (above 1: impossible); null without a "
                "capacity.",
            ),
            Column(
                "possible",
                "BOOLEAN",
                "Whether the announced figure can be the candidate's final total: never below "
                "the tallied votes, and needing no more than the capacity. Null without a "
                "capacity.",
            ),
            Column(
                "tallied_exceeds_announced",
                "BOOLEAN",
                "True when the tallies already hold more votes for the candidate than were "
                "announced.",
            ),
            Column(
                "bulletin_votes_needed",
                "BIGINT",
                "Votes the uncounted tallies must hold for every candidate of the bulletin to "
                "reach their announced figures at once.",
            ),
            Column(
                "bulletin_possible",
                "BOOLEAN",
                "Whether the whole bulletin is reachable from the same uncounted tallies; null "
                "without a capacity.",
            ),
        ),
        Step.MARTS,
        Update.REPLACED,
    ),
    Mart(
        "contest_status",
        "source, contest, district (its district level's units, or national)",
        "Per contest and district: the leaders up to the seats, the margin between the last "
        "winner and the first loser, the most ballots still to arrive, and whether the district "
        "is decided, by arithmetic only (docs/contest-status.md).",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column("contest_name", "VARCHAR", "The contest's name."),
            Column(
                "level",
                "VARCHAR",
                "The contest's district level; `national` for a contest of the whole election.",
            ),
            Column(
                "unit_code", "VARCHAR", "The district's code; `national` for the national unit."
            ),
            Column("unit_name", "VARCHAR", UNIT_NAME),
            Column("seats", "INTEGER", "Winners the district elects."),
            Column("vote_for", "INTEGER", "Votes each ballot may carry in the contest."),
            Column("counted", "BIGINT", "Tallies of the contest counted in the district."),
            Column(
                "expected",
                "BIGINT",
                "Tallies of the contest expected in the district; null when unknown.",
            ),
            Column(
                "ballots_counted",
                "BIGINT",
                "Ballots of the counted tallies (turnout's "
                "total_votes); null when a tally lacks the figure.",
            ),
            Column(
                "leaders",
                "VARCHAR[]",
                "candidate_ids of the declared candidates in places 1 "
                "… seats with at least one vote, most votes first; never `_other`.",
            ),
            Column("leader_names", "VARCHAR[]", "Their names, in the same order."),
            Column("last_winner_votes", "BIGINT", "Votes of the candidate in place `seats`."),
            Column(
                "first_loser_votes",
                "BIGINT",
                "Votes of the candidate in place `seats` + 1; 0 when there is none.",
            ),
            Column("margin", "BIGINT", "last_winner_votes − first_loser_votes; 0 is a tie."),
            Column(
                "other_votes",
                "BIGINT",
                "Votes of the `_other` line (undeclared candidates); they count against `decided`.",
            ),
            Column(
                "outstanding_ballots",
                "BIGINT",
                "The most ballots still to arrive (an upper bound): 0 when every expected "
                "tally is counted, else the registered voters of the units where the contest is "
                "on the ballot not yet counted (a registry listing each unit's contests); null "
                "when nothing bounds it.",
            ),
            Column("outstanding_basis", "VARCHAR", "How outstanding_ballots was bounded, or null."),
            Column(
                "decided",
                "BOOLEAN",
                "True only when margin > outstanding_ballots and "
                "last_winner_votes − other_votes > outstanding_ballots; never on a tie.",
            ),
            Column("status", "VARCHAR", "`no votes`, `decided`, `tied` or `leading`."),
        ),
        Step.MARTS,
        Update.REPLACED,
    ),
    Mart(
        "amendments",
        "tally version no longer current",
        "Every superseded or withdrawn version of a tally unit, with the delivery, file and row "
        "that replaced it: the change history behind the results.",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("tally_code", "VARCHAR", TALLY_CODE),
            Column(
                "status",
                "VARCHAR",
                "`superseded` (a later delivery or release replaced it) or `withdrawn` (a "
                "complete snapshot release left the unit out, or an operator withdrew its "
                "delivery: `withdrawn_because`).",
            ),
            Column("delivery_seq", "BIGINT", DELIVERY_SEQ + " (of this old version)"),
            Column("file_name", "VARCHAR", FILE_NAME + " (the old version)"),
            Column("source_row", "BIGINT", SOURCE_ROW + " (the old version)"),
            Column("valid_votes", "BIGINT", "Valid votes in the old version."),
            Column(
                "total_votes", "BIGINT", "Total ballots in the old version; null when not declared."
            ),
            Column(
                "superseded_by_delivery",
                "BIGINT",
                "Delivery that replaced it; null when withdrawn.",
            ),
            Column("superseded_by_file", "VARCHAR", "File that replaced it; null when withdrawn."),
            Column(
                "superseded_by_row", "BIGINT", "Row of the replacing file; null when withdrawn."
            ),
            Column(
                "new_valid_votes",
                "BIGINT",
                "Valid votes in the replacing version; null when withdrawn.",
            ),
            Column(
                "new_total_votes",
                "BIGINT",
                "Total ballots in the replacing version; null when withdrawn or not declared.",
            ),
            Column(
                "withdrawn_because",
                "VARCHAR",
                "Who withdrew the old version's delivery, when and why (`tallyhouse withdraw`); "
                "null unless an operator withdrew it.",
            ),
        ),
        Step.MARTS,
        Update.BY_ROWS,
        keys=("source_id", "tally_code"),
    ),
    Mart(
        "results_history",
        "published run, source, national or first-level unit, candidate",
        "A snapshot appended by every published run: national and first-level (state) results, "
        "turnout and coverage at that moment. The election night's curve of reporting and "
        "shares.",
        (
            Column(
                "run_id",
                "VARCHAR",
                "Dagster run that published the snapshot (see `tallyhouse ui`).",
            ),
            Column(
                "published_at", "TIMESTAMP", "When the snapshot was published (UTC, no time zone)."
            ),
            Column("deliveries", "BIGINT", "Feed deliveries (files) loaded by then."),
            Column("last_file", "VARCHAR", "Name of the latest delivery included; null when none."),
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column("level", "VARCHAR", "`national` or the election's first level (e.g. `state`)."),
            Column("unit_code", "VARCHAR", UNIT_CODE),
            Column("unit_name", "VARCHAR", UNIT_NAME),
            Column("candidate_id", "VARCHAR", CANDIDATE_ID),
            Column("candidate_name", "VARCHAR", CANDIDATE_NAME),
            Column("votes", "BIGINT", VOTES + " At that run."),
            Column("share", "DOUBLE", SHARE),
            Column("rank", "INTEGER", RANK),
            Column("registered", "BIGINT", REGISTERED),
            Column("valid_votes", "BIGINT", VALID),
            Column("total_votes", "BIGINT", TOTAL),
            Column("turnout", "DOUBLE", TURNOUT),
            Column("expected", "BIGINT", EXPECTED),
            Column("counted", "BIGINT", COUNTED),
            Column("percent_reporting", "DOUBLE", PERCENT_REPORTING),
        ),
        Step.PUBLISH,
        Update.ADDED,
    ),
    Mart(
        "publication",
        "published file (a single row)",
        "Which run published this file and when: cite it with any figure taken from the file.",
        (
            Column("run_id", "VARCHAR", "Dagster run that built and published this file."),
            Column("published_at", "TIMESTAMP", "When the file was published (UTC, no time zone)."),
            Column(
                "staged_generation",
                "VARCHAR",
                "Which state of the working warehouse these marts reflect (staging "
                "lineage:generation). A run updates the marts by the last drop only when this is"
                " the generation before its own; otherwise it rebuilds them whole.",
            ),
        ),
        Step.PUBLISH,
        Update.ADDED,
    ),
    Mart(
        "projection",
        "source, contest, district, candidate",
        "Estimated final national result from the tallies counted so far, with 95 % intervals "
        "and worst-case bounds for the tallies still missing, per contest (a contest elected in "
        "districts: within each district, `level` and `unit_code`).",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column(
                "level",
                "VARCHAR",
                "The district level the row projects: national for a contest of the whole "
                "area, else the contest's district level.",
            ),
            Column(
                "unit_code",
                "VARCHAR",
                "The district the row projects (national for a contest of the whole area).",
            ),
            Column("candidate_id", "VARCHAR", CANDIDATE_ID),
            Column("candidate_name", "VARCHAR", CANDIDATE_NAME),
            Column(
                "counted_votes",
                "BIGINT",
                "Votes for the candidate in the accepted tallies counted so far.",
            ),
            Column(
                "projected_votes",
                "DOUBLE",
                "Estimated final votes once every expected tally is in (a count, fractional "
                "because it is an estimate).",
            ),
            Column("lower_95", "DOUBLE", "Lower end of the 95 % interval of the final votes."),
            Column("upper_95", "DOUBLE", "Upper end of the 95 % interval of the final votes."),
            Column(
                "projected_share",
                "DOUBLE",
                "Estimated final share of valid votes, 0–1 (not a percentage).",
            ),
            Column(
                "share_lower_95",
                "DOUBLE",
                "Lower end of the 95 % interval of the final share, 0–1.",
            ),
            Column(
                "share_upper_95",
                "DOUBLE",
                "Upper end of the 95 % interval of the final share, 0–1.",
            ),
            Column(
                "worst_case_min",
                "BIGINT",
                "Final votes if the candidate gets none of the missing tallies' votes (= "
                "counted_votes).",
            ),
            Column(
                "worst_case_max",
                "BIGINT",
                "Final votes if the candidate gets every vote the missing tallies could hold.",
            ),
            Column("tallies_counted", "BIGINT", "Accepted tallies counted so far."),
            Column("tallies_expected", "BIGINT", "Tallies expected in all."),
            Column(
                "weighting",
                "VARCHAR",
                "How missing tallies are weighted: `registered` (by their registered voters) or "
                "`expected_tallies` (by the number of tallies missing).",
            ),
            Column("method", "VARCHAR", "The projection method, in short text."),
        ),
        Step.PROJECTION,
        Update.ADDED,
    ),
    Mart(
        "forensics",
        "source, contest, check and unit or table examined",
        "Statistical screens for anomalies. A flag is a reason to look closer, never proof of "
        "fraud: digit tests in particular are weak on machine-level counts. Per contest, for "
        "the contests with enough accepted tallies.",
        (
            Column("source_id", "VARCHAR", SOURCE),
            Column("contest_id", "VARCHAR", CONTEST),
            Column(
                "check_id",
                "VARCHAR",
                "`F1` last-digit uniformity per state, `F2` table far outside its centre, `F3` "
                "turnout × vote-share fingerprint.",
            ),
            Column("check_name", "VARCHAR", "The check's name, for people."),
            Column("level", "VARCHAR", LEVEL),
            Column("unit_code", "VARCHAR", UNIT_CODE),
            Column("unit_name", "VARCHAR", UNIT_NAME),
            Column(
                "candidate_id",
                "VARCHAR",
                CANDIDATE_ID + " Null where the check is not per candidate.",
            ),
            Column("n", "BIGINT", "Counts or tables examined (a count)."),
            Column(
                "statistic",
                "DOUBLE",
                "The check's test statistic or measure; its meaning depends on check_id (see "
                "detail).",
            ),
            Column(
                "p_value",
                "DOUBLE",
                "Probability of a statistic at least this extreme if nothing were amiss, 0–1; "
                "null where the check is not a statistical test.",
            ),
            Column("flagged", "BOOLEAN", "True when the check flags the unit for a closer look."),
            Column("detail", "VARCHAR", "Why, in words a person can check."),
        ),
        Step.FORENSICS,
        Update.ADDED,
    ),
)

MARTS_BY_NAME = {m.name: m for m in MARTS}


def mart(name: str) -> Mart:
    return MARTS_BY_NAME[name]


_POLARS_TYPES = {
    "VARCHAR": pl.String,
    "BIGINT": pl.Int64,
    "INTEGER": pl.Int32,
    "DOUBLE": pl.Float64,
    "BOOLEAN": pl.Boolean,
    "TIMESTAMP": pl.Datetime("us"),
    "VARCHAR[]": pl.List(pl.String),
}


def empty_mart(name: str, election: Election) -> pl.DataFrame:
    """The mart with its declared columns and no rows."""
    return pl.DataFrame(
        schema={c: _POLARS_TYPES[t] for c, t in mart(name).schema(election).items()}
    )


def built_by(step: Step) -> tuple[Mart, ...]:
    return tuple(m for m in MARTS if m.step == step)


def updated_by(update: Update) -> tuple[Mart, ...]:
    return tuple(m for m in MARTS if m.update == update)


def describe(table: str, column: str) -> str | None:
    found = MARTS_BY_NAME.get(table)
    return found.describe(column) if found else None


def undocumented(columns: Iterable[tuple[str, str]]) -> list[str]:
    """`table` or `table.column` for every (table, column) the registry does not declare."""
    missing = []
    for table, column in columns:
        if table not in MARTS_BY_NAME:
            if table not in missing:
                missing.append(table)
        elif describe(table, column) is None:
            missing.append(f"{table}.{column}")
    return missing


def built_into_warehouse() -> tuple[Mart, ...]:
    """Marts later steps build into the warehouse's marts schema; publishing adds them."""
    return tuple(m for m in MARTS if m.step in (Step.PROJECTION, Step.FORENSICS))
