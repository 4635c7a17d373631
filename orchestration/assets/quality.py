"""Staged → quality: the Great Expectations gate that stops impossible counts.

Every staged tally ends up accepted or quarantined; the blocking checks keep the marts from being
rebuilt on a result that includes an impossible tally or a suspect feed.
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from expectations.alerts import Alert, sample_keys
from expectations.evidence import build_evidence
from expectations.quarantine import ConservationError, judge, quarantined_per_delivery
from expectations.rules import ERROR_RULES, RULES, RULES_BY_ID, WARN_RULES, applicable
from expectations.suites import EngineError, RuleFailures, validate
from orchestration.alerting import Alerter
from orchestration.assets.keys import (
    CHECK_ACCEPTED_CLEAN,
    CHECK_QUARANTINE_SHARE,
    QUALITY,
    QUALITY_ISSUES,
    QUALITY_QUARANTINE,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VOTES,
    WARN_CHECKS,
)
from orchestration.resources import TallyhouseDirs
from warehouse.alerts import alerted_subjects
from warehouse.db import table_exists
from warehouse.tables import read_table, replace_tables

STAGED = [STAGED_TALLIES, STAGED_VOTES, STAGED_UNITS]
SAMPLE = 10


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _keys(frame: pl.DataFrame) -> list[str]:
    return [f"{s}:{t}" for s, t in frame.select("source_id", "tally_code").head(SAMPLE).iter_rows()]


CHECK_SPECS = [
    dg.AssetCheckSpec(
        CHECK_ACCEPTED_CLEAN,
        asset=QUALITY_QUARANTINE,
        blocking=True,
        description="Re-validates, with the error suite, every tally that will reach the marts: "
        "none may break an error rule.",
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


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            QUALITY_QUARANTINE,
            deps=STAGED,
            group_name=QUALITY,
            description="Tallies breaking an error rule: kept out of every mart.",
        ),
        dg.AssetSpec(
            QUALITY_ISSUES,
            deps=STAGED,
            group_name=QUALITY,
            description="One row per tally and broken rule, errors and warnings.",
        ),
    ],
    check_specs=CHECK_SPECS,
)
def quality_gate(
    context: dg.AssetExecutionContext,
    dirs: TallyhouseDirs,
    duckdb: DuckDBResource,
    alerts: dg.ResourceParam[Alerter],
):
    settings = dirs.settings
    run_id = context.run.run_id
    election = dirs.election_config().election
    with duckdb.get_connection() as con:
        deliveries = read_table(con, "raw", "deliveries")
        tallies = read_table(con, "staged", "tallies")
        registry = (
            read_table(con, "raw", "registry") if table_exists(con, "raw", "registry") else None
        )
    evidence = build_evidence(tallies, election, registry)
    rules = applicable(RULES, registry is not None)
    try:
        failures = validate(evidence, rules, "all")
        verdicts = judge(evidence, failures, run_id, _now())
        recheck = validate(
            verdicts.accepted, applicable(ERROR_RULES, registry is not None), "accepted"
        )
    except (EngineError, ConservationError) as error:
        kind = "engine error" if isinstance(error, EngineError) else "conservation broken"
        with duckdb.get_connection() as con:
            alerts.send(
                con,
                Alert(_now(), "engine", "engine", f"Validation {kind}: {error}", run_id=run_id),
                context.log,
            )
        raise dg.Failure(
            description=f"ENGINE ERROR, not a verdict on the data ({kind}): {error}",
            metadata={"kind": "engine_error"},
        ) from error

    per_delivery = quarantined_per_delivery(evidence, verdicts.quarantine).join(
        deliveries.select("delivery_seq", "file_name"), on="delivery_seq", how="left"
    )
    with duckdb.get_connection() as con:
        replace_tables(
            con,
            "quality",
            {
                "quarantine": verdicts.quarantine,
                "issues": verdicts.issues,
                "deliveries": per_delivery,
            },
        )
        checks = list(_checks(verdicts, recheck, per_delivery, failures, settings))
        _alert(con, alerts, context.log, checks, per_delivery, verdicts.quarantine, run_id)
    context.log.info(
        f"{evidence.height:,} staged tallies: {verdicts.accepted.height:,} accepted, "
        f"{verdicts.quarantine.height:,} quarantined, "
        f"{verdicts.issues.filter(severity='warn')['tally_id'].n_unique():,} flagged"
    )
    yield dg.MaterializeResult(
        asset_key=QUALITY_QUARANTINE,
        metadata={
            "staged": evidence.height,
            "accepted": verdicts.accepted.height,
            "quarantined": verdicts.quarantine.height,
            **{f"quarantined_{r.id}": failures.count(r.id) for r in rules if r.severity == "error"},
        },
    )
    yield dg.MaterializeResult(
        asset_key=QUALITY_ISSUES,
        metadata={
            "issues": verdicts.issues.height,
        },
    )
    yield from checks


def _checks(
    verdicts, recheck: RuleFailures, per_delivery: pl.DataFrame, failures: RuleFailures, settings
):
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
                _keys(verdicts.accepted.filter(pl.col("tally_id").is_in(bad_ids)))
            ),
        },
    )
    threshold = settings.quarantine_threshold
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
                "sample_keys": dg.MetadataValue.json(_keys(flagged)),
            },
        )


def _alert(con, alerts, log, checks, per_delivery, quarantine, run_id) -> None:
    """An alert per failed check, and per delivery that newly has quarantined tallies."""
    for check in checks:
        if check.passed:
            continue
        severity = "warn" if check.severity == dg.AssetCheckSeverity.WARN else "error"
        meta = {k: v.value if hasattr(v, "value") else v for k, v in check.metadata.items()}
        counts = {k: v for k, v in meta.items() if isinstance(v, int | float)}
        title = f"check {check.check_name} failed"
        alerts.send(
            con,
            Alert(
                _now(),
                severity,
                check.check_name,
                title,
                counts,
                run_id,
                sample_keys(meta.get("sample_keys") or []),
            ),
            log,
        )
    already = alerted_subjects(con, "quarantine")
    for row in per_delivery.filter(pl.col("quarantined") > 0).iter_rows(named=True):
        if row["file_sha256"] in already:
            continue
        held = quarantine.filter(delivery_seq=row["delivery_seq"])
        rules = sorted({r for ids in held["rule_ids"] for r in ids.split(",")})
        alerts.send(
            con,
            Alert(
                _now(),
                "error",
                "quarantine:" + ",".join(rules),
                f"{row['file_name']} ({row['source_id']}) has quarantined tallies",
                {"tallies": row["tallies"], "quarantined": row["quarantined"]},
                run_id,
                sample_keys(_keys(held)),
                subject=row["file_sha256"],
            ),
            log,
        )
