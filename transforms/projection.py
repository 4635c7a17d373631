"""Projected final votes and shares per candidate while only part of the tallies is in.

Pure: frames in, one frame out (the `projection` mart). Method, assumptions and measured coverage
are in docs/projection.md.

Per source, the accepted tallies are a sample of the expected tally units, stratified by state
(the election's first level). Within a state the missing units' votes are estimated with a ratio
estimator on a size measure x: the registered voters of each unit where a registry gives them all
(`weighting = 'registered'`), otherwise x = 1 per tally, which is the mean per tally times the
expected tallies (`'expected_tallies'`). The estimated total of a state is exact for what is
counted plus R * X_missing, R = counted votes / counted x; its variance is the design-based one
with the finite-population correction, N^2 (1 - n/N) / n * (X_mean / x_mean)^2 * s_e^2, where e
are the residuals y - R x of the counted units (so a fully counted state adds none). The strata
add up. Shares are ratios of two estimated totals (candidate over valid votes, both from the same
tallies), so their variance comes from the same stratified formula applied to the linearised
variable y_c - p_c * y_valid (the delta method), which carries the covariance between a
candidate and the valid votes.

A state with fewer than two counted tallies can't give a within-state variance: its missing
units borrow the national rate, with a variance widened by how much the state rates vary around
it (see `_borrowed`). So do tallies expected nationally but placed in no known state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.feed import REGISTERED, TOTAL, VALID
from transforms.model import NATIONAL, Election

Z95 = 1.959963984540054
REGISTERED_WEIGHTING = "registered"
EXPECTED_WEIGHTING = "expected_tallies"
SCHEMA = {
    "source_id": pl.String,
    "candidate_id": pl.String,
    "candidate_name": pl.String,
    "counted_votes": pl.Int64,
    "projected_votes": pl.Float64,
    "lower_95": pl.Float64,
    "upper_95": pl.Float64,
    "projected_share": pl.Float64,
    "share_lower_95": pl.Float64,
    "share_upper_95": pl.Float64,
    "worst_case_min": pl.Int64,
    "worst_case_max": pl.Int64,
    "tallies_counted": pl.Int64,
    "tallies_expected": pl.Int64,
    "weighting": pl.String,
    "method": pl.String,
}
STATE = "_stratum"
SIZE = "_x"


@dataclass(frozen=True)
class Stratum:
    """One state of one source: its counted units and what is missing from it."""

    votes: np.ndarray  # counted units x K (candidates, then valid votes)
    size: np.ndarray  # counted units' size measure x (registered voters, or 1)
    missing_units: int
    missing_size: float  # the missing units' total x


@dataclass(frozen=True)
class Estimate:
    total: np.ndarray  # K: estimated final votes (candidates, then valid votes)
    cov: np.ndarray  # K x K: their covariance
    borrowed: int  # strata that borrowed the national rate


@dataclass(frozen=True)
class Population:
    """One source's tallies arranged for estimation."""

    strata: list[Stratum]
    fixed: np.ndarray  # K: counted votes outside every stratum (units the registry lacks)
    capacity: float  # the most ballots the missing units could hold
    expected: int | None  # tally units expected in all, where known
    weighting: str


def project(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    election: Election,
    registry: pl.DataFrame | None = None,
    units: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The projection mart: one row per source and candidate.

    tallies: the accepted tallies (tally_id, source_id, tally_code, <level>_code, registered,
    valid_votes, total_votes). votes: wide, tally_id and a column per candidate.
    registry: raw.registry (text values are cast), or None. units: staged.units (level,
    unit_code, expected), for the expected tallies when there is no registry.
    """
    counted = _counted(tallies, votes, election)
    sizes = _registry_sizes(registry, election)
    expected = _expected_per_state(registry, units, election)
    frames = []
    for (source,), own in sorted(counted.partition_by("source_id", as_dict=True).items()):
        own = own.drop("source_id")
        if sizes is not None:
            population = _by_registered(own, sizes, election.candidate_ids)
        else:
            population = _by_expected(own, *expected, election.candidate_ids)
        frames.append(_rows(source, own, population, election))
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat(frames).select(list(SCHEMA)).cast(SCHEMA)


def _counted(tallies: pl.DataFrame, votes: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Per accepted tally: source, unit, state, the ballots it could hold, candidate votes."""
    candidates = election.candidate_ids
    capacity = pl.coalesce(
        *[pl.col(c).cast(pl.Float64, strict=False) for c in (REGISTERED, TOTAL, VALID)]
    )
    return (
        tallies.select(
            "tally_id",
            "source_id",
            "tally_code",
            pl.col(election.code_column(election.levels[0])).alias(STATE),
            capacity.fill_null(0.0).alias("_capacity"),
        )
        .join(
            votes.select("tally_id", *[pl.col(c).cast(pl.Float64) for c in candidates]),
            on="tally_id",
            how="left",
        )
        .with_columns(pl.col(candidates).fill_null(0.0))
    )


def _registry_sizes(registry: pl.DataFrame | None, election: Election) -> pl.DataFrame | None:
    """Registry units (tally_code, state, registered) if every one has its registered voters."""
    if registry is None or registry.height == 0 or REGISTERED not in registry.columns:
        return None
    frame = registry.select(
        pl.col(election.code_column(election.tally_level)).alias("tally_code"),
        pl.col(election.code_column(election.levels[0])).alias(STATE),
        pl.col(REGISTERED).cast(pl.Float64, strict=False).alias(SIZE),
    ).unique(subset="tally_code", keep="first", maintain_order=True)
    size = frame[SIZE]
    return frame if size.null_count() == 0 and size.min() >= 0 and size.sum() > 0 else None


def _expected_per_state(
    registry: pl.DataFrame | None, units: pl.DataFrame | None, election: Election
) -> tuple[dict, int | None]:
    """Expected tallies per state where known, and nationally (None when unknown)."""
    state = election.levels[0]
    if registry is not None and registry.height:
        per = registry.group_by(election.code_column(state)).len().iter_rows()
        return {k: int(v) for k, v in per}, registry.height
    if units is None:
        return {}, election.expected_tallies
    known = units.filter(pl.col("expected").is_not_null())
    per = known.filter(level=state).select("unit_code", "expected").iter_rows()
    national = known.filter(level=NATIONAL)["expected"].to_list()
    return {k: int(v) for k, v in per}, int(national[0]) if national else None


def _matrix(frame: pl.DataFrame, candidates: list[str]) -> np.ndarray:
    """Counted votes per unit: a column per candidate, then valid votes (their sum)."""
    y = frame.select(candidates).to_numpy().astype(np.float64)
    y = y.reshape(frame.height, len(candidates))
    return np.column_stack([y, y.sum(axis=1)])


def _by_registered(
    counted: pl.DataFrame, registry: pl.DataFrame, candidates: list[str]
) -> Population:
    """Strata from the registry: counted units weighed by their registered voters."""
    inside = counted.drop(STATE).join(registry, on="tally_code", how="inner")
    outside = counted.join(registry.select("tally_code"), on="tally_code", how="anti")
    missing = registry.join(counted.select("tally_code"), on="tally_code", how="anti")
    parts = inside.partition_by(STATE, as_dict=True)
    gone = {
        key: (n, size)
        for key, n, size in missing.group_by(STATE).agg(pl.len(), pl.col(SIZE).sum()).iter_rows()
    }
    strata = []
    for key in registry[STATE].unique(maintain_order=True).to_list():
        part = parts.get((key,), inside.clear())
        n, size = gone.get(key, (0, 0.0))
        strata.append(Stratum(_matrix(part, candidates), part[SIZE].to_numpy(), n, float(size)))
    return Population(
        strata,
        _matrix(outside, candidates).sum(axis=0),
        float(missing[SIZE].sum()),
        registry.height,
        REGISTERED_WEIGHTING,
    )


def _by_expected(
    counted: pl.DataFrame, per_state: dict, national: int | None, candidates: list[str]
) -> Population:
    """Strata from the expected tallies: every tally weighs one.

    A state whose expected number is unknown counts as complete; tallies expected nationally
    beyond the states' numbers form one more stratum with nothing counted (it borrows).
    """
    parts = counted.partition_by(STATE, as_dict=True)
    keys = [k for (k,) in parts] + [k for k in per_state if (k,) not in parts]
    strata, placed = [], 0
    for key in keys:
        part = parts.get((key,), counted.clear())
        units = max(per_state.get(key, part.height), part.height)
        placed += units
        gone = units - part.height
        strata.append(Stratum(_matrix(part, candidates), np.ones(part.height), gone, float(gone)))
    unplaced = max(national - placed, 0) if national is not None else 0
    if unplaced:
        strata.append(Stratum(_matrix(counted.clear(), candidates), np.ones(0), unplaced, unplaced))
    missing = sum(s.missing_units for s in strata)
    known = national is not None or bool(per_state)
    return Population(
        strata,
        np.zeros(len(candidates) + 1),
        missing * float(counted["_capacity"].max() or 0.0),
        placed + unplaced if known else None,
        EXPECTED_WEIGHTING,
    )


def estimate_strata(strata: list[Stratum]) -> Estimate | None:
    """Sum of the strata's estimated totals and covariances; None when nothing is counted."""
    pooled = [s for s in strata if s.votes.shape[0]]
    if not pooled:
        return None
    k = pooled[0].votes.shape[1]
    total, cov = np.zeros(k), np.zeros((k, k))
    own = [s for s in strata if _estimable(s)]
    for s in own:
        t, c = _within(s)
        total += t
        cov += c
    borrowing = [s for s in strata if not _estimable(s)]
    if borrowing:
        rate, between, per_unit = _national_rate(pooled, own)
        for s in borrowing:
            total += s.votes.sum(axis=0) + rate * s.missing_size
            mean_size = s.missing_size / s.missing_units
            cov += s.missing_size**2 * between + s.missing_units * mean_size**2 * per_unit
    return Estimate(total, cov, len(borrowing))


def _estimable(s: Stratum) -> bool:
    """A stratum can be estimated from within when complete or with two counted units."""
    return s.missing_units == 0 or (s.votes.shape[0] >= 2 and s.size.sum() > 0)


def _within(s: Stratum) -> tuple[np.ndarray, np.ndarray]:
    """Ratio estimator of the stratum's total and its variance with the finite-population
    correction: N^2 (1 - n/N) / n * (X_mean / x_mean)^2 * cov(residuals)."""
    counted = s.votes.sum(axis=0)
    k = counted.size
    if s.missing_units == 0:
        return counted, np.zeros((k, k))
    n, x = s.votes.shape[0], s.size.sum()
    rate = counted / x
    residual = s.votes - np.outer(s.size, rate)
    spread = residual.T @ residual / (n - 1)
    units = n + s.missing_units
    scale = ((x + s.missing_size) / units) / (x / n)
    factor = units**2 * (1 - n / units) / n * scale**2
    return counted + rate * s.missing_size, factor * spread


def _national_rate(
    pooled: list[Stratum], own: list[Stratum]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For strata that borrow: the national rate, the spread of state rates around it, and
    the per-unit residual covariance (per unit of size) within states.

    The between-state covariance of the rates (x (1 + 1/G) for the national rate's own error)
    is what an unobserved state's rate may differ by; with fewer than two states to measure it,
    the spread of single units' rates stands in (much wider), or with one unit, the rate itself.
    """
    votes = np.vstack([s.votes for s in pooled])
    size = np.concatenate([s.size for s in pooled])
    rate = votes.sum(axis=0) / size.sum()
    measured = [s for s in own if s.votes.shape[0] >= 2 and s.size.sum() > 0]
    if len(measured) >= 2:
        rates = np.array([s.votes.sum(axis=0) / s.size.sum() for s in measured])
        between = np.cov(rates, rowvar=False, ddof=1) * (1 + 1 / len(measured))
    elif (size > 0).sum() >= 2:
        usable = size > 0
        between = np.cov(votes[usable] / size[usable, None], rowvar=False, ddof=1)
    else:  # a single counted tally: take the rate itself as its standard deviation
        between = np.outer(rate, rate)
    between = np.nan_to_num(np.atleast_2d(between))
    residuals = [s.votes - np.outer(s.size, s.votes.sum(axis=0) / s.size.sum()) for s in measured]
    dof = sum(r.shape[0] - 1 for r in residuals)
    if dof > 0:
        stacked = np.vstack(residuals)
        per_unit = stacked.T @ stacked / dof / size[size > 0].mean() ** 2
    else:
        per_unit = np.zeros_like(between)
    return rate, between, per_unit


def _rows(source: str, counted: pl.DataFrame, population: Population, election: Election):
    candidates = election.candidate_ids
    k = len(candidates)
    so_far = counted.select(candidates).sum().row(0) if counted.height else (0.0,) * k
    so_far = np.array(so_far, dtype=np.float64)
    capacity = int(round(population.capacity))
    worst_max = so_far + capacity
    estimate = estimate_strata(population.strata) if population.expected is not None else None
    if estimate is None:
        projected = lower = upper = share = share_lo = share_hi = [None] * k
        method = "nothing to project from: expected tallies unknown or none counted"
    else:
        total = estimate.total + population.fixed
        sd = np.sqrt(np.clip(np.diag(estimate.cov)[:k], 0, None))
        projected = total[:k]
        lower = np.clip(projected - Z95 * sd, so_far, None)
        upper = np.minimum(projected + Z95 * sd, worst_max)
        share, share_lo, share_hi = _shares(total, estimate.cov)
        method = _method(population.weighting, estimate.borrowed)
    return pl.DataFrame(
        {
            "source_id": [source] * k,
            "candidate_id": candidates,
            "candidate_name": [c.name for c in election.candidates],
            "counted_votes": so_far.round().astype(np.int64),
            "projected_votes": _floats(projected),
            "lower_95": _floats(lower),
            "upper_95": _floats(upper),
            "projected_share": _floats(share),
            "share_lower_95": _floats(share_lo),
            "share_upper_95": _floats(share_hi),
            "worst_case_min": so_far.round().astype(np.int64),
            "worst_case_max": worst_max.round().astype(np.int64),
            "tallies_counted": [counted.height] * k,
            "tallies_expected": [population.expected] * k,
            "weighting": [population.weighting] * k,
            "method": [method] * k,
        },
        schema=SCHEMA,
    )


def _shares(total: np.ndarray, cov: np.ndarray):
    """Shares of valid votes (the last column) and their delta-method 95 % intervals."""
    valid = total[-1]
    if valid <= 0:
        none = [None] * (total.size - 1)
        return none, none, none
    share = total[:-1] / valid
    var = (np.diag(cov)[:-1] - 2 * share * cov[:-1, -1] + share**2 * cov[-1, -1]) / valid**2
    half = Z95 * np.sqrt(np.clip(var, 0, None))
    return share, np.clip(share - half, 0, 1), np.clip(share + half, 0, 1)


def _method(weighting: str, borrowed: int) -> str:
    base = (
        "ratio on registered voters"
        if weighting == REGISTERED_WEIGHTING
        else "mean per tally x expected tallies"
    )
    text = f"stratified by state, {base}, FPC; delta-method shares"
    return f"{text}; {borrowed} stratum(s) borrow the national rate" if borrowed else text


def _floats(values) -> list[float | None]:
    return [None if v is None else float(v) for v in values]
