"""How the projection's 95 % intervals behave when the missing tallies are not a random sample.

For each scenario, generates many small synthetic elections (one per seed), hides some tallies,
projects the final result from the rest and counts how often the 95 % intervals cover the true
totals (pooled over candidates), with the leader's share error. Prints a Markdown table
(docs/projection.md quotes it).

    .venv/bin/python benchmarks/projection_missing_states.py --elections 200 --tables 2000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from transforms.projection.estimator import project
from transforms.rollup import units_from_registry
from transforms.synthetic.election import generate

HIDDEN = 0.2


def _random(feed: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    return pl.Series(rng.uniform(size=feed.height) >= HIDDEN)


def _whole_states(feed: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """Random whole states missing, until about 20 % of tallies are."""
    sizes = dict(feed.group_by("state_code").len().iter_rows())
    gone, hidden = set(), 0
    for state in rng.permutation(sorted(sizes)):
        if hidden >= HIDDEN * feed.height:
            break
        gone.add(state)
        hidden += sizes[state]
    return ~feed["state_code"].is_in(sorted(gone))


def _leader_strongholds(feed: pl.DataFrame, _rng: np.random.Generator) -> pl.Series:
    """The states where the leader (c01) does best missing, until about 20 % of tallies are."""
    ranked = (
        feed.group_by("state_code")
        .agg(pl.len(), (pl.col("c01").sum() / pl.col("valid_votes").sum()).alias("share"))
        .sort("share", descending=True)
    )
    gone, hidden = [], 0
    for state, n, _ in ranked.iter_rows():
        if hidden >= HIDDEN * feed.height:
            break
        gone.append(state)
        hidden += n
    return ~feed["state_code"].is_in(gone)


def _half_of_some_states(feed: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """Within a third of the states, their tables in the leader's strongest half of
    municipalities missing (state partly counted, but not at random within it)."""
    states = feed["state_code"].unique().sort().to_list()
    chosen = set(rng.choice(states, size=max(1, len(states) // 3), replace=False).tolist())
    by_mun = feed.group_by("state_code", "municipality_code").agg(
        (pl.col("c01").sum() / pl.col("valid_votes").sum()).alias("share")
    )
    strong = by_mun.filter(
        pl.col("state_code").is_in(sorted(chosen))
        & (pl.col("share") >= pl.col("share").median().over("state_code"))
    )["municipality_code"]
    return ~feed["municipality_code"].is_in(strong.to_list())


SCENARIOS = {
    "random 20 % of tallies": _random,
    "whole random states (~20 %)": _whole_states,
    "the leader's strongest states (~20 %)": _leader_strongholds,
    "leader's stronger municipalities in 1/3 of states": _half_of_some_states,
}
LAST_DROP = "last of 5 drops (late states, arrival order)"


def _case(sim, weighting: str) -> dict:
    if weighting == "registered":
        return {"registry": sim.registry}
    return {"units": units_from_registry(sim.registry, sim.election)}


def run(elections: int, tables: int, weighting: str) -> list[dict]:
    stats = {
        name: {"in": 0, "share_in": 0, "n": 0, "err": [], "hidden": []}
        for name in [*SCENARIOS, LAST_DROP]
    }
    for seed in range(elections):
        sim = generate(tables, seed=seed, drops=5)
        cands = sim.election.candidate_ids
        feed = (
            pl.concat(sim.drops)
            .with_row_index("tally_id")
            .with_columns(pl.lit("s").alias("source_id"), pl.col("table_code").alias("tally_code"))
        )
        truth = np.array([sim.truth["national"]["candidates"][c] for c in cands], float)
        shares = truth / truth.sum()
        rng = np.random.default_rng(10_000 + seed)
        masks = {name: pick(feed, rng) for name, pick in SCENARIOS.items()}
        masks[LAST_DROP] = pl.Series(np.arange(feed.height) < feed.height - sim.drops[-1].height)
        for name, mask in masks.items():
            kept = feed.filter(mask)
            out = project(
                kept, kept.select("tally_id", *cands), sim.election, **_case(sim, weighting)
            )
            s = stats[name]
            lo, hi = out["lower_95"].to_numpy(), out["upper_95"].to_numpy()
            slo, shi = out["share_lower_95"].to_numpy(), out["share_upper_95"].to_numpy()
            s["in"] += int(((lo <= truth) & (truth <= hi)).sum())
            s["share_in"] += int(((slo <= shares) & (shares <= shi)).sum())
            s["n"] += len(cands)
            s["err"].append(100 * (out["projected_share"][0] - shares[0]))
            s["hidden"].append(1 - kept.height / feed.height)
    return [
        {
            "scenario": name,
            "weighting": weighting,
            "hidden": float(np.mean(s["hidden"])),
            "votes_coverage": s["in"] / s["n"],
            "share_coverage": s["share_in"] / s["n"],
            "leader_share_error_pp_mean": float(np.mean(s["err"])),
            "leader_share_error_pp_rms": float(np.sqrt(np.mean(np.square(s["err"])))),
        }
        for name, s in stats.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elections", type=int, default=200)
    parser.add_argument("--tables", type=int, default=2_000)
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        "| scenario | weighting | tallies hidden | votes covered | shares covered "
        "| leader share error, mean (pp) | rms (pp) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for weighting in ("registered", "expected_tallies"):
        for r in run(args.elections, args.tables, weighting):
            print(
                f"| {r['scenario']} | {r['weighting']} | {100 * r['hidden']:.0f} % "
                f"| {100 * r['votes_coverage']:.1f} % | {100 * r['share_coverage']:.1f} % "
                f"| {r['leader_share_error_pp_mean']:+.2f} | {r['leader_share_error_pp_rms']:.2f} |"
            )
    print(
        f"\n{args.elections} elections of {args.tables:,} tables per scenario, "
        f"{time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
