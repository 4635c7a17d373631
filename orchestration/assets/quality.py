"""Staged → quality: the Great Expectations gate that stops impossible counts.

Every staged tally ends up accepted or quarantined; the blocking checks keep the marts from being
rebuilt on a result that includes an impossible tally or a suspect feed.
"""

from dataclasses import replace

import dagster as dg
from dagster_duckdb import DuckDBResource

from expectations.alerts import Alert
from expectations.evidence import build_evidence
from expectations.quarantine import ConservationError, judge
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
from warehouse.increments import (
    FULL,
    INCREMENTAL,
    LayerState,
    merge_quality,
    read_delta_staged,
    read_state,
    record_full_quality,
)
from warehouse.tables import quarantined_per_delivery, read_table, replace_tables

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
        state = _plan(con)
        deliveries = read_table(con, "raw", "deliveries")
        if state.mode == INCREMENTAL:
            tallies, removed = read_delta_staged(con)
            # the registry rows of the restaged units, as staging read them
            registry = (
                read_table(con, "staged", "delta_registry")
                if table_exists(con, "raw", "registry")
                else None
            )
        else:
            tallies, removed = read_table(con, "staged", "tallies"), None
            registry = (
                read_table(con, "raw", "registry") if table_exists(con, "raw", "registry") else None
            )
    context.log.info(f"quality gate {state.mode}: {state.reason}")
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

    with duckdb.get_connection() as con:
        if removed is not None:
            merge_quality(con, state, removed, tallies, verdicts.quarantine, verdicts.issues)
        else:
            replace_tables(
                con, "quality", {"quarantine": verdicts.quarantine, "issues": verdicts.issues}
            )
            record_full_quality(con, state)
        per_delivery = quarantined_per_delivery(con).join(
            deliveries.select("delivery_seq", "file_name"), on="delivery_seq", how="left"
        )
        replace_tables(con, "quality", {"deliveries": per_delivery})
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
            "mode": state.mode,
            "validated": evidence.height,
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


def _plan(con) -> LayerState:
    """Validate only what the last staging run restaged, when the gate saw the generation
    before it; everything otherwise."""
    staged, own = read_state(con, "staged"), read_state(con, "quality")
    if staged is None:
        raise dg.Failure(description="Nothing is staged yet.")
    if staged.mode != INCREMENTAL:
        return replace(staged, mode=FULL, reason="staging was full")
    if own is None or own.stamp != f"{staged.lineage}:{staged.generation - 1}":
        return replace(staged, mode=FULL, reason="the gate missed a staging generation")
    return replace(staged, reason="staging was incremental")
