"""What the HTML report shows: frames read from the published marts, for one source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl


@dataclass(frozen=True)
class ReportData:
    source: str
    published_file: str
    run_id: str | None
    published_at: datetime | None
    tally_level: str
    top_level: str | None
    election_name: str | None
    sources: pl.DataFrame  # one row per source: coverage, turnout and leader, national
    national: pl.DataFrame  # results, national, by rank
    national_turnout: pl.DataFrame  # one row
    national_coverage: pl.DataFrame  # one row
    by_state: pl.DataFrame  # results at the level below national
    state_turnout: pl.DataFrame  # turnout joined with coverage at that level
    fingerprint: pl.DataFrame  # candidate_id, candidate_name, turnout_bin, share_bin, tallies
    turnout_distribution: pl.DataFrame  # turnout_bin, tallies
    quality: pl.DataFrame  # quality_summary, national row
    rules: pl.DataFrame  # the rule catalogue: rule_id, severity, description
    reconciliation: pl.DataFrame | None = None  # national rows for pairs with this source
    announced: pl.DataFrame | None = None
    projection: pl.DataFrame | None = None
    forensics: pl.DataFrame | None = None
    # error rules the election's quality policy demotes: rule_id, override_reason, tallies
    overrides: pl.DataFrame | None = None
    # a general election (more than one contest): the main contests in full, the first of them
    # in the sections above; every other contest, one row per district (see contests.py)
    contests: tuple[ContestView, ...] = ()
    other_contests: pl.DataFrame | None = None
    contest_count: int = 1
    decided_count: int = 0


@dataclass(frozen=True)
class ContestView:
    """One main contest of a general election, in full."""

    contest_id: str
    name: str
    level: str  # its district level; `national` for a contest of the whole election
    seats: int
    vote_for: int
    national: pl.DataFrame  # results over the whole election, by rank
    turnout: dict  # its national turnout row (ballots, over and under votes)
    coverage: dict  # its national coverage row
    by_state: pl.DataFrame  # results at the election's first level
    status: pl.DataFrame  # contest_status: one row per district (one, national, for most)
