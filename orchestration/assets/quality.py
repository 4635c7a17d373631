"""Staged → quality: the Great Expectations gate that stops impossible counts.

Every staged tally ends up accepted or quarantined; the blocking checks keep the marts from being
rebuilt on a result that includes an impossible tally or a suspect feed.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from expectations.alerts import Alert
from expectations.evidence import build_evidence
from expectations.quarantine import ConservationError, judge, quarantined_per_delivery
from expectations.rules import ERROR_RULES, RULES, applicable
from expectations.suites import EngineError, validate
from orchestration.alerting import Alerter
from orchestration.assets.keys import (
    QUALITY,
    QUALITY_ISSUES,
    QUALITY_QUARANTINE,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VOTES,
)
from orchestration.checks import CHECK_SPECS, check_results, now, raise_alerts
from orchestration.resources import TallyhouseDirs
from warehouse.db import table_exists
from warehouse.tables import read_table, replace_tables

STAGED = [STAGED_TALLIES, STAGED_VOTES, STAGED_UNITS]


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
        verdicts = judge(evidence, failures, run_id, now())
        recheck = validate(
            verdicts.accepted, applicable(ERROR_RULES, registry is not None), "accepted"
        )
    except (EngineError, ConservationError) as error:
        kind = "engine error" if isinstance(error, EngineError) else "conservation broken"
        with duckdb.get_connection() as con:
            alerts.send(
                con,
                Alert(now(), "engine", "engine", f"Validation {kind}: {error}", run_id=run_id),
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
        checks = list(check_results(verdicts, recheck, per_delivery, failures, settings))
        raise_alerts(con, alerts, context.log, checks, per_delivery, verdicts.quarantine, run_id)
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
