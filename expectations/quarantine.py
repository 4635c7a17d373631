"""From rule failures to the quarantine and the flags: who broke which rule, with what values.

Pure polars. Conservation: every staged tally is either accepted or quarantined, never both,
never neither.
"""

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from expectations.rules import ERROR, RULES_BY_ID, Rule
from expectations.suites import KEY, RuleFailures

TALLY_COLUMNS = ("tally_id", "source_id", "tally_code", "file_sha256", "source_row", "delivery_seq")


class ConservationError(AssertionError):
    """Staged tallies ≠ accepted + quarantined: a bug, never to be published."""


@dataclass(frozen=True)
class Verdicts:
    issues: pl.DataFrame  # one row per tally and broken rule (errors and warnings)
    quarantine: pl.DataFrame  # one row per tally breaking an error rule
    accepted: pl.DataFrame  # the staged tallies that reach the marts


def _observed(rule: Rule) -> pl.Expr:
    parts = []
    for i, column in enumerate(rule.observed):
        parts += [
            pl.lit(f"{', ' if i else ''}{column}="),
            pl.col(column).cast(pl.String).fill_null("∅"),
        ]
    return pl.concat_str(parts)


def issues_frame(evidence: pl.DataFrame, failures: RuleFailures) -> pl.DataFrame:
    frames = []
    for rule_id in failures.checked:
        ids = failures.ids(rule_id)
        if ids.is_empty():
            continue
        rule = RULES_BY_ID[rule_id]
        frames.append(
            evidence.join(ids.to_frame(), on=KEY, how="semi").select(
                *TALLY_COLUMNS,
                pl.lit(rule.id).alias("rule_id"),
                pl.lit(rule.severity).alias("severity"),
                _observed(rule).alias("observed"),
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={
                **evidence.select(TALLY_COLUMNS).schema,
                "rule_id": pl.String,
                "severity": pl.String,
                "observed": pl.String,
            }
        )
    return pl.concat(frames).sort(KEY, "rule_id")


def judge(evidence: pl.DataFrame, failures: RuleFailures, run_id: str, at: datetime) -> Verdicts:
    issues = issues_frame(evidence, failures)
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
    accepted = evidence.join(quarantine.select(KEY), on=KEY, how="anti")
    if accepted.height + quarantine.height != evidence.height:
        raise ConservationError(
            f"{evidence.height} staged tallies but {accepted.height} accepted + "
            f"{quarantine.height} quarantined"
        )
    return Verdicts(issues, quarantine, accepted)
