"""From rule failures to the quarantine and the flags: who broke which rule, with what values.

Pure polars. Conservation: every staged tally is either accepted or quarantined, never both,
never neither.
"""

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from expectations.rules import ERROR, RULES_BY_ID, WARN, Rule
from expectations.suites import KEY, RuleFailures
from transforms.model import QualityPolicy

TALLY_COLUMNS = ("tally_id", "source_id", "tally_code", "file_sha256", "source_row", "delivery_seq")


class ConservationError(AssertionError):
    """Staged tallies ≠ accepted + quarantined: a bug, never to be published."""


@dataclass(frozen=True)
class Verdicts:
    issues: pl.DataFrame  # one row per tally and broken rule (errors and warnings)
    quarantine: pl.DataFrame  # one row per tally breaking an error rule
    accepted: pl.DataFrame  # the staged tallies that reach the marts


def _observed(rule: Rule, schema: pl.Schema) -> pl.Expr:
    """`name=value` of each column the rule observed; ∅ for none."""
    parts = []
    for i, column in enumerate(rule.observed):
        parts += [
            pl.lit(f"{', ' if i else ''}{column}="),
            _shown(pl.col(column), schema[column]).fill_null("∅"),
        ]
    return pl.concat_str(parts)


def _shown(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A value as text; a fractional column's whole numbers without `.0` (a vote-for-2
    contest's ballots are its marks / 2: `votes_cast=286`, never `286.0`)."""
    if not dtype.is_float():
        return value.cast(pl.String)
    whole = value.is_finite() & (value == value.round(0))
    return (
        pl.when(whole)
        .then(value.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(value.cast(pl.String))
    )


def _override_reason(rule: Rule, policy: QualityPolicy) -> pl.Expr:
    """Per tally, the reason of the override that demotes `rule` for its source, else null."""
    overrides = [o for o in policy.overrides if o.rule == rule.id]
    every = next((o.reason for o in overrides if o.source is None), None)
    named = {o.source: o.reason for o in overrides if o.source is not None}
    if not named:
        return pl.lit(every, pl.String)
    return pl.col("source_id").replace_strict(
        list(named), list(named.values()), default=pl.lit(every, pl.String), return_dtype=pl.String
    )


def waived(failures: RuleFailures, evidence: pl.DataFrame, policy: QualityPolicy) -> RuleFailures:
    """The failures left once the policy's overrides are applied: a tally failing an error rule
    demoted for its source no longer fails it (it is accepted and flagged instead)."""
    failing = {}
    for rule_id in failures.checked:
        ids = failures.ids(rule_id)
        if not ids.is_empty() and any(o.rule == rule_id for o in policy.overrides):
            demoted = evidence.filter(
                pl.col(KEY).is_in(ids.implode())
                & _override_reason(RULES_BY_ID[rule_id], policy).is_not_null()
            )[KEY]
            ids = ids.filter(~ids.is_in(demoted.implode()))
        if not ids.is_empty():
            failing[rule_id] = ids
    return RuleFailures(failures.checked, failing)


def issues_frame(
    evidence: pl.DataFrame,
    failures: RuleFailures,
    policy: QualityPolicy | None = None,
    rules: tuple[Rule, ...] = (),
) -> pl.DataFrame:
    """One row per tally and broken rule. An error rule the policy demotes for the tally's
    source is recorded with severity warn, overridden true and the override's reason.

    rules: the rules as checked (expectations.rules.applicable), for what each one observed;
    the catalogue's for those not given."""
    policy = policy or QualityPolicy()
    checked = {**RULES_BY_ID, **{r.id: r for r in rules}}
    frames = []
    for rule_id in failures.checked:
        ids = failures.ids(rule_id)
        if ids.is_empty():
            continue
        rule = checked[rule_id]
        reason = (
            _override_reason(rule, policy) if rule.severity == ERROR else pl.lit(None, pl.String)
        )
        frames.append(
            evidence.join(ids.to_frame(), on=KEY, how="semi")
            .with_columns(reason.alias("override_reason"))
            .select(
                *TALLY_COLUMNS,
                pl.lit(rule.id).alias("rule_id"),
                pl.when(pl.col("override_reason").is_not_null())
                .then(pl.lit(WARN))
                .otherwise(pl.lit(rule.severity))
                .alias("severity"),
                _observed(rule, evidence.schema).alias("observed"),
                pl.col("override_reason").is_not_null().alias("overridden"),
                "override_reason",
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={
                **evidence.select(TALLY_COLUMNS).schema,
                "rule_id": pl.String,
                "severity": pl.String,
                "observed": pl.String,
                "overridden": pl.Boolean,
                "override_reason": pl.String,
            }
        )
    return pl.concat(frames).sort(KEY, "rule_id")


def judge(
    evidence: pl.DataFrame,
    failures: RuleFailures,
    run_id: str,
    at: datetime,
    policy: QualityPolicy | None = None,
    rules: tuple[Rule, ...] = (),
) -> Verdicts:
    issues = issues_frame(evidence, failures, policy, rules)
    errors = issues.filter(severity=ERROR)
    quarantine = (
        errors.group_by(*TALLY_COLUMNS, maintain_order=True)
        .agg(
            pl.col("rule_id").str.join(",").alias("rule_ids"),
            pl.concat_str(pl.col("rule_id"), pl.lit(": "), pl.col("observed"))
            .str.join("; ")
            .alias("observed"),
        )
        .with_columns(pl.lit(run_id).alias("run_id"), pl.lit(at).alias("quarantined_at"))
    )
    # nothing quarantined: the evidence as it is (an anti join copied every row of some fifty
    # columns, 1.3 GB at 1M tallies x 3 contests, and grew faster than the tallies)
    accepted = (
        evidence
        if quarantine.is_empty()
        else evidence.join(quarantine.select(KEY), on=KEY, how="anti")
    )
    if accepted.height + quarantine.height != evidence.height:
        raise ConservationError(
            f"{evidence.height} staged tallies but {accepted.height} accepted + "
            f"{quarantine.height} quarantined"
        )
    return Verdicts(issues, quarantine, accepted)
