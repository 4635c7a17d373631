"""A seeded, deterministic synthetic national election shaped like Venezuela.

Pure: returns frames and dictionaries; writing them to disk is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.feed import BLANK, NULL, OTHER, REGISTERED, TOTAL, VALID, feed_columns
from transforms.model import Candidate, Election, Source

LEVELS = ("state", "municipality", "parish", "centre", "table")
DEFAULT_TABLES = 30_000
STATES = 24
MUNICIPALITIES = 335
PARISHES = 1_100
# National vote-share means for the ten fictional candidates.
SHARE_MEANS = np.array([0.52, 0.36, 0.025, 0.02, 0.018, 0.015, 0.012, 0.01, 0.01, 0.01])
CANDIDATE_NAMES = (
    "Aurora Bellido",
    "Tomás Quintero",
    "Lidia Marcano",
    "Jesús Ocando",
    "Rosa Ferrer",
    "Andrés Salcedo",
    "Carmen Urbina",
    "Diego Palacios",
    "Elena Rangel",
    "Bruno Azuaje",
)
SYLLABLES = ("ma", "ra", "ca", "to", "li", "na", "so", "be", "lo", "ti", "va", "ri", "gua", "ne")


@dataclass(frozen=True)
class SyntheticElection:
    election: Election
    registry: pl.DataFrame
    drops: list[pl.DataFrame]
    truth: dict


OTHER_SHARE = 0.015  # with other votes: the share of valid votes for no declared candidate


def synthetic_election(tables: int = DEFAULT_TABLES, other_votes: bool = False) -> Election:
    return Election(
        id="sample",
        name=f"Republic of Tallyland presidential election (synthetic, {tables:,} tables)",
        levels=LEVELS,
        candidates=tuple(
            Candidate(f"c{i + 1:02d}", name) for i, name in enumerate(CANDIDATE_NAMES)
        ),
        sources=(Source("sample", "synthetic", "Built-in synthetic feed"),),
        other_votes=other_votes,
    )


def _place_name(rng: np.random.Generator) -> str:
    parts = rng.choice(SYLLABLES, size=rng.integers(2, 4))
    return "".join(parts).capitalize()


def _spread(rng: np.random.Generator, items: int, bins: int) -> np.ndarray:
    """Assign `items` to `bins` with uneven sizes, every bin getting at least one item."""
    weights = rng.gamma(2.0, 1.0, size=bins)
    extra = rng.multinomial(items - bins, weights / weights.sum())
    return np.repeat(np.arange(bins), extra + 1)


def _geography(rng: np.random.Generator, tables: int) -> pl.DataFrame:
    centres = max(tables // 2, 1)
    parishes = min(PARISHES, centres)
    municipalities = min(MUNICIPALITIES, parishes)
    states = min(STATES, municipalities)
    mun_state = np.sort(_spread(rng, municipalities, states))
    par_mun = np.sort(_spread(rng, parishes, municipalities))
    cen_par = np.sort(_spread(rng, centres, parishes))
    tab_cen = np.sort(_spread(rng, tables, centres))

    def local_index(parent: np.ndarray) -> np.ndarray:
        starts = np.r_[0, np.flatnonzero(np.diff(parent)) + 1]
        return np.arange(parent.size) - np.repeat(starts, np.diff(np.r_[starts, parent.size]))

    state_code = np.char.zfill((np.arange(states) + 1).astype(str), 2)
    mun_code = np.char.add(
        state_code[mun_state], np.char.zfill((local_index(mun_state) + 1).astype(str), 2)
    )
    par_code = np.char.add(
        mun_code[par_mun], np.char.zfill((local_index(par_mun) + 1).astype(str), 2)
    )
    cen_code = np.char.add(
        par_code[cen_par], np.char.zfill((local_index(cen_par) + 1).astype(str), 3)
    )
    tab_code = np.char.add(
        np.char.add(cen_code[tab_cen], "."),
        np.char.zfill((local_index(tab_cen) + 1).astype(str), 2),
    )
    state_name = np.array([f"Estado {_place_name(rng)}" for _ in range(states)])
    mun_name = np.array([f"Municipio {_place_name(rng)}" for _ in range(municipalities)])
    par_name = np.array([f"Parroquia {_place_name(rng)}" for _ in range(parishes)])
    cen_name = np.char.add("Centro ", cen_code)
    cen_of_tab = tab_cen
    par_of_tab = cen_par[cen_of_tab]
    mun_of_tab = par_mun[par_of_tab]
    st_of_tab = mun_state[mun_of_tab]
    return pl.DataFrame(
        {
            "state_code": state_code[st_of_tab],
            "state_name": state_name[st_of_tab],
            "municipality_code": mun_code[mun_of_tab],
            "municipality_name": mun_name[mun_of_tab],
            "parish_code": par_code[par_of_tab],
            "parish_name": par_name[par_of_tab],
            "centre_code": cen_code[cen_of_tab],
            "centre_name": cen_name[cen_of_tab],
            "table_code": tab_code,
            "table_name": np.char.add("Mesa ", tab_code),
            "_state": st_of_tab,
        }
    )


def _counts(
    rng: np.random.Generator, state_of_table: np.ndarray, states: int, other_votes: bool = False
) -> dict:
    n = state_of_table.size
    registered = rng.integers(150, 950, size=n)
    state_turnout = np.clip(rng.normal(0.62, 0.07, size=states), 0.35, 0.85)
    turnout = np.clip(state_turnout[state_of_table] + rng.normal(0, 0.05, size=n), 0.05, 0.97)
    cast = rng.binomial(registered, turnout)
    null = rng.binomial(cast, 0.008)
    blank = rng.binomial(cast - null, 0.004)
    valid = cast - null - blank
    # Regional variation: each state draws its own share vector around the national means,
    # each table varies again around its state's.
    state_shares = rng.dirichlet(SHARE_MEANS * 60, size=states)
    shares = np.empty((n, SHARE_MEANS.size))
    for s in range(states):
        idx = np.flatnonzero(state_of_table == s)
        shares[idx] = rng.dirichlet(state_shares[s] * 150, size=idx.size)
    # drawn only when asked, so that without them every other number stays the same
    other = rng.binomial(valid, OTHER_SHARE) if other_votes else np.zeros(n, dtype=np.int64)
    votes = rng.multinomial(valid - other, shares)
    return {
        OTHER: other,
        REGISTERED: registered,
        VALID: valid,
        NULL: null,
        BLANK: blank,
        TOTAL: cast,
        "votes": votes,
    }


def truth_totals(feed: pl.DataFrame, election: Election) -> dict:
    """Exact totals of the delivered feed, nationally and per state. Registered voters count
    units with a list only (a unit without one carries 0); `units_without_list` and
    `votes_without_list` count the others and their ballots; `other_votes` (valid votes for no
    declared candidate, part of valid_votes) appears when the feed carries them."""
    counts = [REGISTERED, VALID, NULL, BLANK, TOTAL, *([OTHER] if election.other_votes else [])]
    without = pl.col(REGISTERED) == 0

    def totals(frame: pl.DataFrame) -> dict:
        sums = frame.select(
            pl.col(*counts, *election.candidate_ids).sum(),
            without.sum().alias("units_without_list"),
            pl.col(TOTAL).filter(without).sum().alias("votes_without_list"),
        ).row(0, named=True)
        unlisted = {k: int(sums[k]) for k in ("units_without_list", "votes_without_list")}
        return {
            "tallies": frame.height,
            **{k: int(sums[k]) for k in counts},
            **(unlisted if unlisted["units_without_list"] else {}),
            "candidates": {c: int(sums[c]) for c in election.candidate_ids},
        }

    states = {
        key[0]: totals(group)
        for key, group in feed.sort("state_code").group_by("state_code", maintain_order=True)
    }
    return {"election": election.id, "national": totals(feed), "states": states}


def check_size(tables: int, drops: int, reporting: float) -> None:
    """The arguments every synthetic election shares, refused in one line when impossible."""
    if tables < 1:
        raise ValueError("tables must be at least 1")
    if drops < 1:
        raise ValueError("drops must be at least 1")
    if not 0 < reporting <= 1:
        raise ValueError("reporting must be in (0, 1]")


def generate(
    tables: int = DEFAULT_TABLES,
    seed: int = 2024,
    drops: int = 4,
    reporting: float = 1.0,
    unlisted: float = 0.0,
    other_votes: bool = False,
) -> SyntheticElection:
    """Generate a whole election: registry, feed split into timed drops, truth totals.

    `reporting` is the share of tables whose tally is delivered at all. `unlisted` is the share
    of tables without a list of registered voters (like Mexico's casillas especiales): feed and
    registry carry 0 registered there, which the sample contract declares `absent_when`.
    `other_votes` adds an `other_votes` column (valid votes for no declared candidate), read by a
    contract that maps it (docs/contracts.md).
    """
    check_size(tables, drops, reporting)
    if not 0 <= unlisted < 1:
        raise ValueError("unlisted must be in [0, 1)")
    rng = np.random.default_rng(seed)
    election = synthetic_election(tables, other_votes)
    geo = _geography(rng, tables)
    counts = _counts(rng, geo["_state"].to_numpy(), int(geo["_state"].max()) + 1, other_votes)
    if unlisted:  # its own generator: the other numbers stay those of the same seed without
        without = np.random.default_rng([seed, 1]).uniform(size=tables) < unlisted
        counts[REGISTERED] = np.where(without, 0, counts[REGISTERED])
    registry = geo.drop("_state").with_columns(pl.Series(REGISTERED, counts[REGISTERED]))
    feed = geo.select(election.code_columns).with_columns(
        pl.Series(REGISTERED, counts[REGISTERED]),
        pl.Series(VALID, counts[VALID]),
        pl.Series(NULL, counts[NULL]),
        pl.Series(BLANK, counts[BLANK]),
        pl.Series(TOTAL, counts[TOTAL]),
        pl.Series(OTHER, counts[OTHER]),
        *[pl.Series(c, counts["votes"][:, i]) for i, c in enumerate(election.candidate_ids)],
    )
    # Arrival order: states report at different speeds, tables within them at random.
    state_delay = rng.uniform(0, 1, size=int(geo["_state"].max()) + 1)
    arrival = state_delay[geo["_state"].to_numpy()] + rng.uniform(0, 1.5, size=tables)
    delivered = rng.uniform(size=tables) < reporting if reporting < 1 else np.ones(tables, bool)
    feed = feed.with_columns(pl.Series("_arrival", arrival)).filter(pl.Series(delivered))
    feed = feed.sort("_arrival").drop("_arrival").select(feed_columns(election))
    bounds = np.linspace(0, feed.height, drops + 1).astype(int)
    parts = [feed.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return SyntheticElection(election, registry, parts, truth_totals(feed, election))
