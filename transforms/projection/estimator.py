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
it (see `_national_rate`). So do tallies expected nationally but placed in no known state.

All of this needs only sums over each state's counted tallies (n, sum x, sum x^2, sum y,
sum x y, sum y y'): `projection_stats` keeps them as integers, so an election-night run updates
them by a drop's difference and gets the very numbers a computation afresh would.
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
STATS_KEYS = ["source_id", STATE]


@dataclass(frozen=True)
class Stratum:
    """One state of one source, as its sufficient statistics, and what is missing from it."""

    counted: np.ndarray  # K: counted votes (candidates, then valid votes)
    size: float  # the counted units' total size measure x
    units: int  # counted units
    positive: int  # counted units with x > 0
    cross: np.ndarray  # K x K: sum of e e' over counted units, e = y - x * counted / size
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


@dataclass(frozen=True)
class Frame:
    """What the estimate stands on besides the counted tallies: with a registry, its units and
    registered voters per state (`registry_strata`); without, the expected tallies per state and
    nationally, and per source the largest ballot capacity of a counted tally."""

    registry_strata: pl.DataFrame | None  # _stratum, units, size
    expected_per_state: dict
    expected_national: int | None
    capacity_max: dict  # source_id -> float

    @property
    def weighting(self) -> str:
        return REGISTERED_WEIGHTING if self.registry_strata is not None else EXPECTED_WEIGHTING


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
    sizes = registry_sizes(registry, election)
    counted = counted_units(tallies, votes, election, sizes)
    frame = Frame(
        registry_strata(sizes),
        *expected_tallies(registry, units, election),
        capacity_max(tallies),
    )
    stats = projection_stats(counted, election)
    return project_from_stats(stats, election, frame, lambda source: _unit_rates(counted, source))


def counted_units(
    tallies: pl.DataFrame, votes: pl.DataFrame, election: Election, sizes: pl.DataFrame | None
) -> pl.DataFrame:
    """Per accepted tally: source_id, its stratum and size x, and its votes y0.. (candidates,
    then valid votes), all integers. With registry sizes, the stratum is the registry's state
    and x its registered voters (a tally the registry lacks has no stratum); else the tally's
    own state and x = 1."""
    candidates = election.candidate_ids
    y = [pl.col(c).fill_null(0).cast(pl.Int64).alias(f"y{i}") for i, c in enumerate(candidates)]
    frame = tallies.select(
        "tally_id",
        "source_id",
        "tally_code",
        pl.col(election.code_column(election.levels[0])).alias(STATE),
    ).join(votes.select("tally_id", *candidates), on="tally_id", how="left")
    frame = frame.select(
        "source_id",
        "tally_code",
        STATE,
        *y,
        pl.sum_horizontal(pl.col(candidates).fill_null(0)).cast(pl.Int64).alias(f"y{len(y)}"),
    )
    if sizes is None:
        return frame.with_columns(pl.lit(1, pl.Int64).alias(SIZE))
    return (
        frame.drop(STATE)
        .join(sizes, on="tally_code", how="left")
        .with_columns(pl.col(SIZE).fill_null(0))
    )


def projection_stats(counted: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Sufficient statistics per source and stratum, all integer sums over the counted units:
    n, n_pos (x > 0), sx, sxx, y<i>, xy<i>, yy<i>_<j> (i <= j). Sums add: the statistics of a
    union of tally sets are the sums of theirs, so a drop updates them exactly."""
    k = len(election.candidate_ids) + 1
    x = pl.col(SIZE)
    aggs = [
        pl.len().cast(pl.Int64).alias("n"),
        (x > 0).sum().cast(pl.Int64).alias("n_pos"),
        x.sum().alias("sx"),
        (x * x).sum().alias("sxx"),
        *[pl.col(f"y{i}").sum().alias(f"y{i}") for i in range(k)],
        *[(x * pl.col(f"y{i}")).sum().alias(f"xy{i}") for i in range(k)],
        *[
            (pl.col(f"y{i}") * pl.col(f"y{j}")).sum().alias(f"yy{i}_{j}")
            for i in range(k)
            for j in range(i, k)
        ],
    ]
    return (
        counted.group_by(STATS_KEYS)
        .agg(aggs)
        .with_columns(pl.exclude(STATS_KEYS).cast(pl.Int64))
        .sort(STATS_KEYS, nulls_last=True)
    )


def registry_sizes(registry: pl.DataFrame | None, election: Election) -> pl.DataFrame | None:
    """Registry units (tally_code, stratum, registered) if every one has its registered voters
    as a whole number; None otherwise (the expected tallies weigh then)."""
    if registry is None or registry.height == 0 or REGISTERED not in registry.columns:
        return None
    frame = sizes_of(registry, election)
    size = frame[SIZE]
    return frame if size.null_count() == 0 and size.min() >= 0 and size.sum() > 0 else None


def sizes_of(registry: pl.DataFrame, election: Election) -> pl.DataFrame:
    """Some registry rows as tally_code, stratum and size (registered voters)."""
    return registry.select(
        pl.col(election.code_column(election.tally_level)).alias("tally_code"),
        pl.col(election.code_column(election.levels[0])).alias(STATE),
        pl.col(REGISTERED).cast(pl.Int64, strict=False).alias(SIZE),
    ).unique(subset="tally_code", keep="first", maintain_order=True)


def registry_strata(sizes: pl.DataFrame | None) -> pl.DataFrame | None:
    """Units and registered voters per state of the registry."""
    if sizes is None:
        return None
    return (
        sizes.group_by(STATE)
        .agg(pl.len().cast(pl.Int64).alias("units"), pl.col(SIZE).sum().alias("size"))
        .sort(STATE, nulls_last=True)
    )


def expected_tallies(
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


def capacity_max(tallies: pl.DataFrame) -> dict:
    """Per source: the most ballots a counted tally could hold (registered, else cast, else
    valid votes): without a registry, what a missing tally is assumed to hold at most."""
    capacity = pl.coalesce(
        *[pl.col(c).cast(pl.Float64, strict=False) for c in (REGISTERED, TOTAL, VALID)]
    ).fill_null(0.0)
    per = tallies.group_by("source_id").agg(capacity.max().alias("capacity"))
    return dict(per.iter_rows())


def _unit_rates(counted: pl.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Per counted unit of a source with a stratum: votes (K) and size (for the rare fallback
    of `_national_rate`, which needs single units' rates)."""
    own = counted.filter(pl.col("source_id") == source, pl.col(STATE).is_not_null())
    y = own.select(pl.col(r"^y\d+$")).to_numpy().astype(np.float64)
    return y, own[SIZE].to_numpy().astype(np.float64)


def _stratum(row: dict | None, k: int, missing_units: int, missing_size: float) -> Stratum:
    if row is None:
        zero = np.zeros(k)
        return Stratum(zero, 0.0, 0, 0, np.zeros((k, k)), missing_units, missing_size)
    counted = np.array([row[f"y{i}"] for i in range(k)], dtype=np.float64)
    xy = np.array([row[f"xy{i}"] for i in range(k)], dtype=np.float64)
    yy = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            yy[i, j] = yy[j, i] = row[f"yy{i}_{j}"]
    size = float(row["sx"])
    rate = counted / size if size > 0 else np.zeros(k)
    cross = yy - np.outer(rate, xy) - np.outer(xy, rate) + np.outer(rate, rate) * row["sxx"]
    return Stratum(
        counted, size, int(row["n"]), int(row["n_pos"]), cross, missing_units, missing_size
    )


def project_from_stats(
    stats: pl.DataFrame, election: Election, frame: Frame, unit_rates
) -> pl.DataFrame:
    """The projection mart from the sufficient statistics (projection_stats).

    unit_rates(source) -> (votes, sizes) of single counted units: asked for only when fewer than
    two states have two counted tallies (see `_national_rate`)."""
    k = len(election.candidate_ids) + 1
    rows = []
    for source in sorted(stats["source_id"].unique().to_list()):
        own = {r[STATE]: r for r in stats.filter(source_id=source).iter_rows(named=True)}
        if frame.registry_strata is not None:
            population = _by_registered(own, frame.registry_strata, k)
        else:
            population = _by_expected(
                own,
                frame.expected_per_state,
                frame.expected_national,
                frame.capacity_max.get(source) or 0.0,
                k,
            )
        rows.append(_rows(source, own, population, election, lambda s=source: unit_rates(s)))
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat(rows).select(list(SCHEMA)).cast(SCHEMA)


def _by_registered(own: dict, registry: pl.DataFrame, k: int) -> Population:
    """Strata from the registry: counted units weighed by their registered voters."""
    strata, capacity = [], 0.0
    for key, units, size in registry.iter_rows():
        row = own.get(key)
        n = row["n"] if row else 0
        missing_size = float(size - (row["sx"] if row else 0))
        strata.append(_stratum(row, k, units - n, missing_size))
        capacity += missing_size
    outside = own.get(None)
    fixed = _stratum(outside, k, 0, 0.0).counted
    return Population(strata, fixed, capacity, int(registry["units"].sum()), REGISTERED_WEIGHTING)


def _by_expected(
    own: dict, per_state: dict, national: int | None, largest: float, k: int
) -> Population:
    """Strata from the expected tallies: every tally weighs one.

    A state whose expected number is unknown counts as complete; tallies expected nationally
    beyond the states' numbers form one more stratum with nothing counted (it borrows).
    """
    keys = sorted(set(own) | set(per_state), key=lambda v: (v is None, v))
    strata, placed = [], 0
    for key in keys:
        row = own.get(key)
        n = row["n"] if row else 0
        units = max(per_state.get(key, n), n)
        placed += units
        gone = units - n
        strata.append(_stratum(row, k, gone, float(gone)))
    unplaced = max(national - placed, 0) if national is not None else 0
    if unplaced:
        strata.append(_stratum(None, k, unplaced, float(unplaced)))
    missing = sum(s.missing_units for s in strata)
    known = national is not None or bool(per_state)
    return Population(
        strata,
        np.zeros(k),
        missing * float(largest),
        placed + unplaced if known else None,
        EXPECTED_WEIGHTING,
    )


def estimate_strata(strata: list[Stratum], unit_rates=None) -> Estimate | None:
    """Sum of the strata's estimated totals and covariances; None when nothing is counted."""
    pooled = [s for s in strata if s.units]
    if not pooled:
        return None
    k = pooled[0].counted.size
    total, cov = np.zeros(k), np.zeros((k, k))
    own = [s for s in strata if _estimable(s)]
    for s in own:
        t, c = _within(s)
        total += t
        cov += c
    borrowing = [s for s in strata if not _estimable(s)]
    if borrowing:
        rate, between, per_unit = _national_rate(pooled, own, unit_rates)
        for s in borrowing:
            total += s.counted + rate * s.missing_size
            mean_size = s.missing_size / s.missing_units
            cov += s.missing_size**2 * between + s.missing_units * mean_size**2 * per_unit
    return Estimate(total, cov, len(borrowing))


def _estimable(s: Stratum) -> bool:
    """A stratum can be estimated from within when complete or with two counted units."""
    return s.missing_units == 0 or (s.units >= 2 and s.size > 0)


def _within(s: Stratum) -> tuple[np.ndarray, np.ndarray]:
    """Ratio estimator of the stratum's total and its variance with the finite-population
    correction: N^2 (1 - n/N) / n * (X_mean / x_mean)^2 * cov(residuals)."""
    k = s.counted.size
    if s.missing_units == 0:
        return s.counted, np.zeros((k, k))
    n, x = s.units, s.size
    rate = s.counted / x
    spread = s.cross / (n - 1)
    units = n + s.missing_units
    scale = ((x + s.missing_size) / units) / (x / n)
    factor = units**2 * (1 - n / units) / n * scale**2
    return s.counted + rate * s.missing_size, factor * spread


def _national_rate(
    pooled: list[Stratum], own: list[Stratum], unit_rates
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For strata that borrow: the national rate, the spread of state rates around it, and
    the per-unit residual covariance (per unit of size) within states.

    The between-state covariance of the rates (x (1 + 1/G) for the national rate's own error)
    is what an unobserved state's rate may differ by; with fewer than two states to measure it,
    the spread of single units' rates stands in (much wider), or with one unit, the rate itself.
    """
    size = sum(s.size for s in pooled)
    rate = sum(s.counted for s in pooled) / size
    measured = [s for s in own if s.units >= 2 and s.size > 0]
    positive = sum(s.positive for s in pooled)
    if len(measured) >= 2:
        rates = np.array([s.counted / s.size for s in measured])
        between = np.cov(rates, rowvar=False, ddof=1) * (1 + 1 / len(measured))
    elif positive >= 2:
        votes, sizes = unit_rates()
        usable = sizes > 0
        between = np.cov(votes[usable] / sizes[usable, None], rowvar=False, ddof=1)
    else:  # a single counted tally: take the rate itself as its standard deviation
        between = np.outer(rate, rate)
    between = np.nan_to_num(np.atleast_2d(between))
    dof = sum(s.units - 1 for s in measured)
    if dof > 0:
        mean_size = size / positive
        per_unit = sum(s.cross for s in measured) / dof / mean_size**2
    else:
        per_unit = np.zeros_like(between)
    return rate, between, per_unit


def _rows(source: str, own: dict, population: Population, election: Election, unit_rates):
    candidates = election.candidate_ids
    k = len(candidates)
    so_far = sum(
        (np.array([r[f"y{i}"] for i in range(k)], float) for r in own.values()), np.zeros(k)
    )
    counted_tallies = sum(r["n"] for r in own.values())
    capacity = int(round(population.capacity))
    worst_max = so_far + capacity
    estimate = (
        estimate_strata(population.strata, unit_rates) if population.expected is not None else None
    )
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
        method = _method(population.weighting, estimate.borrowed, election.levels[0])
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
            "tallies_counted": [counted_tallies] * k,
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


def _method(weighting: str, borrowed: int, stratum_level: str = "state") -> str:
    """The method in words, naming the level the strata are (the election's first level)."""
    base = (
        "ratio on registered voters"
        if weighting == REGISTERED_WEIGHTING
        else "mean per tally x expected tallies"
    )
    text = f"stratified by {stratum_level}, {base}, FPC; delta-method shares"
    return f"{text}; {borrowed} stratum(s) borrow the national rate" if borrowed else text


def _floats(values) -> list[float | None]:
    return [None if v is None else float(v) for v in values]
