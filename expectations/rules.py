"""The rule catalogue: every quality rule defined once, with a stable id, a severity, one line an
analyst understands, and the Great Expectations expectations that test it.

Expectations are named here as data (GX class name and arguments) so that reading the catalogue
does not import Great Expectations; expectations/suites.py builds the suites from it.
"""

from dataclasses import dataclass, field

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
        "Votes cast (valid + null + blank) exceed the unit's registered voters (a unit without "
        "a list is not judged).",
        (
            (
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "registered", "column_B": "votes_cast", "or_equal": True, **PAIR},
            ),
        ),
        observed=("votes_cast", "registered"),
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

RULES_BY_ID = {rule.id: rule for rule in RULES}
ERROR_RULES = tuple(r for r in RULES if r.severity == ERROR)
WARN_RULES = tuple(r for r in RULES if r.severity == WARN)


def applicable(rules: tuple[Rule, ...], has_registry: bool) -> tuple[Rule, ...]:
    return tuple(r for r in rules if has_registry or not r.needs_registry)
