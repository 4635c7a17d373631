"""The rule catalogue: every quality rule defined once, with a stable id, a severity, one line an
analyst understands, and the Great Expectations expectations that test it.

Expectations are named here as data (GX class name and arguments) so that reading the catalogue
does not import Great Expectations; expectations/suites.py builds the suites from it.
"""

from dataclasses import dataclass, field, replace

from transforms.ballots import OFF_BALLOT
from transforms.model import QualityPolicy

ERROR, WARN = "error", "warn"

# Evidence columns the rules read; built by expectations/evidence.py.
PAIR = {"ignore_row_if": "either_value_is_missing"}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    description: str
    expectations: tuple[tuple[str, dict], ...]
    needs_registry: bool = False
    observed: tuple[str, ...] = field(default_factory=tuple)
    # what a rule that needs a registry tests when there is none (empty: it is skipped)
    without_registry: tuple[tuple[str, dict], ...] = ()
    observed_without_registry: tuple[str, ...] = ()


RULES: tuple[Rule, ...] = (
    Rule(
        "E1",
        ERROR,
        "A count is negative or not a whole number.",
        (("ExpectColumnValuesToBeNull", {"column": "negative_or_fractional"}),),
        observed=("negative_or_fractional",),
    ),
    Rule(
        "E2",
        ERROR,
        "Votes cast (valid + null + blank) exceed the unit's registered voters: the tally's "
        "figure, or the registry's where the tally states none (a unit without either is not "
        "judged).",
        (
            (
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "registered_limit",
                    # votes_cast where known; valid + blank where the feed gives no null votes
                    "column_B": "votes_cast_at_least",
                    "or_equal": True,
                    **PAIR,
                },
            ),
        ),
        observed=("votes_cast_at_least", "registered_limit"),
    ),
    Rule(
        "E3",
        ERROR,
        "Candidate votes (plus other votes) do not sum to the declared valid votes.",
        (
            (
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "candidate_sum", "column_B": "valid_votes", **PAIR},
            ),
        ),
        observed=("candidate_sum", "valid_votes"),
    ),
    Rule(
        "E4",
        ERROR,
        "Valid + null + blank votes differ from the declared total.",
        (
            (
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "votes_cast", "column_B": "total_votes", **PAIR},
            ),
        ),
        observed=("votes_cast", "total_votes"),
    ),
    Rule(
        "E5",
        ERROR,
        "Two tallies for the same unit from the same source carry different numbers.",
        (("ExpectColumnValuesToBeBetween", {"column": "versions", "max_value": 1}),),
        observed=("versions",),
    ),
    Rule(
        "E6",
        ERROR,
        "The unit is unknown to the registry, or its parent codes contradict it.",
        (
            ("ExpectColumnValuesToBeInSet", {"column": "registry_known", "value_set": [True]}),
            (
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "unit_path_id", "column_B": "registry_path_id", **PAIR},
            ),
        ),
        needs_registry=True,
        observed=("unit_path", "registry_path"),
        # without a registry: a unit code under two different parents (transforms/rollup.py
        # parent_conflicts names the level, the code and the parents)
        without_registry=(("ExpectColumnValuesToBeNull", {"column": "parent_conflict"}),),
        observed_without_registry=("parent_conflict",),
    ),
    Rule(
        "E7",
        ERROR,
        "Registered voters differ from the registry's figure for the unit.",
        (
            (
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "registered", "column_B": "registry_registered", **PAIR},
            ),
        ),
        needs_registry=True,
        observed=("registered", "registry_registered"),
    ),
    Rule(
        "E8",
        ERROR,
        "A required field is missing or cannot be read as a number.",
        (("ExpectColumnValuesToBeNull", {"column": "missing_or_unparsable"}),),
        observed=("missing_or_unparsable",),
    ),
    Rule(
        "W1",
        WARN,
        "Turnout of 95 % or more at a unit with at least 100 registered voters.",
        (
            (
                "ExpectColumnValuesToBeBetween",
                {"column": "turnout_if_100_registered", "max_value": 0.95, "strict_max": True},
            ),
        ),
        observed=("votes_cast", "registered"),
    ),
    Rule(
        "W2",
        WARN,
        "One candidate receives every valid vote at a unit with at least 50 valid votes.",
        (
            (
                "ExpectColumnValuesToBeBetween",
                {"column": "top_share_if_50_valid", "max_value": 1.0, "strict_max": True},
            ),
        ),
        observed=("top_candidate_votes", "valid_votes"),
    ),
    Rule(
        "W3",
        WARN,
        "A unit's total fell between two deliveries of the same source.",
        (("ExpectColumnValuesToBeBetween", {"column": "total_change", "min_value": 0}),),
        observed=("previous_total_votes", "unit_total"),
    ),
)

# E6's ballot half (applicable(..., lists_ballots=True))
BALLOT_EXPECTATION = ("ExpectColumnValuesToBeNull", {"column": OFF_BALLOT})

RULES_BY_ID = {rule.id: rule for rule in RULES}
ERROR_RULES = tuple(r for r in RULES if r.severity == ERROR)
WARN_RULES = tuple(r for r in RULES if r.severity == WARN)


def applicable(
    rules: tuple[Rule, ...], has_registry: bool, lists_ballots: bool = False
) -> tuple[Rule, ...]:
    """The rules that apply: without a registry, a rule that needs one is skipped, or tests
    what it can without one (E6: parent codes that contradict each other). With a registry
    that lists each unit's contests (`lists_ballots`), E6 also holds each tally's contest to its
    unit's ballot (the evidence's `off_ballot`, transforms/ballots.py)."""
    if has_registry:
        return tuple(_with_ballots(r) if lists_ballots else r for r in rules)
    return tuple(
        r
        if not r.needs_registry
        else replace(r, expectations=r.without_registry, observed=r.observed_without_registry)
        for r in rules
        if not r.needs_registry or r.without_registry
    )


def _with_ballots(rule: Rule) -> Rule:
    """E6 with its ballot half: a tally for a contest not on its unit's ballot breaks it."""
    if rule.id != "E6":
        return rule
    return replace(
        rule,
        description="The unit is unknown to the registry, its parent codes contradict it, or "
        "the tally's contest is not on its ballot.",
        expectations=(*rule.expectations, BALLOT_EXPECTATION),
        observed=(*rule.observed, OFF_BALLOT),
    )


def _percent(share: float) -> str:
    return f"{share * 100:g}"


def for_policy(rules: tuple[Rule, ...], policy: QualityPolicy) -> tuple[Rule, ...]:
    """The rules with the election's W1 and W2 thresholds (election.toml [quality]); with the
    default policy, the catalogue exactly. The evidence (expectations/evidence.py) applies the
    minimum sizes; W1's turnout bound is the expectation's own argument."""
    out = []
    for rule in rules:
        if rule.id == "W1":
            (name, kwargs), *rest = rule.expectations
            rule = replace(
                rule,
                description=f"Turnout of {_percent(policy.w1_turnout)} % or more at a unit with "
                f"at least {policy.w1_min_registered} registered voters.",
                expectations=((name, {**kwargs, "max_value": policy.w1_turnout}), *rest),
            )
        elif rule.id == "W2":
            rule = replace(
                rule,
                description="One candidate receives every valid vote at a unit with at least "
                f"{policy.w2_min_valid} valid votes.",
            )
        out.append(rule)
    return tuple(out)
