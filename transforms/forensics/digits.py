"""F1: are the last digits of candidate counts uniform, per source, state and candidate?

Pure polars. A count's last digit is uniform only when the counts spread over many tens: a
count under 10 *is* its last digit, and a candidate whose counts pile up just above a cut-off
makes the low digits more frequent (the bias is the density at the cut-off). So a series (source,
state, candidate) is tested only when at least half of its counts are MIN_LARGE or more (its median
count, taken as the upper middle one, is at least MIN_LARGE), and within it only counts of at least
MIN_COUNT enter. The pooled test per state uses the tested series' counts.

Everything is computed from additive integer statistics per series (digit_stats): counts, counts
of at least MIN_LARGE, counts of at least MIN_COUNT and their last digits. Statistics of two sets
of tallies add up to those of their union, so a drop updates them exactly (transforms.delta.
add_stats) and the tests (digit_tests) come out the same bit for bit as from all the tallies.

p-values come from the chi-square distribution with 9 degrees of freedom (10 digits), computed
exactly; a test is flagged below FAMILY_ALPHA divided by the number of tests run for the source
(Bonferroni over states x candidates, pooled tests included) *and* the departure is large enough
to matter: Cohen's effect size w = sqrt(chi-square / n) at least MIN_EFFECT. With tens of
thousands of counts any smooth distribution's slight departure from uniform is "significant";
invented or rounded counts depart by far more (all counts ending in 0 or 5: w = 2).
"""

from __future__ import annotations

import math

import polars as pl

MIN_COUNT = 10  # counts below this are left out: their last digit is the count itself
MIN_LARGE = 50  # a series with fewer than half its counts this large piles up near the cut-off
MIN_DIGITS = 50  # counts a test needs: 5 expected per digit, the chi-square's usual minimum
FAMILY_ALPHA = 0.01  # chance of any false flag per source, shared out Bonferroni-wise
MIN_EFFECT = 0.1  # Cohen's w; 0.1 is a 'small' effect by Cohen's convention
DIGITS = [f"d{d}" for d in range(10)]
GROUP = ["source_id", "unit_code", "candidate_id"]
STATS = ["counts", "large", "n", *DIGITS]


def chi2_sf(x: float, df: int = 9) -> float:
    """P(X >= x) for X chi-square with an odd number of degrees of freedom, exactly.

    For df = 2m + 1: erfc(sqrt(x/2)) + sqrt(2/pi) e^(-x/2) sum_{r=1..m} x^(r-1/2) / (2r-1)!!.
    """
    if df < 1 or df % 2 == 0:
        raise ValueError("df must be a positive odd number")
    if x <= 0:
        return 1.0
    total, term = 0.0, math.sqrt(x)
    for r in range(1, (df - 1) // 2 + 1):
        total += term
        term *= x / (2 * r + 1)
    return min(1.0, math.erfc(math.sqrt(x / 2)) + math.sqrt(2 / math.pi) * math.exp(-x / 2) * total)


def digit_stats(counts: pl.DataFrame) -> pl.DataFrame:
    """counts: source_id, unit_code (the state), candidate_id, votes (one row per tally, no nulls).

    Returns STATS: per series, `counts` (all its counts), `large` (those >= MIN_LARGE), `n`
    (those >= MIN_COUNT) and d0..d9 (their last digits). Additive integers.

    Each count is first put in one of 21 buckets (_digit_bucket) and only the buckets are
    counted per series: one count per group instead of thirteen masked sums over every row
    (half the CPU on a general election's long rows); the statistics are sums of buckets.
    """
    bucket, tally = pl.col("_bucket"), pl.col("_tallied")
    return (
        counts.group_by(*GROUP, _digit_bucket(pl.col("votes")).alias("_bucket"))
        .agg(pl.len().alias("_tallied"))
        .group_by(GROUP)
        .agg(
            tally.sum().alias("counts"),
            tally.filter(bucket >= _LARGE).sum().alias("large"),
            tally.filter(bucket != _SMALL).sum().alias("n"),
            *[tally.filter(bucket % _LARGE == d).sum().alias(DIGITS[d]) for d in range(10)],
        )
        .select(*GROUP, *[pl.col(c).cast(pl.Int64) for c in STATS])
        .sort(GROUP)
    )


_SMALL = 10  # the bucket of a count below MIN_COUNT (its last digit is not counted)
_LARGE = 11  # added to the bucket of a count of at least MIN_LARGE (>= MIN_COUNT: a digit)


def _digit_bucket(votes: pl.Expr) -> pl.Expr:
    """0-9: a count of at least MIN_COUNT (its last digit), 10 below it, plus 11 when it is
    at least MIN_LARGE: 0-10 and 11-20 (a null count: 10, as no statistic but `counts` has it)."""
    digit = pl.when(votes >= MIN_COUNT).then(votes % 10).otherwise(_SMALL)
    return (digit + pl.when(votes >= MIN_LARGE).then(_LARGE).otherwise(0)).cast(pl.Int8)


def digit_tests(stats: pl.DataFrame) -> pl.DataFrame:
    """From digit_stats: one row per source, state and candidate, and per source and state
    pooled (candidate_id null): n, statistic, p_value, flagged, detail."""
    gate = 2 * pl.col("large") >= pl.col("counts")
    per_candidate = stats.with_columns(
        *[pl.when(gate).then(pl.col(c)).otherwise(0).alias(c) for c in ["n", *DIGITS]],
        gate.alias("gated_in"),
    )
    pooled = (
        per_candidate.filter("gated_in")
        .group_by("source_id", "unit_code")
        .agg(pl.col(c).sum() for c in ["n", *DIGITS])
        .with_columns(
            pl.lit(None, pl.String).alias("candidate_id"),
            pl.lit(True).alias("gated_in"),
            pl.lit(None, pl.Int64).alias("counts"),
            pl.lit(None, pl.Int64).alias("large"),
        )
    )
    both = pl.concat([per_candidate, pooled], how="diagonal_relaxed").sort(
        "source_id", "unit_code", "candidate_id", nulls_last=True
    )
    tested = pl.col("n") >= MIN_DIGITS
    # sum((O - n/10)^2 / (n/10)) = 10 * sum(O^2) / n - n: one exact integer sum, one division,
    # so the statistic is the same bit for bit whatever order the engine adds in
    squares = pl.sum_horizontal([pl.col(d).cast(pl.Int64) ** 2 for d in DIGITS])
    chi2 = (10 * squares / pl.col("n") - pl.col("n")).clip(lower_bound=0.0)
    both = both.with_columns(pl.when(tested).then(chi2).alias("statistic"))
    both = both.with_columns(
        pl.col("statistic")
        .map_elements(chi2_sf, return_dtype=pl.Float64, skip_nulls=True)
        .alias("p_value"),
        pl.col("statistic").is_not_null().sum().over("source_id").alias("tests"),
    )
    threshold = FAMILY_ALPHA / pl.col("tests")
    effect = (pl.col("statistic") / pl.col("n")).sqrt()
    both = both.with_columns(
        ((pl.col("p_value") < threshold) & (effect >= MIN_EFFECT))
        .fill_null(False)
        .alias("flagged"),
        threshold.alias("threshold"),
    )
    return both.with_columns(
        pl.Series("detail", [_detail(row) for row in both.iter_rows(named=True)], pl.String)
    ).select(
        "source_id", "unit_code", "candidate_id", "n", "statistic", "p_value", "flagged", "detail"
    )


def last_digit_tests(counts: pl.DataFrame) -> pl.DataFrame:
    """digit_tests(digit_stats(counts)): the tests straight from one row per count."""
    return digit_tests(digit_stats(counts))


def _detail(row: dict) -> str:
    if not row["gated_in"]:
        return (
            f"not tested: {row['large']} of {row['counts']} counts >= {MIN_LARGE}, fewer than "
            "half (small counts' last digits are not uniform)"
        )
    if row["statistic"] is None:
        return f"not tested: {row['n']} counts >= {MIN_COUNT}, fewer than {MIN_DIGITS}"
    digits = [row[d] for d in DIGITS]
    top = max(range(10), key=lambda d: digits[d])
    effect = math.sqrt(row["statistic"] / row["n"])
    if row["flagged"]:
        verdict = f"FLAGGED: digit {top} is {100 * digits[top] / row['n']:.1f} % of counts (10 %)"
    elif row["p_value"] < row["threshold"]:
        verdict = f"not flagged: significant but w < {MIN_EFFECT} (a slight, smooth departure)"
    else:
        verdict = "consistent with uniform"
    return (
        f"last digits 0-9 of {row['n']} counts >= {MIN_COUNT}: {' '.join(map(str, digits))}; "
        f"chi-square {row['statistic']:.1f} (9 df), p = {row['p_value']:.2g} (flag below "
        f"{row['threshold']:.2g} = {FAMILY_ALPHA} / {row['tests']} tests), effect w = "
        f"{effect:.3f} (flag from {MIN_EFFECT}); {verdict}"
    )
