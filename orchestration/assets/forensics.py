"""Accepted tallies → marts/forensics: forensic warnings (F1-F3), published with the marts.

Never blocking: each check is a WARN asset check and raises a warn alert when it flags anything.
Incremental when the quality gate applied the last drop incrementally: the forensic state (kept in
the warehouse) is moved by the drop and only the centres it touches are read again; the mart is
the same as a full computation's (docs/forensics.md).
"""

import dagster as dg
import polars as pl

from orchestration.alerting import Alerter
from orchestration.assets.keys import MART_FORENSICS, MART_RESULTS, MART_TABLES, MARTS
from orchestration.catalog import ROW_COUNT
from orchestration.forensic_checks import (
    FORENSIC_CHECK_SPECS,
    forensic_check_results,
    raise_forensic_alerts,
)
from orchestration.resources import TallyhouseDirs, Warehouse
from transforms.accepted import accepted
from transforms.delta import NeedsFullBuild
from transforms.forensics.contests import contest_forensics
from transforms.forensics.delta import touched_centres, updated_state
from transforms.forensics.mart import (
    forensic_state,
    named_units,
    tally_columns,
    tally_frame,
    unnamed_mart,
    with_names,
)
from transforms.staging import CONTEST
from warehouse.change import Change
from warehouse.forensic_state import (
    plan_forensics,
    read_accepted_of_centres,
    read_forensic_state,
    write_forensic_state,
)
from warehouse.run_frames import RunFrames
from warehouse.tables import accepted_of, read_contest_inputs, replace_tables, units_of


@dg.asset(
    key=MART_FORENSICS,
    deps=[MART_RESULTS, *MART_TABLES.values()],
    group_name=MARTS,
    check_specs=FORENSIC_CHECK_SPECS,
    description="Forensic warnings on the accepted tallies: last-digit uniformity per unit "
    "of the first level (F1), tallies far from the others of their parent unit (F2), the "
    "turnout x vote-share fingerprint (F3). "
    "Warnings, never proof: see docs/forensics.md.",
)
def forensics_mart(
    context: dg.AssetExecutionContext,
    dirs: TallyhouseDirs,
    duckdb: Warehouse,
    frames: dg.ResourceParam[RunFrames],
    alerts: dg.ResourceParam[Alerter],
):
    election = dirs.election_config().election
    if election.is_general:  # per contest, from every accepted tally on every run
        with duckdb.get_connection() as con:
            frame = _general(con, election, frames)
            replace_tables(con, "marts", {"forensics": frame})
        summary = f"over {frame['contest_id'].n_unique()} contest(s) of a general election"
        yield from _checked(context, duckdb, alerts, frame, election, "full", summary)
        return
    with duckdb.get_connection() as con:
        plan = plan_forensics(con)
        if plan.incremental:
            try:
                state = _updated(con, election, frames.change(con, election.candidate_ids))
            except NeedsFullBuild as why:
                plan = plan.full_instead(f"full instead: {why}")
        context.log.info(f"forensics {plan.mode}: {plan.reason}")
        if not plan.incremental:
            staged = frames.staged(con, election.candidate_ids)
            tallies, votes = accepted_of(staged, tally_columns(election), election.higher_sources)
            state = forensic_state(tally_frame(tallies, votes, election), election)
        write_forensic_state(con, state, plan.stamp)
        unnamed = unnamed_mart(state, election).with_columns(
            pl.lit(election.default_contest.id, pl.String).alias(CONTEST)
        )
        frame = with_names(unnamed, units_of(con, named_units(unnamed)))
        replace_tables(con, "marts", {"forensics": frame})  # the publish step adds it
    summary = f"from {state.units['tallies'].sum():,} accepted tallies"
    yield from _checked(context, duckdb, alerts, frame, election, plan.mode, summary)


def _checked(context, duckdb: Warehouse, alerts: Alerter, frame, election, mode: str, summary):
    """The mart's checks, their alerts, the log line and the materialization, in that order."""
    checks = list(forensic_check_results(frame, election.tally_level))
    with duckdb.get_connection() as con:
        raise_forensic_alerts(con, alerts, context.log, checks, context.run.run_id)
    flagged = {c.check_name: c.metadata["flagged"].value for c in checks}
    context.log.info(
        f"forensics ({mode}): {frame.height:,} rows {summary}, {sum(flagged.values())} flagged"
    )
    yield dg.MaterializeResult(metadata={ROW_COUNT: frame.height, "mode": mode, **flagged})
    yield from checks


def _general(con, election, frames: RunFrames) -> pl.DataFrame:
    """A general election's forensics, contest by contest (transforms.forensics.contests)."""
    tallies, _, quarantine = frames.staged(con, [])
    columns = list(dict.fromkeys([*tally_columns(election), CONTEST, "vote_for"]))
    kept = accepted(tallies, quarantine).select(columns)
    votes, lines, _ = read_contest_inputs(con, kept)
    unnamed = contest_forensics(kept, votes, lines, election)
    return with_names(unnamed, units_of(con, named_units(unnamed)))


def _updated(con, election, change: Change):
    """The forensic state moved by the last change; reads only the touched centres' tallies."""
    before = tally_frame(
        change.before_tallies.join(change.before_accepted, on="tally_id", how="semi"),
        change.before_votes,
        election,
    )
    after = tally_frame(
        change.after_tallies.join(change.after_accepted, on="tally_id", how="semi"),
        change.after_votes,
        election,
    )
    old = read_forensic_state(con)
    touched = touched_centres(before, after)
    centre_tallies = before.clear()
    if len(election.levels) > 1 and touched.height:
        tallies, votes = read_accepted_of_centres(
            con, election.candidate_ids, election.code_columns[-2], touched
        )
        centre_tallies = tally_frame(tallies, votes, election)
    return updated_state(old, before, after, centre_tallies, election)
