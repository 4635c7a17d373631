"""Accepted tallies → marts/forensics: forensic warnings (F1-F3), published with the marts.

Never blocking: each check is a WARN asset check and raises a warn alert when it flags anything.
Incremental when the quality gate applied the last drop incrementally: the forensic state (kept in
the warehouse) is moved by the drop and only the centres it touches are read again; the mart is
the same as a full computation's (docs/forensics.md). A general election keeps a state per
contest and moves those of the contests a drop touches (transforms.forensics.contests).
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
from transforms.accepted import at_polling_units
from transforms.delta import NeedsFullBuild
from transforms.forensics.contest_delta import (
    centre_column,
    centres_to_examine,
    examined_state,
    moved_contests,
)
from transforms.forensics.contests import contest_mart, contest_views, states_by_contest
from transforms.forensics.delta import touched_centres, updated_state
from transforms.forensics.mart import (
    ForensicState,
    forensic_state,
    named_units,
    tally_columns,
    tally_frame,
    unnamed_mart,
    with_names,
)
from transforms.refresh import Plan
from transforms.staging import CONTEST
from warehouse.change import Change, read_change_long_votes
from warehouse.forensic_state import (
    plan_forensics,
    read_accepted_of_centres,
    read_accepted_of_contest_centres,
    read_centres_counting,
    read_forensic_state,
    write_forensic_state,
)
from warehouse.run_frames import RunFrames
from warehouse.tables import (
    accepted_of,
    accepted_tallies_of,
    read_contest_lines,
    replace_tables,
    units_of,
)


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
    if election.is_general:  # per contest: a drop moves the states of the contests it touches
        with duckdb.get_connection() as con:
            frame, plan, summary = _general(con, election, frames, context.log)
        yield from _checked(context, duckdb, alerts, frame, election, plan, summary)
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
        unnamed = unnamed_mart(state, election).with_columns(
            pl.lit(election.default_contest.id, pl.String).alias(CONTEST)
        )
        frame = _written(con, state, plan, unnamed)
    summary = f"from {state.units['tallies'].sum():,} accepted tallies"
    yield from _checked(context, duckdb, alerts, frame, election, plan, summary)


def _written(con, state: ForensicState, plan: Plan, unnamed: pl.DataFrame) -> pl.DataFrame:
    """The state kept, the mart's units named, the mart written (the publish step adds it)."""
    write_forensic_state(con, state, plan.stamp)
    frame = with_names(unnamed, units_of(con, named_units(unnamed)))
    replace_tables(con, "marts", {"forensics": frame})
    return frame


def _checked(context, duckdb: Warehouse, alerts: Alerter, frame, election, plan: Plan, summary):
    """The mart's checks, their alerts, the log line and the materialization, in that order."""
    checks = list(forensic_check_results(frame, election.tally_level))
    with duckdb.get_connection() as con:
        raise_forensic_alerts(con, alerts, context.log, checks, context.run.run_id)
    flagged = {c.check_name: c.metadata["flagged"].value for c in checks}
    context.log.info(
        f"forensics ({plan.mode}): {frame.height:,} rows {summary}, {sum(flagged.values())} flagged"
    )
    metadata = {ROW_COUNT: frame.height, "mode": plan.mode, "reason": plan.reason}
    yield dg.MaterializeResult(metadata={**metadata, **flagged})
    yield from checks


def _general(con, election, frames: RunFrames, log):
    """A general election's forensics, contest by contest (transforms.forensics.contests):
    incremental as an election of one contest is, each contest's state moved by its part of
    the drop; the mart, its plan and the log line's summary."""
    views = contest_views(read_contest_lines(con), election)
    plan = plan_forensics(con)
    if plan.incremental:
        try:
            state, said = _general_updated(con, election, views, frames.change(con, []))
            if said:
                plan = plan.also(said)
        except NeedsFullBuild as why:
            plan = plan.full_instead(f"full instead: {why}")
    log.info(f"forensics {plan.mode}: {plan.reason}")
    if not plan.incremental:
        columns = [*tally_columns(election), CONTEST, "vote_for"]
        # a source above the polling units (a canvass) is reconciled, never screened
        kept = accepted_tallies_of(frames.staged(con, []), columns, election.higher_sources)
        state = states_by_contest(kept, lambda c: frames.cast_votes(con, c), views)
    frame = _written(con, state, plan, contest_mart(state, views))
    summary = f"over {frame['contest_id'].n_unique()} contest(s) of a general election"
    return frame, plan, summary


def _general_updated(con, election, views, change: Change) -> tuple[ForensicState, str]:
    """The kept state moved by the last change, contest by contest, and what the plan's reason
    adds (transforms.forensics.contest_delta): the warehouse's reads between its steps."""
    old = read_forensic_state(con)
    sides, long_votes = change.accepted_sides(), read_change_long_votes(con)
    moves = moved_contests(old, sides, long_votes, views, election.higher_sources)
    column = centre_column(election)
    centres = centres_to_examine(moves, read_centres_counting(con, column, moves.main), election)
    tallies, votes = read_accepted_of_contest_centres(con, column, centres)
    return examined_state(old, moves, centres, tallies, votes), moves.reason


def _updated(con, election, change: Change):
    """The forensic state moved by the last change; reads only the touched centres' tallies."""
    # a source above the polling units (a canvass) is reconciled, never screened
    higher = election.higher_sources
    accepted_before, accepted_after = (at_polling_units(s, higher) for s in change.accepted_sides())
    before = tally_frame(accepted_before, change.before_votes, election)
    after = tally_frame(accepted_after, change.after_votes, election)
    old = read_forensic_state(con)
    touched = touched_centres(before, after)
    centre_tallies = before.clear()
    if len(election.levels) > 1 and touched.height:
        tallies, votes = read_accepted_of_centres(
            con, election.candidate_ids, election.code_columns[-2], touched
        )
        centre_tallies = tally_frame(tallies, votes, election)
    return updated_state(old, before, after, centre_tallies, election)
