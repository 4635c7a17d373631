"""The quality gate's asset checks and the alerts they raise.

Blocking ERROR checks stop the marts; WARN checks report. Each result carries counts and a sample
of failing tally keys (source:tally_code) for the Dagster UI.
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from expectations.alerts import Alert, sample_keys
from expectations.rules import RULES_BY_ID, WARN_RULES
from expectations.suites import RuleFailures
from orchestration.assets.keys import (
    CHECK_ACCEPTED_CLEAN,
    CHECK_QUARANTINE_SHARE,
    QUALITY_ISSUES,
    QUALITY_QUARANTINE,
    WARN_CHECKS,
)
from warehouse.alerts import alerted_subjects

SAMPLE = 10


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def tally_keys(frame: pl.DataFrame) -> list[str]:
    return [f"{s}:{t}" for s, t in frame.select("source_id", "tally_code").head(SAMPLE).iter_rows()]


CHECK_SPECS = [
    dg.AssetCheckSpec(
        CHECK_ACCEPTED_CLEAN,
        asset=QUALITY_QUARANTINE,
        blocking=True,
        description="Every tally that will reach the marts, against the error rules' results "
        "(the gate's one validation pass): none may break an error rule its source is not "
        "excused from.",
    ),
    dg.AssetCheckSpec(
        CHECK_QUARANTINE_SHARE,
        asset=QUALITY_QUARANTINE,
        blocking=True,
        description="The share of each delivery's tallies quarantined stays under the threshold; "
        "above it the feed itself is suspect.",
    ),
    *[
        dg.AssetCheckSpec(name, asset=QUALITY_ISSUES, description=RULES_BY_ID[rule].description)
        for rule, name in WARN_CHECKS.items()
    ],
]


def check_results(
    verdicts,
    recheck: RuleFailures,
    per_delivery: pl.DataFrame,
    failures: RuleFailures,
    threshold: float,
):
    """The gate's checks; `threshold`: the quarantine share in force (settings, else the
    election's [quality] quarantine_threshold, else the default)."""
    still_bad = {rid: recheck.count(rid) for rid in recheck.checked if recheck.count(rid)}
    bad_ids = pl.concat([recheck.ids(r) for r in still_bad]) if still_bad else pl.Series([])
    yield dg.AssetCheckResult(
        asset_key=QUALITY_QUARANTINE,
        check_name=CHECK_ACCEPTED_CLEAN,
        passed=not still_bad,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "accepted": verdicts.accepted.height,
            "failing": sum(still_bad.values()),
            "by_rule": dg.MetadataValue.json(still_bad),
            "sample_keys": dg.MetadataValue.json(
                tally_keys(verdicts.accepted.filter(pl.col("tally_id").is_in(bad_ids)))
            ),
        },
    )
    over = (
        per_delivery.filter(pl.col("share") > threshold) if threshold < 1 else per_delivery.clear()
    )
    worst = per_delivery["share"].max() if per_delivery.height else 0.0
    yield dg.AssetCheckResult(
        asset_key=QUALITY_QUARANTINE,
        check_name=CHECK_QUARANTINE_SHARE,
        passed=over.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "threshold": threshold,
            "worst_share": float(worst or 0.0),
            "deliveries_over": over.height,
            "sample_keys": dg.MetadataValue.json(over["file_name"].head(SAMPLE).to_list()),
            "quarantined": verdicts.quarantine.height,
        },
    )
    for rule in WARN_RULES:
        if rule.id not in failures.checked:
            continue
        flagged = verdicts.issues.filter(rule_id=rule.id)
        yield dg.AssetCheckResult(
            asset_key=QUALITY_ISSUES,
            check_name=WARN_CHECKS[rule.id],
            passed=flagged.is_empty(),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rule": rule.id,
                "flagged": flagged.height,
                "sample_keys": dg.MetadataValue.json(tally_keys(flagged)),
            },
        )


def alert_failed_checks(con, alerts, log, checks, run_id, title=None) -> None:
    """An alert per failed check, with its counts and sample keys. title(check name, metadata)
    words it; by default "check <name> failed"."""
    for check in checks:
        if check.passed:
            continue
        severity = "warn" if check.severity == dg.AssetCheckSeverity.WARN else "error"
        meta = {k: v.value if hasattr(v, "value") else v for k, v in check.metadata.items()}
        counts = {k: v for k, v in meta.items() if isinstance(v, int | float)}
        words = title(check.check_name, meta) if title else f"check {check.check_name} failed"
        alerts.send(
            con,
            Alert(
                now(),
                severity,
                check.check_name,
                words,
                counts,
                run_id,
                sample_keys(meta.get("sample_keys") or []),
            ),
            log,
        )


def gate_check_words(name: str, meta: dict) -> str:
    """A failed gate check's alert. The share check's holds every later run's marts too, the
    clean deliveries' with them, until someone acts: it says how."""
    words = f"check {name} failed"
    if name != CHECK_QUARANTINE_SHARE:
        return words
    return (
        f"{words}: the marts are held (the published file stays as it was) until each delivery "
        "over the threshold is withdrawn (tallyhouse withdraw FILE --reason TEXT), its "
        "quarantined tallies amended by a later delivery, or the threshold raised "
        "(--quarantine-threshold)"
    )


def raise_alerts(con, alerts, log, checks, per_delivery, quarantine, run_id) -> None:
    """An alert per failed check, and per delivery that newly has quarantined tallies."""
    alert_failed_checks(con, alerts, log, checks, run_id, gate_check_words)
    already = alerted_subjects(con, "quarantine")
    for row in per_delivery.filter(pl.col("quarantined") > 0).iter_rows(named=True):
        if row["file_sha256"] in already:
            continue
        held = quarantine.filter(delivery_seq=row["delivery_seq"])
        rules = sorted({r for ids in held["rule_ids"] for r in ids.split(",")})
        alerts.send(
            con,
            Alert(
                now(),
                "error",
                "quarantine:" + ",".join(rules),
                f"{row['file_name']} ({row['source_id']}) has quarantined tallies",
                {"tallies": row["tallies"], "quarantined": row["quarantined"]},
                run_id,
                sample_keys(tally_keys(held)),
                subject=row["file_sha256"],
            ),
            log,
        )
