"""Building the marts from the staged tallies, or updating the published ones by the last
change: what the marts asset runs (orchestration/assets/marts.py).

Which marts there are, and how an incremental run updates each, is declared once in the mart
registry (warehouse/mart_registry.py); a full build runs each mart's build function in BUILDS.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import polars as pl

from expectations.rules import RULES, applicable, for_policy
from orchestration.resources import Warehouse
from transforms import refresh
from transforms.accepted import ACCEPTED_SQL, accepted, at_polling_units
from transforms.ballots import (
    ballot_pairs,
    expected_in_districts,
    own_districts,
    registry_registered,
)
from transforms.contest_results import climbed_columns, contest_results, wide_contest_results
from transforms.contest_status import contest_status, uncounted_registered
from transforms.contests import ballot_width, contests_frame, slot_view
from transforms.delta import (
    KEYS,
    UNIT,
    Deltas,
    NeedsFullBuild,
    Side,
    line_counts,
    lost_lines,
    mart_deltas,
    updated_contest_coverage,
    updated_contest_results,
    updated_coverage,
    updated_quality_summary,
    updated_results,
    updated_turnout,
)
from transforms.history import amendments
from transforms.model import NATIONAL, Election
from transforms.quality_marts import quality_issues, quality_summary
from transforms.reconciliation import (
    compare,
    reconcile,
    reconciliation_lines,
    reconciliation_summary,
)
from transforms.rollup import RESULT_COLUMNS, Marts, build_marts, counts_marts, results_long
from transforms.staging import CONTEST
from transforms.verification import announced_vs_tallied
from warehouse.change import Change, read_change_long_votes, read_line_holders
from warehouse.db import table_exists, transaction
from warehouse.mart_registry import Step, built_by, mart
from warehouse.mart_updates import (
    copy_published,
    open_pending,
    published_pairs,
    published_stamp,
    put_back,
    read_district_rows,
    read_national,
    take_touched,
    votes_wide_of,
)
from warehouse.publish import (
    MartWriter,
    append_mart,
    append_wide_results,
    create_declared,
    pending_writer,
    write_mart,
    write_pending,
)
from warehouse.published_state import published_generation
from warehouse.raw_load import feed_sources
from warehouse.raw_lookup import read_ballot_registry, registry_lists_ballots
from warehouse.refresh_state import staged_and_gate
from warehouse.run_frames import RunFrames
from warehouse.tables import read_table, units_of, versions_of
from warehouse.withdrawals import read_deliveries

CHANGED = ["delivery_seq", "source_row"]
RULE_IDS = [r.id for r in RULES]


def rule_text(election: Election, lists_ballots: bool = False) -> pl.DataFrame:
    """rule_id → description, as the election's quality policy words W1 and W2 (and E6 where
    the registry lists each unit's contests)."""
    rules = applicable(for_policy(RULES, election.quality), True, lists_ballots)
    return pl.DataFrame(
        {"rule_id": [r.id for r in rules], "description": [r.description for r in rules]}
    )


def plan_marts(con, target, general: bool = False, announced: bool = False) -> tuple[str, str]:
    """(mode, reason): update the published marts by the last change when the gate applied it
    incrementally, the published file's stamp is the previous generation, and the change can be
    applied as a difference (one source; a general election without a registry listing each
    unit's contests or announced totals); rebuild them otherwise (transforms.refresh.plan)."""
    staged, gate = staged_and_gate(con)
    several = len(feed_sources(con)) > 1
    ballots = general and registry_lists_ballots(con)
    decided = refresh.plan(
        "the published marts",
        published_generation(con, published_stamp(target)),  # or the unchanged run's
        gate if staged else None,
        current=staged,
        full_because=[
            several and "several sources: reconciliation compares them tally by tally",
            ballots
            and "the registry lists each unit's contests: a general election's coverage and "
            "ballot bound are counted from every staged tally",
            general
            and announced
            and "announced totals of a general election are bounded per contest from every "
            "accepted tally",
        ],
        incremental_because="applying the last drop to the published marts",
    )
    return decided.mode, decided.reason


@dataclass
class Staged:
    """What a full build reads: every staged tally, and the tables the marts are made from."""

    config: object  # the election configuration (election, announced bulletins)
    tallies: pl.DataFrame  # every staged tally, accepted or not
    votes: pl.DataFrame  # wide: tally_id and a column per candidate
    quarantine: pl.DataFrame
    units: pl.DataFrame
    versions: pl.DataFrame
    issues: pl.DataFrame
    deliveries: pl.DataFrame
    registry: pl.DataFrame | None  # only read when there are announced totals to bound
    view: Election | None = None  # a general election's: a candidate per ballot line
    lines: pl.DataFrame | None = None  # ...and each contest's line → candidate
    contests: pl.DataFrame | None = None  # ...and its contests (staged.contests)
    ballots: pl.DataFrame | None = None  # ...and the contests on each unit's ballot, if listed

    @property
    def election(self) -> Election:
        return self.view if self.view is not None else self.config.election

    @cached_property
    def counted(self) -> pl.DataFrame:
        """The tallies of the sources at the polling units: every mart but the reconciliation
        and the issues is built from them (a source above them is only reconciled)."""
        return at_polling_units(self.tallies, self.election.higher_sources)

    @cached_property
    def accepted(self) -> pl.DataFrame:
        return accepted(self.counted, self.quarantine)

    @cached_property
    def rollups(self) -> Marts:
        """The results (wide), turnout and coverage of an election of one contest. A general
        election's are set by _build_general, which writes its results contest by contest."""
        if self.lines is not None:
            raise RuntimeError("a general election's rollups are set by _build_general")
        return build_marts(
            self.accepted, self.votes, self.units, self.election, received=self.counted
        )

    @cached_property
    def compared(self) -> pl.DataFrame:
        """Every source's accepted tallies (those above the polling units included) compared
        per pair, contest and unit (transforms/reconciliation.py)."""
        every = accepted(self.tallies, self.quarantine)
        return compare(every, self.votes, self.election, self.lines)

    @cached_property
    def reconciled(self) -> pl.DataFrame:
        return reconcile(self.compared, self.election, self.lines)


def _announced_vs_tallied(staged: Staged) -> pl.DataFrame:
    built, election = staged.rollups, staged.election
    if built.results is None:  # an election of one contest
        return announced_vs_tallied(
            staged.config.announced,
            results_long(built.results_wide.filter(level=NATIONAL), election),
            built.coverage.filter(level=NATIONAL),
            built.turnout.filter(level=NATIONAL).select("source_id", "total_votes"),
            election,
            _uncounted_registered(staged.registry, staged.accepted, election),
        )
    contests = contests_of(staged)
    return announced_vs_tallied(
        staged.config.announced,
        built.results.filter(level=NATIONAL),
        built.coverage.filter(level=NATIONAL),
        built.turnout.filter(level=NATIONAL).select("source_id", CONTEST, "total_votes"),
        staged.config.election,
        _uncounted_registered_per_contest(staged, contests),
        dict(contests.select(CONTEST, "vote_for").iter_rows()),
    )


def _uncounted_registered_per_contest(staged: Staged, contests: pl.DataFrame) -> dict:
    """Per (contest, source): registered voters of the registry's units with no accepted tally
    of the contest, for the contests on every ballot (a contest elected in districts: which
    units vote in it is not known from the registry, so nothing)."""
    if staged.registry is None:
        return {}
    found = {}
    whole_area = contests.filter(pl.col("district_level").is_null())[CONTEST].to_list()
    for contest in whole_area:
        accepted = staged.accepted.filter(pl.col(CONTEST) == contest)
        per_source = _uncounted_registered(staged.registry, accepted, staged.config.election)
        found |= {(contest, source): v for source, v in per_source.items()}
    return found


def contests_of(staged: Staged) -> pl.DataFrame:
    """contest_id, contest_name, seats, vote_for, district_level of every contest."""
    if staged.contests is not None:
        return staged.contests
    return contests_frame((staged.config.election.default_contest,))


def _contest_status(staged: Staged) -> pl.DataFrame:
    built, election = staged.rollups, staged.election
    results = built.results
    if results is None:  # an election of one contest: its one district is national
        results = results_long(built.results_wide.filter(level=NATIONAL), election)
    contests = contests_of(staged)
    bound = None
    if staged.ballots is not None:
        bound = ballot_bound(staged.ballots, contests, staged, election)
    unchecked = unchecked_counts(staged.config.election, built.coverage)
    return contest_status(results, built.coverage, built.turnout, contests, bound, unchecked)


def ballot_bound(
    ballots: pl.DataFrame, contests: pl.DataFrame, staged: Staged, election: Election
) -> pl.DataFrame:
    """Per source, contest and district: the registered voters of the units where the contest is
    on the ballot and that have no accepted tally of it (contest_status.uncounted_registered).
    A source for which the quality policy demotes E2 or E7 gets none: its tallies may then hold
    more ballots than the registry's figure, which would break the bound."""
    districts = own_districts(staged.tallies, ballots, election)
    expected = expected_in_districts(ballots, contests, districts, election)
    sources = [s for s in _sources(staged) if not bound_waived(election, s)]
    counted = staged.accepted.select("source_id", "contest_id", "tally_code")
    return uncounted_registered(expected, counted, sources)


def _sources(staged: Staged) -> list[str]:
    found = set(staged.tallies["source_id"].unique().to_list())
    return sorted(found | {s.id for s in staged.config.election.sources})


# What the bound on the ballots still to come rests on (docs/contest-status.md): a late
# tally's lines whole and not negative (E1), every one read (E8) and summing to its valid votes
# (E3), its votes cast within its registered voters (E2), those the registry's (E7), one tally
# per unit and contest (E5) at a unit and in a district the registry expects it in (E6).
BOUND_RULES = ("E1", "E2", "E3", "E5", "E6", "E7", "E8")
# ... and what counted = expected (every expected tally counted) rests on
COUNT_RULES = ("E5", "E6")


def _demoted(election: Election, source: str, rules: tuple[str, ...]) -> bool:
    """Does the policy demote one of these rules for this source (or every source)?"""
    return any(o.rule in rules and o.source in (None, source) for o in election.quality.overrides)


def bound_waived(election: Election, source: str) -> bool:
    """No bound on the ballots still to come for this source: its policy lets a late tally
    break a rule the bound rests on (BOUND_RULES)."""
    return _demoted(election, source, BOUND_RULES)


def unchecked_counts(election: Election, coverage: pl.DataFrame) -> list[str]:
    """The sources of coverage whose counted = expected says nothing (contest_status's
    unchecked_counts): their policy demotes E5 or E6, so a unit may count twice or outside the
    registry."""
    sources = coverage["source_id"].unique().sort().to_list()
    return [s for s in sources if _demoted(election, s, COUNT_RULES)]


# The build function of every mart of the marts step but results (written from its wide form,
# staged.rollups.results_wide), in the registry's order.
BUILDS: dict[str, Callable[[Staged], pl.DataFrame]] = {
    "turnout": lambda staged: staged.rollups.turnout,
    "coverage": lambda staged: staged.rollups.coverage,
    "quality_summary": lambda s: quality_summary(
        s.counted, s.issues, s.units, RULE_IDS, s.election
    ),
    "quality_issues": lambda s: quality_issues(
        s.issues, s.tallies, s.deliveries, rule_text(s.election, s.ballots is not None), s.election
    ),
    "reconciliation": lambda staged: staged.reconciled,
    "reconciliation_lines": lambda s: reconciliation_lines(s.compared, s.election, s.lines),
    "reconciliation_summary": lambda s: reconciliation_summary(s.reconciled, s.units, s.election),
    "announced_vs_tallied": _announced_vs_tallied,
    "contest_status": _contest_status,
    "amendments": lambda staged: amendments(staged.versions, staged.deliveries),
}


def build_all(duckdb: Warehouse, frames: RunFrames, config, target) -> dict[str, int]:
    """Build every mart of the marts step whole and write them into a fresh pending file."""
    with duckdb.get_connection() as con:
        view, lines = ballot_lines(con, config.election)
        if lines is None:
            tallies, votes, quarantine = frames.staged(con, view.candidate_ids)
        else:  # a general election's marts climb its long votes (transforms/contest_results)
            tallies, _, quarantine = frames.staged(con, [])
            votes = read_table(con, "staged", "tally_votes")
        staged = _read_staged(con, config, tallies, votes, quarantine)
        staged.view, staged.lines = view, lines
        if lines is not None:
            staged.contests = read_table(con, "staged", "contests")
            staged.ballots = ballot_pairs(read_ballot_registry(con), config.election)
    if lines is not None:
        return _build_general(staged, target)
    election = staged.election
    # built, then written: its results' write is most of the step, which overlapping with
    # the few marts built after the rollups made no faster (1M tables, paired runs)
    built = {name: build(staged) for name, build in BUILDS.items()}
    results_wide = staged.rollups.results_wide
    write_pending(target, results_wide, built, election)
    counts = {table: frame.height for table, frame in built.items()}
    return {"results": results_wide.height * len(election.result_ids), **counts}


# written first, while a general election's results are climbed: both are ready before them
EARLY = ("turnout", "coverage")


def _build_general(staged: Staged, target) -> dict[str, int]:
    """A general election's marts, in one pending file: its turnout and coverage, then its
    results contest by contest as they are climbed (the whole mart, some 25 rows per polling
    unit at three contests, is never held at once), then the others, which read of the results
    only the rows kept (_write_contest_results). Each is written while the next is built."""
    election = staged.election
    turnout, coverage = counts_marts(
        staged.accepted, staged.units, election, received=staged.counted, ballots=staged.ballots
    )
    built = {}
    with pending_writer(target) as writer:
        writer.submit(write_mart, "turnout", turnout, election)
        writer.submit(write_mart, "coverage", coverage, election)
        kept, written = _write_contest_results(writer, staged)
        # the rollups the other marts read: set here, so never built whole (cached_property)
        staged.rollups = Marts(kept.clear(), turnout, coverage, kept)
        for name, build in BUILDS.items():
            built[name] = build(staged)
            if name not in EARLY:
                writer.submit(write_mart, name, built[name], election)
    return {"results": written, **{table: frame.height for table, frame in built.items()}}


def _write_contest_results(writer: MartWriter, staged: Staged) -> tuple[pl.DataFrame, int]:
    """The results mart written contest by contest, climbed wide where it can be
    (transforms.contest_results.wide_contest_results), else long; returns the rows that
    contest_status and announced_vs_tallied read (each contest's district level, and the
    national one) and how many rows were written."""
    election = staged.election
    names = staged.units.select("level", "unit_code", "unit_name")
    lines = staged.lines.select(CONTEST, "candidate_id", "candidate_name")
    district_level = dict(contests_of(staged).select(CONTEST, "district_level").iter_rows())
    # split per contest without the thirty other columns; each tally names its contest
    accepted = climbed_columns(staged.accepted, election)
    writer.submit(create_declared, mart("results"), election)
    kept = [contest_results(accepted.clear(), staged.votes.clear(), names, lines, election)]
    written = 0
    for (contest,), own in sorted(accepted.partition_by(CONTEST, as_dict=True).items()):
        # a tally's votes name its contest; those of tallies not accepted go in the join
        votes = staged.votes.filter(pl.col(CONTEST) == contest)
        own_lines = lines.filter(pl.col(CONTEST) == contest)
        levels = [NATIONAL, district_level.get(contest) or NATIONAL]
        wide = wide_contest_results(own, votes, names, own_lines, election)
        if wide is None:
            rows = contest_results(own, votes, names, own_lines, election)
            writer.submit(append_mart, "results", rows, election)
            written += rows.height
            kept.append(rows.filter(pl.col("level").is_in(levels)))
            continue
        writer.submit(append_wide_results, wide.rows, wide.lines, wide.line_ids)
        writer.submit(append_mart, "results", wide.above, election)
        written += wide.height
        kept.append(wide.at_levels(levels))
    return pl.concat(kept), written


def ballot_lines(con, election: Election) -> tuple[Election, pl.DataFrame | None]:
    """The election as the marts see it, and its results lines: an election of one contest as
    it is (None: each candidate its own line); a general election with a candidate per ballot
    position, each contest's positions named by `staged.contest_lines`."""
    if not election.is_general:
        return election, None
    lines = read_table(con, "staged", "contest_lines")
    view = slot_view(election, ballot_width(lines))
    return view, lines.select(
        "contest_id", pl.col("slot").alias("line"), "candidate_id", "candidate_name"
    )


def _read_staged(con, config, tallies, votes, quarantine) -> Staged:
    return Staged(
        config,
        tallies,
        votes,
        quarantine,
        units=read_table(con, "staged", "units"),
        versions=read_table(con, "staged", "tally_versions"),
        issues=read_table(con, "quality", "issues"),
        deliveries=read_deliveries(con),
        registry=_registry_if_announced(con, config),
    )


def _registry_if_announced(con, config) -> pl.DataFrame | None:
    """The registry only bounds announced totals: read it only when there are some."""
    wanted = config.announced and table_exists(con, "raw", "registry")
    return read_table(con, "raw", "registry") if wanted else None


@dataclass(frozen=True)
class ChangeContext:
    """What an update reads besides the change itself."""

    deliveries: pl.DataFrame
    versions: pl.DataFrame  # every version of the changed units
    registry: pl.DataFrame | None  # only with announced totals to bound
    accepted: pl.DataFrame | None  # source_id, tally_code of accepted tallies (idem)


def apply_change(duckdb: Warehouse, frames: RunFrames, config, target) -> dict[str, int]:
    """Apply the last change (replaced and restaged tallies) to a copy of the published marts."""
    if config.election.is_general:
        return _apply_general_change(duckdb, frames, config, target)
    election = config.election
    candidates = election.candidate_ids
    with duckdb.get_connection() as con:
        change = frames.change(con, candidates)
        context = _read_change_context(con, config, change)
    deltas = _deltas_of(change, election)
    touched = deltas.touched()
    with duckdb.get_connection() as con:
        units = units_of(con, touched)
    copy_published(target)
    with open_pending(target) as con, transaction(con):
        new_rows = _updated_summed_rows(take_touched(con, touched), deltas, units, election)
        new_rows |= _swapped_rows(change, context, election)
        if config.announced:
            new_rows["announced_vs_tallied"] = _announced_after_update(
                con, new_rows, config, context
            )
        new_rows["contest_status"] = _status_after_update(con, new_rows, config)
        put_back(con, new_rows, _changed_keys(change), election)
    return _rewritten(new_rows)


def _apply_general_change(duckdb: Warehouse, frames: RunFrames, config, target) -> dict[str, int]:
    """A general election's change applied to a copy of the published marts: results climbed
    per line (long), turnout, coverage and quality_summary per contest by their deltas, issues
    and amendments swapped, contest_status recomputed from the districts' updated rows.
    plan_marts has already sent a registry listing each unit's contests, announced totals and
    several sources (reconciliation) to a full build; NeedsFullBuild covers the rest."""
    with duckdb.get_connection() as con:
        view, lines = ballot_lines(con, config.election)
        change = frames.change(con, [])
        context = _read_change_context(con, config, change)
        long = read_change_long_votes(con)
        contests = read_table(con, "staged", "contests")
    deltas = _deltas_of(change, view, long)
    touched = deltas.touched()
    lost, counts = lost_lines(deltas, view), None
    with duckdb.get_connection() as con:
        names = units_of(con, touched).select("level", "unit_code", "unit_name")
        if lost.height:  # whether their rows go depends on the tallies the change left alone
            counts = line_counts(*read_line_holders(con, lost), lost, view)
    copy_published(target)
    with open_pending(target) as con, transaction(con):
        _refuse_new_contests(con, deltas)
        old = take_touched(con, touched)
        coverage = updated_contest_coverage(old["coverage"], deltas, names)
        counted = coverage.select(*KEYS, "counted")
        new_rows = {
            "results": updated_contest_results(old["results"], deltas, names, lines, counts),
            "turnout": updated_turnout(old["turnout"], deltas, counted, names),
            "coverage": coverage,
            "quality_summary": updated_quality_summary(old["quality_summary"], deltas, names),
        }
        new_rows |= _swapped_rows(change, context, view)
        put_back(con, new_rows, _changed_keys(change), view)
        # the districts' rows as they now stand in the file (every touched one put back)
        results, coverage, turnout = read_district_rows(con, contests)
        unchecked = unchecked_counts(config.election, coverage)
        status = contest_status(results, coverage, turnout, contests, None, unchecked)
        put_back(con, {"contest_status": status}, {}, view)
    return _rewritten({**new_rows, "contest_status": status})


def _refuse_new_contests(con, deltas: Deltas) -> None:
    """A source or contest the published coverage lacks has rows to make at every unit."""
    fresh = deltas.coverage.select("source_id", "contest_id").unique()
    if published_pairs(con, fresh).height < fresh.height:
        raise NeedsFullBuild("the change brings a contest or source the marts have not seen")


def _rewritten(new_rows: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Per mart of the step: the rows an update rewrote."""
    return {
        m.name: new_rows[m.name].height if m.name in new_rows else 0 for m in built_by(Step.MARTS)
    }


def _changed_units(change: Change) -> pl.DataFrame:
    frames = [change.before_tallies.select(UNIT), change.after_tallies.select(UNIT)]
    return pl.concat(frames).unique()


def _read_change_context(con, config, change: Change) -> ChangeContext:
    registry = _registry_if_announced(con, config)
    return ChangeContext(
        deliveries=read_deliveries(con),
        versions=versions_of(con, _changed_units(change)),
        registry=registry,
        accepted=con.sql(f"select source_id, tally_code from {ACCEPTED_SQL}").pl()
        if registry is not None
        else None,
    )


def _deltas_of(change: Change, election: Election, long=None) -> Deltas:
    before = Side(
        change.before_tallies, change.before_votes, change.before_accepted, change.before_issues
    )
    after = Side(
        change.after_tallies, change.after_votes, change.after_accepted, change.after_issues
    )
    return mart_deltas(before, after, RULE_IDS, election, long)


def _updated_summed_rows(
    old: dict[str, pl.DataFrame], deltas: Deltas, units: pl.DataFrame, election: Election
) -> dict[str, pl.DataFrame]:
    """The touched units' rows of the summed marts, updated by the change's deltas."""
    names = units.select("level", "unit_code", "unit_name")
    coverage = updated_coverage(old["coverage"], deltas, units)
    counted = coverage.select(*KEYS, "counted")
    results = updated_results(
        votes_wide_of(old["results"], election), deltas, counted, names, election
    )
    return {
        "results": results_long(results, election),
        "turnout": updated_turnout(old["turnout"], deltas, counted, names),
        "coverage": coverage,
        "quality_summary": updated_quality_summary(old["quality_summary"], deltas, names),
    }


def _swapped_rows(
    change: Change, context: ChangeContext, election: Election
) -> dict[str, pl.DataFrame]:
    """The new rows of the marts keyed by changed tallies (issues) or units (amendments)."""
    added, deliveries = change.after_tallies, context.deliveries
    return {
        "quality_issues": quality_issues(
            change.after_issues, added, deliveries, rule_text(election), election
        ),
        "amendments": amendments(context.versions, deliveries),
    }


def _changed_keys(change: Change) -> dict[str, pl.DataFrame]:
    """Per by_rows mart: the keys of the rows the change replaces."""
    tallies = [change.before_tallies.select(CHANGED), change.after_tallies.select(CHANGED)]
    return {"quality_issues": pl.concat(tallies), "amendments": _changed_units(change)}


def _announced_after_update(
    con, new_rows: dict[str, pl.DataFrame], config, context: ChangeContext
) -> pl.DataFrame:
    """announced_vs_tallied from the national rows as they stand after the update."""
    national = _national_after_update(con, new_rows)
    election = config.election
    return announced_vs_tallied(
        config.announced,
        national["results"].select(RESULT_COLUMNS),
        national["coverage"],
        national["turnout"].select("source_id", "total_votes"),
        election,
        _uncounted_registered(context.registry, context.accepted, election),
    )


def _national_after_update(con, new_rows: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    national = read_national(con)
    for table in ("results", "coverage", "turnout"):
        fresh = new_rows[table].filter(level=NATIONAL)
        national[table] = fresh if fresh.height else national[table]
    return national


def _status_after_update(con, new_rows: dict[str, pl.DataFrame], config) -> pl.DataFrame:
    """contest_status from the national rows after the update (only an election of one contest
    is updated incrementally: its one district is national)."""
    national = _national_after_update(con, new_rows)
    return contest_status(
        national["results"].select(RESULT_COLUMNS),
        national["coverage"],
        national["turnout"],
        contests_frame((config.election.default_contest,)),
        unchecked_counts=unchecked_counts(config.election, national["coverage"]),
    )


def _uncounted_registered(
    registry: pl.DataFrame | None, accepted: pl.DataFrame, election: Election
) -> dict[str, int | None]:
    """Per source: registered voters of the registry's units with no accepted tally, read as
    rule E2 reads them (transforms.ballots.registry_registered); None when one of those units
    has no positive figure: its ballots are unbounded (announced_vs_tallied then estimates)."""
    if registry is None:
        return {}
    code = election.code_column(election.tally_level)
    units = registry.select(pl.col(code).alias("tally_code"), registry_registered())
    found = {}
    for source in accepted["source_id"].unique().to_list():
        counted = accepted.filter(source_id=source).select("tally_code")
        left = units.join(counted, on="tally_code", how="anti")["registered"]
        bounded = left.is_not_null().all() and bool((left > 0).all())
        found[source] = int(left.sum()) if bounded else None
    return found
