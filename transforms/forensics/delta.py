"""A drop applied to the forensic state: cost follows the size of the drop. Pure polars.

F1's and F3's statistics are additive integers: old − replaced + restaged (transforms.delta.
add_stats) equals the statistics of the new accepted tallies exactly. F2's verdicts are a function
of one centre's tables (and of the main candidates): the centres the drop touches are recomputed
from all their current accepted tallies, the others kept. When the drop changes which candidates
are main (a national share crossing 5 %), every centre's shares change: NeedsFullBuild.
"""

from __future__ import annotations

import polars as pl

from transforms.delta import NeedsFullBuild, add_stats
from transforms.forensics.centres import main_candidates
from transforms.forensics.digits import GROUP
from transforms.forensics.mart import (
    UNIT_KEYS,
    ForensicState,
    centre_state,
    tally_digit_stats,
    unit_stats,
)
from transforms.model import Election

CENTRE_KEY = ["source_id", "centre"]


def touched_centres(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """The (source_id, centre) of the accepted tallies a drop replaced or restaged (tally_frame
    rows): the centres whose F2 verdicts may change."""
    return (
        pl.concat([before.select(CENTRE_KEY), after.select(CENTRE_KEY)])
        .filter(pl.col("centre").is_not_null())
        .unique()
        .sort(CENTRE_KEY)
    )


def moved_stats(
    old: ForensicState, before: pl.DataFrame, after: pl.DataFrame, election: Election
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """F1 digit statistics and per-state unit statistics moved by the drop (tally_frame rows of
    the replaced and restaged accepted tallies)."""
    return added_stats(
        old,
        (tally_digit_stats(before, election), unit_stats(before, election)),
        (tally_digit_stats(after, election), unit_stats(after, election)),
    )


def added_stats(
    old: ForensicState, before: tuple[pl.DataFrame, pl.DataFrame], after: tuple
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The state's F1 digit and per-state unit statistics, less the replaced tallies' (before:
    their digits and units), plus the restaged ones' (after)."""
    digits = add_stats(old.digits, before[0], after[0], GROUP, count="counts")
    units = add_stats(old.units, before[1], after[1], UNIT_KEYS, count="tallies")
    return digits, units


def main_changes(old: pl.DataFrame, new: pl.DataFrame, election: Election) -> pl.DataFrame:
    """source_id, candidate_id of the candidates that became main or stopped being (F2's
    shares) between two unit statistics."""
    candidates = election.candidate_ids
    before, after = main_candidates(old, candidates), main_candidates(new, candidates)
    keys = ["source_id", "candidate_id"]
    return (
        pl.concat(
            [before.join(after, on=keys, how="anti"), after.join(before, on=keys, how="anti")]
        )
        .unique()
        .sort(keys)
    )


def updated_stats(
    old: ForensicState, before: pl.DataFrame, after: pl.DataFrame, election: Election
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """moved_stats. Raises NeedsFullBuild when the main candidates change."""
    digits, units = moved_stats(old, before, after, election)
    if main_changes(old.units, units, election).height:
        raise NeedsFullBuild("the drop changed which candidates are main (F2 shares)")
    return digits, units


def updated_state(
    old: ForensicState,
    before: pl.DataFrame,
    after: pl.DataFrame,
    centre_tallies: pl.DataFrame,
    election: Election,
) -> ForensicState:
    """The state after the drop. centre_tallies: tally_frame rows of every current accepted
    tally of the touched_centres(before, after)."""
    digits, units = updated_stats(old, before, after, election)
    return with_centres(
        old, digits, units, touched_centres(before, after), centre_tallies, election
    )


def with_centres(
    old: ForensicState,
    digits: pl.DataFrame,
    units: pl.DataFrame,
    centres: pl.DataFrame,
    centre_tallies: pl.DataFrame,
    election: Election,
) -> ForensicState:
    """The state with the moved statistics and these centres (source_id, centre) examined
    again from centre_tallies (tally_frame rows of every current accepted tally of them), the
    other centres' verdicts kept: every centre whose verdicts the drop may change must be
    among them (those it touches, and where the main candidates changed, every centre
    where one of those candidates has a count)."""
    main = main_candidates(units, election.candidate_ids)
    examined, outliers = centre_state(
        centre_tallies.join(centres, on=CENTRE_KEY, how="semi"), main, election
    )
    kept_centres = old.centres.join(centres, on=CENTRE_KEY, how="anti")
    kept_outliers = old.outliers.join(centres, on=CENTRE_KEY, how="anti")
    return ForensicState(
        digits,
        units,
        pl.concat([kept_centres, examined.cast(old.centres.schema)]).sort(old.centres.columns[:3]),
        pl.concat([kept_outliers, outliers.cast(old.outliers.schema)]).sort(
            ["source_id", "state", "centre", "unit_code", "candidate_id"], nulls_last=True
        ),
    )
