"""Fault injection for the synthetic election: break chosen quality rules at chosen rates.

Each faulty tally breaks exactly one rule, so the quality gate's verdicts can be compared with
the list of injected faults one for one. Pure: frames in, frames out.
"""

import numpy as np
import polars as pl

from transforms.feed import REGISTERED, TOTAL, VALID, feed_columns
from transforms.synthetic.election import SyntheticElection, truth_totals

FAULT_RULES = ("E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "W1", "W2", "W3")
ERROR_FAULTS = tuple(r for r in FAULT_RULES if r.startswith("E"))


def parse_rates(text: str) -> dict[str, float]:
    """'0.01' → every rule at 1 %; 'E2=0.01,W1=0.005' → those rules."""
    text = text.strip()
    if not text:
        return {}
    if "=" not in text:
        return {rule: float(text) for rule in FAULT_RULES}
    rates = {}
    for part in text.split(","):
        rule, _, rate = part.partition("=")
        rule = rule.strip().upper()
        if rule not in FAULT_RULES:
            raise ValueError(f"unknown rule {rule!r}: faults can break {', '.join(FAULT_RULES)}")
        rates[rule] = float(rate)
    return rates


def _eligible(rule: str, last_drop: int) -> pl.Expr:
    c = pl.col
    return {
        "E2": c(TOTAL) >= 2,
        "E5": c("c01") >= 1,
        "W1": c(TOTAL) >= 100,
        "W2": c(VALID) >= 50,
        "W3": (c("_drop") < last_drop) & (c("c01") >= 1),
    }.get(rule, pl.lit(True))


def _assign(feed: pl.DataFrame, rates: dict[str, float], rng: np.random.Generator) -> pl.DataFrame:
    """A `_fault` column: at most one rule per tally."""
    last_drop = int(feed["_drop"].max())
    order = rng.permutation(feed.height)
    taken = np.zeros(feed.height, bool)
    fault = np.full(feed.height, None, dtype=object)
    for rule in FAULT_RULES:
        rate = rates.get(rule, 0.0)
        if rate <= 0:
            continue
        ok = feed.with_columns(_eligible(rule, last_drop).alias("_ok"))["_ok"].to_numpy()
        wanted = int(round(rate * feed.height))
        picks = order[ok[order] & ~taken[order]][:wanted]
        taken[picks] = True
        fault[picks] = rule
    return feed.with_columns(pl.Series("_fault", fault.tolist(), dtype=pl.String))


def _numeric_faults(feed: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    c, f = pl.col, pl.col("_fault")
    bump = pl.Series("_bump", rng.integers(1, 10, feed.height))
    return (
        feed.with_columns(bump)
        .with_columns(
            pl.when(f == "E2")
            .then(c(TOTAL) - 1)
            .when(f == "E7")
            .then(c(REGISTERED) + c("_bump"))
            .when(f == "W1")
            .then(pl.max_horizontal(c(TOTAL), (c(TOTAL) * 1.02).floor().cast(pl.Int64)))
            .otherwise(c(REGISTERED))
            .alias(REGISTERED),
            pl.when(f == "E3")
            .then(c("c01") + c("_bump"))
            .when(f == "W2")
            .then(c(VALID))
            .otherwise(c("c01"))
            .alias("c01"),
            pl.when(f == "E4").then(c(TOTAL) + c("_bump")).otherwise(c(TOTAL)).alias(TOTAL),
            pl.when(f == "E6")
            .then(pl.format("{}.9{}", c("centre_code"), c("_row")))
            .otherwise(c("table_code"))
            .alias("table_code"),
            *[
                pl.when(f == "W2").then(0).otherwise(c(x)).alias(x)
                for x in ("c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10")
            ],
        )
        .drop("_bump")
    )


def _extra_rows(feed: pl.DataFrame, last_drop: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """E5: a conflicting copy in the same drop. W3: an amendment with one vote fewer, later."""
    c = pl.col
    conflict = feed.filter(c("_fault") == "E5").with_columns(
        (c("c01") - 1).alias("c01"), (c("c02") + 1).alias("c02")
    )
    amended = feed.filter(c("_fault") == "W3").with_columns(
        (c("c01") - 1).alias("c01"),
        (c(VALID) - 1).alias(VALID),
        (c(TOTAL) - 1).alias(TOTAL),
        pl.lit(last_drop).alias("_drop"),
    )
    return conflict, amended


def _string_faults(feed: pl.DataFrame) -> pl.DataFrame:
    c, f = pl.col, pl.col("_fault")
    text = feed.with_columns(pl.exclude("_drop", "_row", "_fault").cast(pl.String))
    odd = (c("_row") % 2) == 1
    unreadable = (
        pl.when((c("_row") % 3) == 0)
        .then(pl.lit(""))
        .when((c("_row") % 3) == 1)
        .then(pl.lit("Ilegible"))
        .otherwise(pl.lit("-"))
    )
    return text.with_columns(
        pl.when((f == "E1") & odd)
        .then(pl.format("-{}", c("c03")))
        .when(f == "E1")
        .then(pl.format("{}.5", c("c03")))
        .otherwise(c("c03"))
        .alias("c03"),
        pl.when(f == "E8").then(unreadable).otherwise(c(VALID)).alias(VALID),
    )


def inject_faults(
    sample: SyntheticElection, rates: dict[str, float], seed: int = 99
) -> SyntheticElection:
    """A copy of `sample` with faults injected; truth lists each fault and totals what remains."""
    if not rates:
        return sample
    rng = np.random.default_rng(seed)
    election = sample.election
    columns = feed_columns(election)
    feed = pl.concat(
        [d.with_columns(pl.lit(i, pl.Int32).alias("_drop")) for i, d in enumerate(sample.drops)]
    ).with_row_index("_row")
    last_drop = len(sample.drops) - 1
    feed = _numeric_faults(_assign(feed, rates, rng), rng)
    conflict, amended = _extra_rows(feed, last_drop)
    # the registry agrees with the feed for faults that move registered voters on purpose
    moved = feed.filter(pl.col("_fault").is_in(["E2", "W1"])).select("table_code", REGISTERED)
    registry = sample.registry.update(moved, on="table_code")
    faults = (
        feed.filter(pl.col("_fault").is_not_null())
        .select(pl.col("table_code").alias("tally_code"), pl.col("_fault").alias("rule"))
        .sort("tally_code", "rule")
    )
    clean = pl.concat(
        [
            feed.filter(
                ~pl.col("_fault").is_in(ERROR_FAULTS).fill_null(False)
                & (pl.col("_fault") != "W3").fill_null(True)
            ),
            amended,
        ]
    )
    rows = pl.concat([feed, conflict, amended]).sort("_drop", "_row", maintain_order=True)
    rows = _string_faults(rows)
    drops = [rows.filter(pl.col("_drop") == i).select(columns) for i in range(len(sample.drops))]
    truth = truth_totals(clean.select(columns), election)
    truth["faults"] = faults.to_dicts()
    truth["fault_rates"] = rates
    return SyntheticElection(election, registry, drops, truth)
