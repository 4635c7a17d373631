"""Staged → quality: the Great Expectations gate that stops impossible counts.

Every staged tally ends up accepted or quarantined; the blocking checks keep the marts from being
rebuilt on a result that includes an impossible tally or a suspect feed.
"""

from dataclasses import dataclass, replace

import dagster as dg
import polars as pl

from expectations.alerts import Alert
from expectations.evidence import judged_evidence
from expectations.gx_worker import keep_result, validate_here_or_in_worker
from expectations.quarantine import ConservationError, Verdicts, judge, waived
from expectations.results_store import GateRun
from expectations.rules import ERROR, RULES, Rule, applicable, for_policy
from expectations.suites import KEY, EngineError, RuleFailures
from orchestration.alerting import Alerter
from orchestration.assets.keys import (
    QUALITY,
    QUALITY_ISSUES,
    QUALITY_QUARANTINE,
    STAGED_TALLIES,
    STAGED_UNITS,
    STAGED_VOTES,
)
from orchestration.catalog import ROW_COUNT
from orchestration.checks import CHECK_SPECS, check_results, now, raise_alerts
from orchestration.resources import TallyhouseDirs, Warehouse
from orchestration.settings import quarantine_threshold
from transforms.ballots import lists_ballots
from transforms.model import Election
from transforms.refresh import Plan
from transforms.rollup import parent_conflicts
from transforms.text import one_line
from warehouse.db import row_counts, rows, table_exists
from warehouse.quality_merge import (
    last_verdict_fingerprint,
    merge_quality,
    record_full_quality,
    record_policy,
)
from warehouse.refresh_state import plan_gate
from warehouse.staged_merge import read_delta_staged
from warehouse.tables import quarantined_per_delivery, read_codes, read_table, replace_tables

STAGED_INPUTS = [STAGED_TALLIES, STAGED_VOTES, STAGED_UNITS]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            QUALITY_QUARANTINE,
            deps=STAGED_INPUTS,
            group_name=QUALITY,
            description="Tallies breaking an error rule: kept out of every mart.",
        ),
        dg.AssetSpec(
            QUALITY_ISSUES,
            deps=STAGED_INPUTS,
            group_name=QUALITY,
            description="One row per tally and broken rule, errors and warnings.",
        ),
    ],
    check_specs=CHECK_SPECS,
)
def quality_gate(
    context: dg.AssetExecutionContext,
    dirs: TallyhouseDirs,
    duckdb: Warehouse,
    alerts: dg.ResourceParam[Alerter],
):
    election = dirs.election_config().election
    policy = election.quality
    threshold, threshold_from = quarantine_threshold(dirs.settings, policy.quarantine_threshold)
    with duckdb.get_connection() as con:
        plan = plan_gate(
            con,
            policy.fingerprint(),
            last_verdict_fingerprint(con),
            _parents_contradict(con, election),
        )
        if plan is None:
            raise dg.Failure(description="Nothing is staged yet.")
        todo = _read_what_to_judge(con, plan)
    context.log.info(f"quality gate {plan.mode}: {plan.reason}")
    context.log.info(f"quarantine threshold {threshold} ({threshold_from})")
    run_id = context.run.run_id
    judged = _judge_or_fail(todo, election, run_id, duckdb, alerts, context)
    todo = replace(todo, registry=None)  # judged: the verdicts are written without it
    _keep_validation(
        dirs.settings.data_dir,
        judged,
        GateRun(run_id, plan.mode, judged.validated),
        context.log,
    )
    with duckdb.get_connection() as con:
        _write_verdicts(con, plan, todo, judged.verdicts)
        record_policy(
            con,
            run_id,
            now(),
            plan.mode,
            policy.to_dict(),
            policy.fingerprint(),
            threshold,
            threshold_from,
        )
        per_delivery = _quarantined_per_delivery(con, todo.deliveries)
        checks = list(
            check_results(judged.verdicts, judged.recheck, per_delivery, judged.failures, threshold)
        )
        raise_alerts(
            con, alerts, context.log, checks, per_delivery, judged.verdicts.quarantine, run_id
        )
        in_tables = row_counts(con, "quality", ["quarantine", "issues"])
    _log_verdicts(context, judged)
    yield from _materializations(
        plan, judged, policy.to_dict(), threshold, threshold_from, in_tables
    )
    yield from checks


@dataclass(frozen=True)
class ToJudge:
    """What the gate validates: the staged tallies (all, or the last staging run's), the ids of
    those the run replaced (incremental only), the registry rows, the deliveries."""

    tallies: pl.DataFrame
    removed: pl.DataFrame | None
    registry: pl.DataFrame | None
    deliveries: pl.DataFrame


@dataclass(frozen=True)
class Judged:
    """The gate's findings: how many tallies were validated, the rules that applied, their
    failures, the verdicts (their accepted tallies by key only: narrow_accepted), and the
    recheck of the accepted tallies against the error rules."""

    validated: int
    rules: tuple[Rule, ...]
    failures: RuleFailures
    verdicts: Verdicts
    recheck: RuleFailures


def _read_what_to_judge(con, plan: Plan) -> ToJudge:
    """Incremental: the restaged tallies, the replaced ids and the registry rows of the restaged
    units (as staging read them). Full: every staged tally and the whole registry."""
    deliveries = read_table(con, "raw", "deliveries")
    has_registry = table_exists(con, "raw", "registry")
    if plan.incremental:
        tallies, removed = read_delta_staged(con)
        registry = read_table(con, "staged", "delta_registry") if has_registry else None
        return ToJudge(tallies, removed, registry, deliveries)
    registry = read_table(con, "raw", "registry") if has_registry else None
    return ToJudge(read_table(con, "staged", "tallies"), None, registry, deliveries)


def _parents_contradict(con, election: Election) -> bool:
    """Without a registry: does a unit code sit under two parents among the staged tallies, or
    did it at the last gate (E6 issues)? Either makes the gate judge every tally."""
    if table_exists(con, "raw", "registry") or not table_exists(con, "staged", "tallies"):
        return False
    if (
        table_exists(con, "quality", "issues")
        and rows(con, "select count(*) from quality.issues where rule_id = 'E6'")[0][0]
    ):
        return True
    codes = read_codes(con, ["tally_id", *election.code_columns])
    return not parent_conflicts(codes, election).is_empty()


def _evidence(todo: ToJudge, election: Election) -> pl.DataFrame:
    return judged_evidence(todo.tallies, election, todo.registry)


def _judge_or_fail(todo: ToJudge, election, run_id: str, duckdb: Warehouse, alerts, context):
    """Validate and judge the tallies by the election's quality policy; an engine failure is
    alerted and fails the step (it is not a verdict on the data)."""
    policy = election.quality
    evidence = _evidence(todo, election)
    has_registry = todo.registry is not None
    ballots = lists_ballots(todo.registry)
    rules = applicable(for_policy(RULES, policy), has_registry, ballots)
    try:
        failures = validate_here_or_in_worker(evidence, rules, "all")
        verdicts = judge(evidence, failures, run_id, now(), policy, rules)
        errors = tuple(r.id for r in rules if r.severity == ERROR)
        # the accepted tallies against the error rules, from the same pass (one GX pass a gate)
        recheck = waived(failures.among(verdicts.accepted[KEY], errors), verdicts.accepted, policy)
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
    return Judged(evidence.height, rules, failures, narrow_accepted(verdicts), recheck)


def narrow_accepted(verdicts: Verdicts) -> Verdicts:
    """The verdicts with their accepted tallies reduced to the keys the checks name (tally_id,
    source_id, tally_code): the gate needs no more of them once judged, and the evidence rows
    whole, kept while the verdicts are written, were 0.33 GB at 1M tallies (0.36 GB more with
    the evidence itself)."""
    return replace(verdicts, accepted=verdicts.accepted.select(KEY, "source_id", "tally_code"))


def _keep_validation(data_dir, judged: Judged, run: GateRun, log) -> None:
    """Keep GX's validation result in the file-backed context under the data directory (for
    `tallyhouse quality --docs`). A gate that judged nothing stores nothing. Failing to store is
    logged, not fatal: the verdicts are in the warehouse either way."""
    if judged.failures.validation is None:
        return
    try:
        keep_result(data_dir, judged.failures.validation, run, now())
    except Exception as error:  # noqa: BLE001  (a disk or GX store error; verdicts stand)
        log.warning(f"Great Expectations results not kept: {one_line(error, 300)}")


def _write_verdicts(con, plan: Plan, todo: ToJudge, verdicts: Verdicts) -> None:
    """Incremental: replace the verdicts of the replaced and restaged tallies; full: all."""
    if plan.incremental:
        merge_quality(
            con, plan.stamp, todo.removed, todo.tallies, verdicts.quarantine, verdicts.issues
        )
    else:
        replace_tables(
            con, "quality", {"quarantine": verdicts.quarantine, "issues": verdicts.issues}
        )
        record_full_quality(con, plan.stamp)


def _quarantined_per_delivery(con, deliveries: pl.DataFrame) -> pl.DataFrame:
    """quality.deliveries: per delivery (with its file name), the share quarantined."""
    per_delivery = quarantined_per_delivery(con).join(
        deliveries.select("delivery_seq", "file_name"), on="delivery_seq", how="left"
    )
    replace_tables(con, "quality", {"deliveries": per_delivery})
    return per_delivery


def _log_verdicts(context: dg.AssetExecutionContext, judged: Judged) -> None:
    verdicts = judged.verdicts
    context.log.info(
        f"{judged.validated:,} staged tallies: {verdicts.accepted.height:,} accepted, "
        f"{verdicts.quarantine.height:,} quarantined, "
        f"{verdicts.issues.filter(severity='warn')['tally_id'].n_unique():,} flagged"
    )


def _materializations(
    plan: Plan, judged: Judged, policy: dict, threshold, threshold_from, in_tables: dict
):
    verdicts = judged.verdicts
    errors = [r for r in judged.rules if r.severity == "error"]
    held = verdicts.issues.filter(severity="error")
    yield dg.MaterializeResult(
        asset_key=QUALITY_QUARANTINE,
        metadata={
            ROW_COUNT: in_tables["quarantine"],
            "mode": plan.mode,
            "validated": judged.validated,
            "accepted": verdicts.accepted.height,
            "quarantined": verdicts.quarantine.height,
            **{f"quarantined_{r.id}": held.filter(rule_id=r.id).height for r in errors},
            "overridden": verdicts.issues.filter("overridden").height,
            "policy": dg.MetadataValue.json(policy),
            "quarantine_threshold": threshold,
            "threshold_from": threshold_from,
        },
    )
    yield dg.MaterializeResult(
        asset_key=QUALITY_ISSUES,
        metadata={ROW_COUNT: in_tables["issues"], "issues": verdicts.issues.height},
    )
