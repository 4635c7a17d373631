"""F2: tables whose turnout or a main candidate's share sits far outside their own centre's.

Pure polars. Tables of one voting centre share a neighbourhood, so they usually vote alike. Each
table is compared with the *other* tables of its centre (leave-one-out, so an outlier does not
drag its own yardstick): the median of the others and their median absolute deviation (MAD,
scaled by 1.4826 to match a standard deviation). A table is flagged when it is both
- materially apart: |value - median of the others| >= MIN_GAP (30 points of turnout or share), and
- robustly apart: that gap is at least MIN_Z times a scale combining the others' spread,
  max(scaled MAD, MIN_SCALE), with the table's own binomial noise, median x (1 - median) / size
  (size: registered voters for turnout, valid votes for a share). The floor keeps a centre whose
  other tables happen to agree closely, and the binomial term a small table, from flagging
  ordinary sampling noise.
Only centres with at least MIN_TABLES tables carrying the measure are examined (three others at
least: fewer give no robust yardstick), and shares only for the source's main candidates (a
national share of at least MAIN_SHARE): a minor candidate's share is mostly noise at one table.

A centre's verdicts depend only on its own tables (and on which candidates are main), so they are
kept per centre (centre_counts, outlier_rows) and the summaries are sums over centres: a drop
recomputes only the centres it touches.
"""

from __future__ import annotations

import numpy as np
import polars as pl

MIN_TABLES = 4
MIN_GAP = 0.30
MIN_Z = 6.0
MIN_SCALE = 0.04
MAD_TO_SD = 1.4826
MAIN_SHARE = 0.05
KEY = ["source_id", "centre", "measure", "candidate_id"]
CENTRE = ["source_id", "state", "centre"]
COUNTS = ["n", "hits", "on_turnout", "on_share"]


def main_candidates(totals: pl.DataFrame, candidates: list[str]) -> pl.DataFrame:
    """The main candidates per source (source_id, candidate_id), sorted.

    totals: source_id, valid_votes and a column per candidate, one or more rows per source (the
    sums are exact integers, so the shares are the same whatever rows they are split into)."""
    national = totals.group_by("source_id").agg(
        *[(pl.col(c).sum() / pl.col("valid_votes").sum()).alias(c) for c in candidates]
    )
    main = national.unpivot(index="source_id", variable_name="candidate_id", value_name="share")
    return (
        main.filter(pl.col("share") >= MAIN_SHARE).drop("share").sort("source_id", "candidate_id")
    )


def centre_measures(
    tallies: pl.DataFrame, candidates: list[str], main: pl.DataFrame
) -> pl.DataFrame:
    """One row per tally and measure: turnout, and the share of each main candidate.

    tallies: source_id, tally_code, state, centre, turnout, valid_votes and a column per
    candidate; main: main_candidates. Returns source_id, tally_code, state, centre, measure,
    candidate_id, value, size.
    """
    ids = ["source_id", "tally_code", "state", "centre"]
    # only centres with enough tallies, and main candidates, can be examined: leave the rest
    # out before unpivoting
    tallies = tallies.filter(pl.len().over("source_id", "centre") >= MIN_TABLES)
    candidates = [c for c in candidates if c in set(main["candidate_id"].to_list())]
    shares = (
        tallies.filter(pl.col("valid_votes") > 0)
        .select(
            *ids,
            pl.col("valid_votes").alias("size"),
            *[(pl.col(c) / pl.col("valid_votes")).alias(c) for c in candidates],
        )
        .unpivot(index=[*ids, "size"], variable_name="candidate_id", value_name="value")
        .join(main, on=["source_id", "candidate_id"], how="semi")
        .with_columns(pl.lit("share").alias("measure"))
    )
    turnout = tallies.select(
        *ids,
        pl.lit("turnout").alias("measure"),
        pl.lit(None, pl.String).alias("candidate_id"),
        pl.col("turnout").cast(pl.Float64).alias("value"),
        pl.col("registered").alias("size"),
    )
    both = pl.concat([turnout, shares.select(turnout.columns)])
    return both.filter(pl.col("value").is_not_null() & pl.col("centre").is_not_null())


def centre_outliers(measures: pl.DataFrame) -> pl.DataFrame:
    """Every examined (tally, measure) with the leave-one-out median and MAD of its centre.

    Returns the measures' columns plus others, median, mad, gap, z, flagged.
    """
    # nulls in candidate_id (turnout) must group with each other
    eligible = measures.filter(pl.len().over(KEY) >= MIN_TABLES).with_columns(
        pl.col("candidate_id").fill_null("")
    )
    spread = pl.max_horizontal(MAD_TO_SD * pl.col("mad"), pl.lit(MIN_SCALE))
    noise = pl.col("median") * (1 - pl.col("median")) / pl.col("size")
    scale = (spread**2 + noise.clip(lower_bound=0)).sqrt()
    return (
        _leave_one_out(eligible)
        .with_columns((pl.col("value") - pl.col("median")).alias("gap"))
        .with_columns((pl.col("gap") / scale).alias("z"))
        .with_columns(
            ((pl.col("gap").abs() >= MIN_GAP) & (pl.col("z").abs() >= MIN_Z)).alias("flagged"),
            pl.when(pl.col("candidate_id") != "")
            .then(pl.col("candidate_id"))
            .alias("candidate_id"),
        )
    )


def _leave_one_out(eligible: pl.DataFrame) -> pl.DataFrame:
    """Per row: `others` (the group's other rows), the median of their values and their median
    absolute deviation from it.

    Vectorised by group size: the groups of m rows form a (groups x m) matrix of sorted values,
    and leaving row k out keeps the others sorted, so each row's median is read off by position
    and its MAD is a median along the last axis: no pairwise self-join of the rows.
    """
    ordered = _grouped_by_value(eligible).with_columns(pl.len().over(KEY).alias("_m"))
    parts = []
    for (m,), part in ordered.partition_by("_m", as_dict=True, maintain_order=True).items():
        values = part["value"].to_numpy().astype(np.float64).reshape(-1, m)
        keep = np.array([[j for j in range(m) if j != k] for k in range(m)])
        others = values[:, keep]  # groups x m x (m - 1), each row's others, still sorted
        q = m - 1
        if q % 2:
            median = others[:, :, q // 2]
        else:
            median = (others[:, :, q // 2 - 1] + others[:, :, q // 2]) / 2
        mad = np.median(np.abs(others - median[:, :, None]), axis=2)
        parts.append(
            part.with_columns(
                pl.lit(q, pl.UInt32).alias("others"),
                pl.Series("median", median.reshape(-1)),
                pl.Series("mad", mad.reshape(-1)),
            )
        )
    if not parts:
        return ordered.drop("_m").with_columns(
            pl.lit(None, pl.UInt32).alias("others"),
            pl.lit(None, pl.Float64).alias("median"),
            pl.lit(None, pl.Float64).alias("mad"),
        )
    return pl.concat(parts).drop("_m")


def _grouped_by_value(eligible: pl.DataFrame) -> pl.DataFrame:
    """The rows with each group (KEY) contiguous and in value order, which is all
    _leave_one_out needs (the groups' order, and the order of equal values, change no median).
    Sorted on a hash of the key and the value: sorting on the four string columns was four
    fifths of F2's time. Two groups whose hashes meet would interleave; then each group's run
    is no longer one run of hashes, and the rows are sorted on the key itself."""
    hashed = eligible.with_columns(pl.struct(KEY).hash().alias("_h")).sort("_h", "value")
    if _runs(hashed, ["_h"]) == _runs(hashed, KEY):
        return hashed.drop("_h")
    return eligible.sort([*KEY, "value"])


def _runs(frame: pl.DataFrame, columns: list[str]) -> int:
    """How many runs of equal values of these columns the frame's rows form, in its order."""
    changed = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift()) for c in columns)
    return frame.select(changed.sum()).item()


OUTLIER_SCHEMA = {
    "source_id": pl.String,
    "state": pl.String,
    "centre": pl.String,
    "unit_code": pl.String,
    "candidate_id": pl.String,
    "n": pl.Int64,
    "statistic": pl.Float64,
    "flagged": pl.Boolean,
    "detail": pl.String,
}


def outlier_rows(examined: pl.DataFrame, group_level: str = "centre") -> pl.DataFrame:
    """The flagged tables: unit_code, candidate_id, n (other tables), statistic (z), detail.
    group_level: the election's name for the level the tallies are compared within (the one
    above the tally's own), as the detail says it.

    The few flagged rows are described in Python: polars 2.1's string formatting panicked
    (`binview ... i < self.len()`) now and then on the filtered frame at a million tallies."""
    rows = []
    for r in examined.filter("flagged").iter_rows(named=True):
        what = "turnout" if r["measure"] == "turnout" else f"share of {r['candidate_id']}"
        detail = (
            f"{what} {_pct(r['value'])} % against a median of {_pct(r['median'])} % "
            f"(MAD {_pct(r['mad'])} points) among the {r['others']} other tallies of "
            f"{group_level} {r['centre']}: {_pct(r['gap'])} points apart, robust z "
            f"{round(r['z'], 1)}"
        )
        rows.append(
            {
                "source_id": r["source_id"],
                "state": r["state"],
                "centre": r["centre"],
                "unit_code": r["tally_code"],
                "candidate_id": r["candidate_id"],
                "n": r["others"],
                "statistic": r["z"],
                "flagged": True,
                "detail": detail,
            }
        )
    return pl.DataFrame(rows, schema=OUTLIER_SCHEMA)


def _pct(share: float) -> float:
    return round(100 * share, 1)


def centre_counts(examined: pl.DataFrame) -> pl.DataFrame:
    """Per examined centre (CENTRE): tables examined, tables flagged, flags on turnout and on a
    share. Integers: a state's or the nation's are their sums."""
    flagged = pl.col("flagged")
    return (
        examined.group_by(CENTRE)
        .agg(
            pl.col("tally_code").n_unique().alias("n"),
            pl.col("tally_code").filter(flagged).n_unique().alias("hits"),
            (flagged & (pl.col("measure") == "turnout")).sum().alias("on_turnout"),
            (flagged & (pl.col("measure") == "share")).sum().alias("on_share"),
        )
        .select(*CENTRE, *[pl.col(c).cast(pl.Int64) for c in COUNTS])
        .sort(CENTRE)
    )


def outlier_summary(
    centres: pl.DataFrame, by: str | None, group_level: str = "centre"
) -> pl.DataFrame:
    """From centre_counts, per source and state (by="state") or nationally (by=None): tables
    examined, flagged. group_level: the election's name for what "centre" stands for here."""
    group = ["source_id", by] if by else ["source_id"]
    summary = centres.group_by(group).agg(
        pl.col("n").sum(),
        pl.len().alias("centres"),
        *[pl.col(c).sum() for c in COUNTS[1:]],
    )
    detail = pl.format(
        "{} of {} tallies (in {} {}(s) of at least {} tallies) far outside the other tallies of "
        "their {}: {} on turnout, {} on a main candidate's share",
        "hits",
        "n",
        "centres",
        pl.lit(group_level),
        pl.lit(MIN_TABLES),
        pl.lit(group_level),
        "on_turnout",
        "on_share",
    )
    return summary.select(
        "source_id",
        pl.col(by).alias("unit_code") if by else pl.lit("national").alias("unit_code"),
        pl.lit(None, pl.String).alias("candidate_id"),
        pl.col("n").cast(pl.Int64),
        pl.col("hits").cast(pl.Float64).alias("statistic"),
        (pl.col("hits") > 0).alias("flagged"),
        detail.alias("detail"),
    )
