"""The one registry of what every published mart and column means, and its COMMENT ON writer.

Descriptions are written for an analyst or observer who has only the published file: units,
where a number comes from, what a null means, and whether a share is 0–1 or a percentage.
Columns whose names depend on the election (a code column per geography level, a delta column
per candidate) are described by patterns; the per-rule columns of `quality_summary` are generated
from the rule catalogue, so a new rule is documented the day it is added.

At publish time every table and column found in the file gets its comment. A table or column with
no description is published anyway and logged as a warning: refusing to publish results over a
missing sentence would hurt the people waiting for them more than the gap does. The test suite
(tests/test_mart_docs.py) is the gate that keeps the registry complete.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from expectations.rules import RULES, Rule
from warehouse.db import ident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pattern:
    """Columns named after the election (levels, candidates): a regex and a description built
    from its first group."""

    shown_as: str  # how the data dictionary names the family, e.g. `<level>_code`
    regex: str
    describe: Callable[[str], str]
    summary: str  # the family's description in the data dictionary


@dataclass(frozen=True)
class Mart:
    name: str
    grain: str  # one row per …
    description: str
    columns: dict[str, str]
    patterns: tuple[Pattern, ...] = field(default_factory=tuple)

    def describe(self, column: str) -> str | None:
        if column in self.columns:
            return self.columns[column]
        for pattern in self.patterns:
            found = re.fullmatch(pattern.regex, column)
            if found:
                return pattern.describe(found.group(1))
        return None


# Columns shared by many marts, worded once.
SOURCE = (
    "The feed's supplier (election configuration `sources`), e.g. `opposition`. Sources are "
    "never summed together: every figure is per source."
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
CANDIDATE_ID = "Candidate's stable code from the election configuration, e.g. `c01` or `EG`."
CANDIDATE_NAME = "Candidate's name as given in the election configuration."
TALLY_CODE = "Code of the tally's unit (the lowest level, e.g. a voting table)."
VOTES = "Votes for the candidate summed over the accepted tallies under the unit (a count)."
SHARE = (
    "The candidate's votes divided by the unit's valid votes: a fraction 0–1, not a percentage; "
    "null when the unit has no valid votes."
)
RANK = (
    "1 + the number of candidates with strictly more votes in the unit (ties share the better "
    "rank)."
)
REGISTERED = (
    "Registered voters summed over the accepted tallies' units; null when any tally under the "
    "unit lacks the figure (a partial sum would mislead)."
)
VALID = "Valid (candidate) votes summed over the accepted tallies; null if any tally lacks it."
TOTAL = (
    "Ballots cast (as declared on the sheets, else valid + null + blank) summed over the accepted "
    "tallies; null if any tally lacks it."
)
TURNOUT = (
    "total_votes / registered as a fraction 0–1 (not a percentage); null when registered voters "
    "are unknown or zero."
)
EXPECTED = (
    "Tallies expected under the unit: from the registry, or only nationally from the election "
    "configuration; null when unknown."
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


LEVEL_CODES = Pattern(
    "<level>_code",
    r"([a-z][a-z0-9_]*)_code",
    _level_code,
    "Code of the tally's unit at each geography level of the election, one column per level "
    "(e.g. `state_code` … `table_code`).",
)
DELTAS = Pattern(
    "delta_<candidate_id>",
    r"delta_([A-Za-z][A-Za-z0-9_]*)",
    lambda c: (
        f"Votes for candidate {c} in source_b minus source_a for the tally unit; null when the "
        "unit is in one source only."
    ),
    "Per candidate: votes in source_b minus source_a for the tally unit, one column per "
    "candidate; null when the unit is in one source only.",
)


def rule_column(rule: Rule) -> str:
    action = "quarantined, never counted" if rule.severity == "error" else "flagged, still counted"
    return (
        f"Tallies under the unit breaking rule {rule.id} ({rule.severity}: {action}): "
        f"{rule.description}"
    )


MARTS: tuple[Mart, ...] = (
    Mart(
        "results",
        "source, unit (every level and national), candidate",
        "Votes, share of the unit's valid votes and rank per candidate, from accepted tallies "
        "only (quarantined tallies never count).",
        {
            "source_id": SOURCE,
            "level": LEVEL,
            "unit_code": UNIT_CODE,
            "unit_name": UNIT_NAME,
            "parent_code": PARENT_CODE,
            "candidate_id": CANDIDATE_ID,
            "candidate_name": CANDIDATE_NAME,
            "votes": VOTES,
            "share": SHARE,
            "rank": RANK,
        },
    ),
    Mart(
        "turnout",
        "source, unit",
        "Registered voters, valid, null, blank and total ballots and turnout per unit, from "
        "accepted tallies only.",
        {
            "source_id": SOURCE,
            "level": LEVEL,
            "unit_code": UNIT_CODE,
            "unit_name": UNIT_NAME,
            "parent_code": PARENT_CODE,
            "registered": REGISTERED,
            "valid_votes": VALID,
            "null_votes": "Null (spoiled) ballots summed over the accepted tallies; null if any "
            "tally lacks the figure.",
            "blank_votes": "Blank ballots summed over the accepted tallies; null if any tally "
            "lacks the figure (some feeds carry none).",
            "total_votes": TOTAL,
            "turnout": TURNOUT,
        },
    ),
    Mart(
        "coverage",
        "source, unit",
        "How much of the unit has reported: tallies expected, received and counted. Counts tally "
        "units (one per table, however many versions arrived).",
        {
            "source_id": SOURCE,
            "level": LEVEL,
            "unit_code": UNIT_CODE,
            "unit_name": UNIT_NAME,
            "expected": EXPECTED,
            "received": "Tally units under the unit that the source delivered, accepted or not.",
            "counted": COUNTED,
            "percent_reporting": PERCENT_REPORTING,
        },
    ),
    Mart(
        "quality_summary",
        "source, unit (every level above the tally, and national)",
        "What the quality gate did per unit: staged tally rows received, accepted, quarantined "
        "and flagged, and how many broke each rule. Counts staged rows, so a unit delivered "
        "twice with different numbers (E5) counts twice.",
        {
            "source_id": SOURCE,
            "level": LEVEL,
            "unit_code": UNIT_CODE,
            "unit_name": UNIT_NAME,
            "received": "Staged tally rows under the unit (every version delivered).",
            "accepted": "Tally rows that broke no error rule (they count in the results).",
            "quarantined": "Tally rows that broke at least one error rule (E…): never counted.",
            "flagged": "Tally rows that broke at least one warning rule (W…): counted, but "
            "worth a look.",
            **{r.id.lower(): rule_column(r) for r in RULES},
        },
    ),
    Mart(
        "quality_issues",
        "quarantined or flagged tally and broken rule",
        "Every tally the gate quarantined or flagged, once per rule it broke, with its geography, "
        "the values that broke the rule and the file and row it came from.",
        {
            "source_id": SOURCE,
            "rule_id": "Rule broken (E1–E8 errors, W1–W3 warnings); see docs/quality.md.",
            "severity": "`error` (the tally is quarantined) or `warn` (flagged, still counted).",
            "status": "`quarantined` (error rule) or `flagged` (warning rule).",
            "rule_description": "The rule in one line, from the rule catalogue.",
            "tally_code": TALLY_CODE,
            "observed": "The values that broke the rule, as `name=value` pairs "
            "(e.g. `votes_cast=190, registered=200`).",
            "file_name": FILE_NAME,
            "file_sha256": "SHA-256 of the landed file: identifies its exact bytes.",
            "source_row": SOURCE_ROW,
            "delivery_seq": DELIVERY_SEQ,
        },
        (LEVEL_CODES,),
    ),
    Mart(
        "reconciliation",
        "pair of sources, tally unit (accepted tallies)",
        "Two sources compared tally by tally: whether they agree, differ (and by how many votes "
        "per candidate), or the unit is in one source only. Empty (four columns) with fewer than "
        "two sources.",
        {
            "source_a": "First source of the pair (alphabetical order).",
            "source_b": "Second source of the pair; deltas are source_b − source_a.",
            "tally_code": TALLY_CODE,
            "status": "`agree` (same votes for every candidate), `differ`, `only_in_a` or "
            "`only_in_b`.",
            "differing_candidates": "Candidates whose votes differ between the two sources; "
            "0 when the unit is in one source only (see status).",
            "votes_apart": "Sum over candidates of |delta|: total votes the two sources disagree "
            "by; 0 when the unit is in one source only (see status).",
        },
        (LEVEL_CODES, DELTAS),
    ),
    Mart(
        "reconciliation_summary",
        "pair of sources, unit (every level and national)",
        "The reconciliation rolled up: tally units agreeing, differing or in one source only per "
        "unit. Empty with fewer than two sources.",
        {
            "source_a": "First source of the pair (alphabetical order).",
            "source_b": "Second source of the pair.",
            "level": LEVEL,
            "unit_code": UNIT_CODE,
            "unit_name": UNIT_NAME,
            "agree": "Tally units under the unit where both sources give the same votes.",
            "differ": "Tally units under the unit where both sources have a tally but the "
            "votes differ.",
            "only_in_a": "Tally units under the unit that only source_a has.",
            "only_in_b": "Tally units under the unit that only source_b has.",
            "votes_apart": "Total votes the two sources disagree by under the unit "
            "(sum of |delta| over candidates and tally units).",
        },
    ),
    Mart(
        "announced_vs_tallied",
        "announced bulletin, source, candidate",
        "Totals announced by the electoral authority (elections/<id>/announced.toml) set against "
        "each source's tallies, with the votes the uncounted tallies would have to hold for the "
        "announcement to be reachable. Empty where nothing was announced.",
        {
            "bulletin_id": "Identifier of the announced bulletin, e.g. `cne_1`.",
            "bulletin": "The bulletin's name, as configured.",
            "source_id": SOURCE,
            "candidate_id": CANDIDATE_ID,
            "candidate_name": CANDIDATE_NAME,
            "announced_votes": "Votes the bulletin announced for the candidate.",
            "announced_share": "Announced votes / the bulletin's announced valid votes, 0–1; "
            "null when the bulletin gave no valid-vote total.",
            "tallied_votes": "The candidate's national votes in this source's accepted tallies.",
            "tallied_share": "Tallied votes / the source's national valid votes, 0–1.",
            "difference": "announced_votes − tallied_votes (negative: the tallies already hold "
            "more than was announced).",
            "announced_counted_share": "Share of tallies the bulletin said were counted, 0–1; "
            "null when not stated.",
            "tallies_counted_share": "Counted / expected tallies in this source, 0–1; null when "
            "the expected number is unknown.",
            "uncounted_tallies": "Expected − counted tallies; null when expected is unknown.",
            "votes_needed": "Fewest votes the uncounted tallies must hold for the candidate to "
            "reach the announced figure (0 when already reached).",
            "uncounted_capacity": "Most ballots the uncounted tallies could hold: registered "
            "voters of uncounted units where a registry gives them, else uncounted tallies × "
            "ballots of an average counted tally; null when unknown.",
            "capacity_basis": "How uncounted_capacity was estimated: `registered voters of "
            "uncounted units` or `counted turnout`.",
            "needed_share_of_capacity": "votes_needed / uncounted_capacity, 0–1 (above 1: "
            "impossible); null without a capacity.",
            "possible": "Whether the announced figure can be the candidate's final total: never "
            "below the tallied votes, and needing no more than the capacity. Null without a "
            "capacity.",
            "tallied_exceeds_announced": "True when the tallies already hold more votes for the "
            "candidate than were announced.",
            "bulletin_votes_needed": "Votes the uncounted tallies must hold for every candidate "
            "of the bulletin to reach their announced figures at once.",
            "bulletin_possible": "Whether the whole bulletin is reachable from the same uncounted "
            "tallies; null without a capacity.",
        },
    ),
    Mart(
        "amendments",
        "tally version no longer current",
        "Every superseded or withdrawn version of a tally unit, with the delivery, file and row "
        "that replaced it: the change history behind the results.",
        {
            "source_id": SOURCE,
            "tally_code": TALLY_CODE,
            "status": "`superseded` (a later delivery or release replaced it) or `withdrawn` "
            "(a complete snapshot release left the unit out).",
            "delivery_seq": DELIVERY_SEQ + " (of this old version)",
            "file_name": FILE_NAME + " (the old version)",
            "source_row": SOURCE_ROW + " (the old version)",
            "valid_votes": "Valid votes in the old version.",
            "total_votes": "Total ballots in the old version; null when not declared.",
            "superseded_by_delivery": "Delivery that replaced it; null when withdrawn.",
            "superseded_by_file": "File that replaced it; null when withdrawn.",
            "superseded_by_row": "Row of the replacing file; null when withdrawn.",
            "new_valid_votes": "Valid votes in the replacing version; null when withdrawn.",
            "new_total_votes": "Total ballots in the replacing version; null when withdrawn or "
            "not declared.",
        },
    ),
    Mart(
        "results_history",
        "published run, source, national or first-level unit, candidate",
        "A snapshot appended by every published run: national and first-level (state) results, "
        "turnout and coverage at that moment. The election night's curve of reporting and shares.",
        {
            "run_id": "Dagster run that published the snapshot (see `tallyhouse ui`).",
            "published_at": "When the snapshot was published (UTC, no time zone).",
            "deliveries": "Feed deliveries (files) loaded by then.",
            "last_file": "Name of the latest delivery included; null when none.",
            "source_id": SOURCE,
            "level": "`national` or the election's first level (e.g. `state`).",
            "unit_code": UNIT_CODE,
            "unit_name": UNIT_NAME,
            "candidate_id": CANDIDATE_ID,
            "candidate_name": CANDIDATE_NAME,
            "votes": VOTES + " At that run.",
            "share": SHARE,
            "rank": RANK,
            "registered": REGISTERED,
            "valid_votes": VALID,
            "total_votes": TOTAL,
            "turnout": TURNOUT,
            "expected": EXPECTED,
            "counted": COUNTED,
            "percent_reporting": PERCENT_REPORTING,
        },
    ),
    Mart(
        "publication",
        "published file (a single row)",
        "Which run published this file and when: cite it with any figure taken from the file.",
        {
            "run_id": "Dagster run that built and published this file.",
            "published_at": "When the file was published (UTC, no time zone).",
            "staged_generation": "Which state of the working warehouse these marts reflect "
            "(staging lineage:generation). A run updates the marts by the last drop only when "
            "this is the generation before its own; otherwise it rebuilds them whole.",
        },
    ),
    Mart(
        "projection",
        "source, candidate (national)",
        "Estimated final national result from the tallies counted so far, with 95 % intervals and "
        "worst-case bounds for the tallies still missing.",
        {
            "source_id": SOURCE,
            "candidate_id": CANDIDATE_ID,
            "candidate_name": CANDIDATE_NAME,
            "counted_votes": "Votes for the candidate in the accepted tallies counted so far.",
            "projected_votes": "Estimated final votes once every expected tally is in "
            "(a count, fractional because it is an estimate).",
            "lower_95": "Lower end of the 95 % interval of the final votes.",
            "upper_95": "Upper end of the 95 % interval of the final votes.",
            "projected_share": "Estimated final share of valid votes, 0–1 (not a percentage).",
            "share_lower_95": "Lower end of the 95 % interval of the final share, 0–1.",
            "share_upper_95": "Upper end of the 95 % interval of the final share, 0–1.",
            "worst_case_min": "Final votes if the candidate gets none of the missing tallies' "
            "votes (= counted_votes).",
            "worst_case_max": "Final votes if the candidate gets every vote the missing tallies "
            "could hold.",
            "tallies_counted": "Accepted tallies counted so far.",
            "tallies_expected": "Tallies expected in all.",
            "weighting": "How missing tallies are weighted: `registered` (by their registered "
            "voters) or `expected_tallies` (by the number of tallies missing).",
            "method": "The projection method, in short text.",
        },
    ),
    Mart(
        "forensics",
        "source, check and unit or table examined",
        "Statistical screens for anomalies. A flag is a reason to look closer, never proof of "
        "fraud: digit tests in particular are weak on machine-level counts.",
        {
            "source_id": SOURCE,
            "check_id": "`F1` last-digit uniformity per state, `F2` table far outside its "
            "centre, `F3` turnout × vote-share fingerprint.",
            "check_name": "The check's name, for people.",
            "level": LEVEL,
            "unit_code": UNIT_CODE,
            "unit_name": UNIT_NAME,
            "candidate_id": CANDIDATE_ID + " Null where the check is not per candidate.",
            "n": "Counts or tables examined (a count).",
            "statistic": "The check's test statistic or measure; its meaning depends on check_id "
            "(see detail).",
            "p_value": "Probability of a statistic at least this extreme if nothing were amiss, "
            "0–1; null where the check is not a statistical test.",
            "flagged": "True when the check flags the unit for a closer look.",
            "detail": "Why, in words a person can check.",
        },
    ),
)

MARTS_BY_NAME = {m.name: m for m in MARTS}


def describe(table: str, column: str) -> str | None:
    mart = MARTS_BY_NAME.get(table)
    return mart.describe(column) if mart else None


def literal(text: str) -> str:
    """A SQL string literal. Comment text comes from this module, never from data, but is
    quoted all the same (DuckDB's plain strings have no backslash escapes)."""
    if "\x00" in text:
        raise ValueError("comment text holds a NUL character")
    return "'" + text.replace("'", "''") + "'"


def undocumented(columns: list[tuple[str, str]]) -> list[str]:
    """`table` or `table.column` for every (table, column) the registry cannot describe."""
    missing = []
    for table, column in columns:
        if table not in MARTS_BY_NAME:
            if table not in missing:
                missing.append(table)
        elif describe(table, column) is None:
            missing.append(f"{table}.{column}")
    return missing


def apply_comments(con: duckdb.DuckDBPyConnection) -> list[str]:
    """COMMENT ON every table and column of the connection's main schema that the registry
    describes; log a warning for, and return, the ones it does not (they are published
    without a comment)."""
    columns = con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where not internal and schema_name = 'main' and database_name = current_database() "
        "order by table_name, column_index"
    ).fetchall()
    for table in dict.fromkeys(t for t, _ in columns):
        if table in MARTS_BY_NAME:
            mart = MARTS_BY_NAME[table]
            text = f"One row per {mart.grain}. {mart.description}"
            con.execute(f"comment on table {ident(table)} is {literal(text)}")
    for table, column in columns:
        text = describe(table, column)
        if text is not None:
            con.execute(f"comment on column {ident(table)}.{ident(column)} is {literal(text)}")
    missing = undocumented(columns)
    if missing:
        log.warning(
            "published without a description (add them to warehouse/mart_docs.py): %s",
            ", ".join(missing),
        )
    return missing
