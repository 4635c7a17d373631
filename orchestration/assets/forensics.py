"""Accepted tallies → marts/forensics: forensic warnings (F1-F3), published with the marts.

Never blocking: each check is a WARN asset check and raises a warn alert when it flags anything.
Incremental when the quality gate applied the last drop incrementally: the forensic state (kept in
the warehouse) is moved by the drop and only the centres it touches are read again; the mart is
the same as a full computation's (docs/forensics.md).
"""

from dataclasses import replace

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
from transforms.forensics.contests import (
    contest_mart,
    contest_states,
    contest_tally_frame,
    contest_views,
    keyed_by_contest,
    state_of,
)
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
    read_accepted_of_contests,
    read_forensic_state,
    write_forensic_state,
)
from warehouse.run_frames import RunFrames
from warehouse.tables import (
    accepted_of,
    read_contest_inputs,
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
        write_forensic_state(con, state, plan.stamp)
        unnamed = unnamed_mart(state, election).with_columns(
            pl.lit(election.default_contest.id, pl.String).alias(CONTEST)
        )
        frame = with_names(unnamed, units_of(con, named_units(unnamed)))
        replace_tables(con, "marts", {"forensics": frame})  # the publish step adds it
    summary = f"from {state.units['tallies'].sum():,} accepted tallies"
    yield from _checked(context, duckdb, alerts, frame, election, plan, summary)


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
            state, whole = _general_updated(con, election, views, frames.change(con, []))
            if whole:
                plan = replace(plan, stamp=replace(plan.stamp, reason=f"{plan.reason}; {whole}"))
        except NeedsFullBuild as why:
            plan = plan.full_instead(f"full instead: {why}")
    log.info(f"forensics {plan.mode}: {plan.reason}")
    if not plan.incremental:
        tallies, _, quarantine = frames.staged(con, [])
        columns = list(dict.fromkeys([*tally_columns(election), CONTEST, "vote_for"]))
        kept = accepted(tallies, quarantine).select(columns)
        votes, _, _ = read_contest_inputs(con, kept)
        state = contest_states(kept, votes, views)
    write_forensic_state(con, state, plan.stamp)
    unnamed = contest_mart(state, views)
    frame = with_names(unnamed, units_of(con, named_units(unnamed)))
    replace_tables(con, "marts", {"forensics": frame})  # the publish step adds it
    summary = f"over {frame['contest_id'].n_unique()} contest(s) of a general election"
    return frame, plan, summary


def _general_updated(con, election, views, change: Change) -> tuple[ForensicState, str]:
    """The kept state moved by the last change, contest by contest: the touched contests'
    statistics by the difference and their touched centres' F2 verdicts from those centres'
    tallies (read again); the other contests' rows as they were. A contest the difference
    cannot move (its main candidates change) is computed again from all its tallies; the
    second value says which and why ('' when none)."""
    long_votes = read_change_long_votes(con)
    sides = [
        tallies.join(ids, on="tally_id", how="semi")
        for tallies, ids in (
            (change.before_tallies, change.before_accepted),
            (change.after_tallies, change.after_accepted),
        )
    ]
    old = read_forensic_state(con)
    kept_contests = set(old.units[CONTEST].to_list()) if CONTEST in old.units.columns else set()
    moved = {}
    for contest in sorted(set(sides[0][CONTEST]) | set(sides[1][CONTEST]), key=str):
        if contest not in views or contest not in kept_contests:
            raise NeedsFullBuild(f"contest {contest} has no kept state or no lines")
        view = views[contest]
        before, after = (
            contest_tally_frame(side.filter(pl.col(CONTEST) == contest), votes, view)
            for side, votes in zip(sides, long_votes, strict=True)
        )
        moved[contest] = (before, after, touched_centres(before, after))
    centre_tallies, centre_votes = _touched_centre_tallies(con, election, moved)
    states, whole = [], {}
    for contest, (before, after, _) in moved.items():
        view = views[contest]
        own = centre_tallies.filter(pl.col(CONTEST) == contest)
        centres = contest_tally_frame(own, centre_votes, view) if own.height else before.clear()
        try:
            state = updated_state(state_of(old, view), before, after, centres, view.election)
        except NeedsFullBuild as why:
            whole[contest] = str(why)
            continue
        states.append((contest, state))
    recomputed = keyed_by_contest([])
    if whole:
        recomputed = contest_states(*read_accepted_of_contests(con, list(whole)), views)
    untouched = {
        name: frame.filter(~pl.col(CONTEST).is_in(list(moved)))
        for name, frame in old.frames().items()
    }
    updated = keyed_by_contest(states)
    return ForensicState(
        **{
            name: pl.concat(
                [untouched[name], frame, recomputed.frames()[name]], how="diagonal_relaxed"
            )
            for name, frame in updated.frames().items()
        }
    ), "; ".join(f"contest {c} computed again from all its tallies: {w}" for c, w in whole.items())


def _touched_centre_tallies(con, election, moved: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The accepted tallies (and long votes) of the centres each contest's drop touches."""
    touched = [
        centres.with_columns(pl.lit(contest, pl.String).alias(CONTEST))
        for contest, (_, _, centres) in moved.items()
    ]
    wanted = pl.concat(touched) if touched else pl.DataFrame()
    if len(election.levels) < 2 or not wanted.height:
        empty = pl.DataFrame(schema={"tally_id": pl.Int64, CONTEST: pl.String})
        votes = pl.DataFrame(
            schema={"tally_id": pl.Int64, "candidate_id": pl.String, "votes": pl.Int64}
        )
        return empty, votes
    return read_accepted_of_contest_centres(con, election.code_columns[-2], wanted)


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
