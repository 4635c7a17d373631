"""A seeded, deterministic synthetic general election: many contests on one night.

The geography and the registry are the sample's (transforms.synthetic.election): for the same
seed and number of tables the registry's levels and registered voters are the sample's, row for
row. Every table votes in one contest of each office on the ballot, and the feed is long, the way
US counties and OpenElections publish (one row per table × contest × candidate, over votes, under
votes and write-ins as rows of their own, no total row; see ../shared/data/us_dc2016):

    state_code, municipality_code, parish_code, centre_code, table_code,
    registered, office, district, party, candidate, votes

`registered` (the table's registered voters) repeats on every row of the table. A contest is one
distinct (office, district); its id is `slug(office + " " + district)` over the non-empty values
(`slug` below), the id the contract elections/general/contracts/general.toml discovers.

The offices, in ballot order, and how many distinct contests K buys:

| K | office label | district column | contest id | elected per | seats | vote for |
|---|---|---|---|---|---|---|
| 1 | PRESIDENT | empty | president | the nation | 1 | 1 |
| 2 | SENATOR (VOTE FOR 2) | empty | senator-vote-for-2 | state | 2 | 2 |
| 3 | GOVERNOR | empty | governor | state | 1 | 1 |
| K = 4 or K ≥ 6 | MAYOR | empty | mayor | municipality | 1 | 1 |
| K ≥ 5 | NATIONAL ASSEMBLY | LD-01 … | national-assembly-ld-01 … | its own district | 1 | 1 |

So the contests elected per state or municipality are **one contest id each, elected in every
unit of that level** (each state elects its own governor among its own candidates; the
contract's rules give their level); the legislative seats are **one contest per district**
(K = 5 has 2 districts and no mayor, K ≥ 6 has a mayor and K − 4 districts). A legislative
district is a contiguous run of centres in code order cut at jittered positions that ignore the
state and municipality boundaries, so districts straddle states and municipalities: they do not
nest in the levels. Every table is in exactly one district.

Votes are consistent per contest and table, as in the DC data: every contest on a table's ballot
has the table's ballots B (registered × turnout, the sample's draw); O of them are over-voted
(their `vote_for` votes count as OVER VOTES), the other (B − O) × vote_for marks are either left
unused (UNDER VOTES) or go to candidates and WRITE-IN. Hence, per table and contest,

    candidates + WRITE-IN + OVER VOTES + UNDER VOTES = B × vote_for

and in a vote-for-N contest no candidate gets more than B − O votes (one per ballot).

Pure: returns frames and dictionaries; landing.synthetic_general writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from transforms.ballots import BALLOT_COLUMN
from transforms.contests import slug  # the core discovers contests by it
from transforms.synthetic.election import CANDIDATE_NAMES, LEVELS, _geography, check_size

ELECTION_ID = "general"
FILE_PREFIX = "general"  # general_001.csv, general_002.csv, …
CODE_COLUMNS = tuple(f"{level}_code" for level in LEVELS)
FEED_COLUMNS = (
    *CODE_COLUMNS,
    "registered",
    "office",
    "district",
    "party",
    "candidate",
    "votes",
)
WRITE_IN = "WRITE-IN"
OVER_VOTES = "OVER VOTES"
UNDER_VOTES = "UNDER VOTES"
SPECIAL_LABELS = (WRITE_IN, OVER_VOTES, UNDER_VOTES)
DISTRICT_LEVEL = "district"  # the [districts] level of elections/general/election.toml
MAX_CANDIDATES = 6
SLOTS = MAX_CANDIDATES + len(SPECIAL_LABELS)  # candidate slots, then the three special rows

FIRST_NAMES = (
    "Adriana", "Alberto", "Alicia", "Álvaro", "Amparo", "Antonio", "Beatriz", "Camila",
    "Carlos", "Cecilia", "Daniel", "Dolores", "Eduardo", "Esther", "Fabiola", "Felipe",
    "Gabriela", "Gonzalo", "Graciela", "Héctor", "Inés", "Irene", "Javier", "Julia",
    "Leonardo", "Lucía", "Luis", "Manuel", "Marisol", "Mercedes", "Miguel", "Natalia",
    "Nicolás", "Óscar", "Patricia", "Pedro", "Raquel", "Ramón", "Ricardo", "Sofía",
    "Susana", "Teresa", "Valentina", "Víctor", "Yolanda", "Zulay", "Ignacio", "Maite",
)  # fmt: skip
LAST_NAMES = (
    "Acosta", "Aguilera", "Álvarez", "Arismendi", "Barrios", "Blanco", "Briceño", "Cabrera",
    "Carrasco", "Castillo", "Chacón", "Colmenares", "Delgado", "Echeverría", "Escalona",
    "Figueroa", "Fuenmayor", "Gil", "Guédez", "Hernández", "Ibarra", "Infante", "Lander",
    "León", "Linares", "Machado", "Medina", "Mendoza", "Montilla", "Núñez", "Ochoa",
    "Paredes", "Peña", "Pérez", "Ramírez", "Rivas", "Rondón", "Sánchez", "Suárez", "Tovar",
    "Uzcátegui", "Valero", "Vargas", "Villegas", "Yépez", "Zambrano", "Zerpa", "Ortega",
)  # fmt: skip
NICKNAMES = ("El Toro", "La Maestra", "Chucho", "Pepe", "Tata", "El Profe")
NICKNAME_SHARE = 0.04  # candidates whose label carries a quoted nickname (CSV quoting)
PARTIES = ("UNT", "PTL", "MVC", "ALD", "VRD", "SOC", "IND")
WRITE_IN_PARTY = "NON"  # as in the DC file; over and under votes have no party


def contest_id(office: str, district: str | None) -> str:
    """The id the contract gives the contest of one (office, district): the slug of the
    non-empty values joined by a space."""
    return slug(" ".join(v for v in (office, district) if v))


@dataclass(frozen=True)
class Office:
    key: str
    label: str  # the feed's office column
    level: str | None  # the level whose units each elect `seats`; None: the whole nation
    seats: int
    vote_for: int
    name: str | None  # declared name (election.toml [[contest]]); None: the label
    candidates: tuple[int, int]  # fewest and most candidates per race
    profile: tuple[float, ...]  # mean vote shares by ballot position
    over: float  # share of ballots over-voted in this contest
    under: float  # share of the marks left unused
    write_in: float  # share of the marks written in


PRESIDENT = Office(
    "president", "PRESIDENT", None, 1, 1, "President of the Republic", (4, 6),
    (0.46, 0.38, 0.07, 0.04, 0.03, 0.02), 0.0008, 0.004, 0.02,
)  # fmt: skip
SENATOR = Office(
    "senator", "SENATOR (VOTE FOR 2)", "state", 2, 2, None, (3, 6),
    (0.30, 0.26, 0.19, 0.12, 0.08, 0.05), 0.0006, 0.25, 0.01,
)  # fmt: skip
GOVERNOR = Office(
    "governor", "GOVERNOR", "state", 1, 1, None, (2, 5),
    (0.45, 0.40, 0.08, 0.04, 0.03, 0.0), 0.0008, 0.03, 0.008,
)  # fmt: skip
MAYOR = Office(
    "mayor", "MAYOR", "municipality", 1, 1, None, (2, 6),
    (0.42, 0.36, 0.10, 0.06, 0.04, 0.02), 0.001, 0.06, 0.012,
)  # fmt: skip
ASSEMBLY = Office(
    "assembly", "NATIONAL ASSEMBLY", DISTRICT_LEVEL, 1, 1, None, (2, 6),
    (0.44, 0.37, 0.09, 0.05, 0.03, 0.02), 0.001, 0.08, 0.015,
)  # fmt: skip


def ballot(contests: int) -> tuple[list[Office], int]:
    """The offices K distinct contests buy, and the number of legislative districts."""
    if contests < 1:
        raise ValueError("contests must be at least 1")
    offices = [PRESIDENT, SENATOR, GOVERNOR][:contests]
    extra = contests - len(offices)
    if extra == 1:
        return [*offices, MAYOR], 0
    if extra == 2:
        return [*offices, ASSEMBLY], 2
    if extra >= 3:
        return [*offices, MAYOR, ASSEMBLY], extra - 1
    return offices, 0


@dataclass(frozen=True)
class GeneralElection:
    id: str
    name: str
    registry: pl.DataFrame  # the sample's registry, plus district_code/_name with districts
    drops: list[pl.DataFrame]  # FEED_COLUMNS, in arrival order, a table whole in one drop
    truth: dict


@dataclass(frozen=True)
class _Races:
    """One office's races (one per unit of its level) and every table's race."""

    office: Office
    of_table: np.ndarray  # race index per table
    codes: list[str | None]  # the district code per race (None: national)
    names: list[str | None]
    districts: list[str | None]  # the feed's district column per race
    candidates: list[list[tuple[str, str]]]  # per race: (label, party) in ballot order


def _run_index(values: pl.Series) -> np.ndarray:
    """0, 1, 2, … per run of equal values (the geography's codes come sorted)."""
    return (values != values.shift(1)).fill_null(True).cum_sum().to_numpy() - 1


def _districts(rng: np.random.Generator, centre: np.ndarray, count: int) -> np.ndarray:
    """Cut the centres (in code order) into `count` contiguous runs at jittered positions that
    ignore every administrative boundary; the district of each centre."""
    centres = int(centre.max()) + 1
    if count > centres:
        raise ValueError(f"{count} legislative districts need at least {count} centres")
    if count == 1:
        return np.zeros(centres, dtype=np.int64)
    spacing = centres / count
    cuts = np.round((np.arange(1, count) + rng.uniform(-0.35, 0.35, count - 1)) * spacing)
    cuts = np.clip(cuts.astype(np.int64), 1, centres - 1)
    if np.unique(cuts).size < count - 1:  # few centres per district: any distinct cuts
        cuts = np.sort(rng.choice(np.arange(1, centres), count - 1, replace=False))
    return np.searchsorted(cuts, np.arange(centres), side="right")


def _names(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct candidate labels, none of them the presidential candidates'."""
    first, last = len(FIRST_NAMES), len(LAST_NAMES)
    pool = first * last * 27  # first, optional middle initial, last
    if count > pool:
        raise ValueError(f"{count} candidates are more than the {pool} names the generator has")
    picks = rng.choice(pool, size=count, replace=False)
    nick = rng.uniform(size=count) < NICKNAME_SHARE
    nick_of = rng.integers(0, len(NICKNAMES), size=count)
    labels = []
    for pick, quoted, which in zip(picks.tolist(), nick.tolist(), nick_of.tolist(), strict=True):
        f, rest = divmod(pick, last * 27)
        middle, ln = divmod(rest, last)
        parts = [FIRST_NAMES[f]]
        if quoted:
            parts.append(f'"{NICKNAMES[which]}"')
        if middle:
            parts.append(f"{chr(ord('A') + middle - 1)}.")
        parts.append(LAST_NAMES[ln])
        labels.append(" ".join(parts))
    return labels


def _races(
    rng: np.random.Generator, geo: pl.DataFrame, offices: list[Office], districts: int
) -> list[_Races]:
    """Every office's races and candidates: the president's are the sample's first names, every
    other race draws labels of its own (no two races share a candidate)."""
    state = geo["_state"].to_numpy()
    out = []
    for office in offices:
        if office.level is None:
            of_table = np.zeros(state.size, dtype=np.int64)
            codes, names, labels = [None], [None], [None]
        elif office.level == DISTRICT_LEVEL:
            centre = _run_index(geo["centre_code"])
            of_table = _districts(rng, centre, districts)[centre]
            width = max(2, len(str(districts)))
            codes = [str(d + 1).zfill(width) for d in range(districts)]
            names = [f"Legislative district {c}" for c in codes]
            labels = [f"LD-{c}" for c in codes]
        else:
            of_table = state if office.level == "state" else _run_index(geo[f"{office.level}_code"])
            first_rows = np.r_[0, np.flatnonzero(np.diff(of_table)) + 1]
            codes = geo[f"{office.level}_code"].gather(first_rows).to_list()
            names = geo[f"{office.level}_name"].gather(first_rows).to_list()
            labels = [None] * len(codes)
        out.append(_Races(office, of_table, codes, names, labels, []))
    sizes = [
        rng.integers(r.office.candidates[0], r.office.candidates[1] + 1, len(r.codes)) for r in out
    ]
    drawn = sum(int(n.sum()) for n, r in zip(sizes, out, strict=True) if r.office is not PRESIDENT)
    pool = iter(_names(rng, drawn))
    for races, counts in zip(out, sizes, strict=True):
        for size in counts.tolist():
            if races.office is PRESIDENT:
                labels = list(CANDIDATE_NAMES[:size])
            else:
                labels = [next(pool) for _ in range(size)]
            parties = rng.permutation(len(PARTIES))[:size].tolist()
            races.candidates.append([(c, PARTIES[p]) for c, p in zip(labels, parties, strict=True)])
    return out


def _votes(rng: np.random.Generator, races: _Races, ballots: np.ndarray) -> np.ndarray:
    """Per table: the race's candidate votes in slots 0…5, then WRITE-IN, OVER and UNDER VOTES;
    they add up to ballots × vote_for."""
    office = races.office
    n = ballots.size
    count = len(races.codes)
    sizes = np.array([len(c) for c in races.candidates])
    # each race draws its shares around the office's profile, each table again around its race's
    open_slot = np.arange(MAX_CANDIDATES) < sizes[:, None]
    profile = np.where(open_slot, np.array(office.profile) + 0.01, 0.0)
    race_shares = rng.gamma(profile * 12.0)
    race_shares /= race_shares.sum(axis=1, keepdims=True)
    shares = rng.gamma(race_shares[races.of_table] * 150.0)
    shares /= shares.sum(axis=1, keepdims=True)
    race_under = np.clip(office.under * rng.lognormal(0.0, 0.3, size=count), 0.0, 0.9)
    over = rng.binomial(ballots, office.over)
    marks = (ballots - over) * office.vote_for
    under = rng.binomial(marks, race_under[races.of_table])
    write_in = rng.binomial(marks - under, office.write_in)
    votes = rng.multinomial(marks - under - write_in, shares)
    if office.vote_for > 1:  # one vote per ballot at most: the rest was not used
        excess = np.clip(votes - (ballots - over)[:, None], 0, None)
        votes -= excess
        under += excess.sum(axis=1)
    out = np.empty((n, SLOTS), dtype=np.int64)
    out[:, :MAX_CANDIDATES] = votes
    out[:, MAX_CANDIDATES] = write_in
    out[:, MAX_CANDIDATES + 1] = over * office.vote_for
    out[:, MAX_CANDIDATES + 2] = under
    return out


def _slot_labels(candidates: list[tuple[str, str]]) -> list[str]:
    """The label of each of a race's SLOTS ('' where it has no candidate)."""
    names = [label for label, _ in candidates]
    return [*names, *[""] * (MAX_CANDIDATES - len(names)), *SPECIAL_LABELS]


def _sums(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.group_by(keys).agg(
        pl.len().alias("tallies"),
        pl.col("registered", "ballots").sum(),
        *[pl.col(f"s{s}").sum() for s in range(SLOTS)],
    )


def _unit(row: dict, labels: list[str]) -> dict:
    return {
        "tallies": int(row["tallies"]),
        "registered": int(row["registered"]),
        "ballots": int(row["ballots"]),
        "candidates": {label: int(row[f"s{s}"]) for s, label in enumerate(labels) if label},
    }


def _add(total: dict | None, unit: dict, labels: list[str]) -> dict:
    """`unit` added into `total`; candidates in ballot order, the three specials last."""
    if total is None:
        total = {"tallies": 0, "registered": 0, "ballots": 0, "candidates": {}}
    for key in ("tallies", "registered", "ballots"):
        total[key] += unit[key]
    votes = total["candidates"]
    merged = {c: v for c, v in votes.items() if c not in SPECIAL_LABELS}
    for label in labels:
        if label and label not in SPECIAL_LABELS:
            merged[label] = merged.get(label, 0) + unit["candidates"][label]
    for label in SPECIAL_LABELS:
        merged[label] = votes.get(label, 0) + unit["candidates"][label]
    total["candidates"] = merged
    return total


def _decided(unit: dict, seats: int) -> dict:
    """The unit's winners (most votes first, ties by label) and the margin between the last
    winner and the first loser (None without a loser)."""
    ranked = sorted(
        ((v, c) for c, v in unit["candidates"].items() if c not in SPECIAL_LABELS),
        key=lambda x: (-x[0], x[1]),
    )
    margin = ranked[seats - 1][0] - ranked[seats][0] if len(ranked) > seats else None
    return {**unit, "winners": [c for _, c in ranked[:seats]], "margin": margin}


def _truth(
    all_races: list[_Races],
    votes: list[np.ndarray],
    geo: pl.DataFrame,
    registered: np.ndarray,
    ballots: np.ndarray,
    delivered: np.ndarray,
) -> dict:
    """Exact totals of the delivered tables, per contest id: nationally, per district (the
    units it is elected in, with winners) and per state."""
    contests: dict[str, dict] = {}
    state = geo["state_code"].filter(pl.Series(delivered))
    for races, block in zip(all_races, votes, strict=True):
        office = races.office
        frame = pl.DataFrame(
            {
                "race": races.of_table[delivered],
                "state": state,
                "registered": registered[delivered],
                "ballots": ballots[delivered],
                **{f"s{s}": block[delivered, s] for s in range(SLOTS)},
            }
        )
        by_race = {r["race"]: r for r in _sums(frame, ["race"]).iter_rows(named=True)}
        by_state: dict[int, list[dict]] = {}
        for r in _sums(frame, ["race", "state"]).sort("state").iter_rows(named=True):
            by_state.setdefault(r["race"], []).append(r)
        present = sorted(by_race)
        # a legislative district is a contest of its own; any other office is one contest
        groups = [[i] for i in present] if office.level == DISTRICT_LEVEL else [present]
        for members in groups:
            if not members:
                continue
            national, districts, states = None, {}, {}
            for i in members:
                labels = _slot_labels(races.candidates[i])
                unit = _unit(by_race[i], labels)
                national = _add(national, unit, labels)
                if office.level is not None:
                    districts[races.codes[i]] = {
                        "name": races.names[i],
                        **_decided(unit, office.seats),
                    }
                for row in by_state[i]:
                    states[row["state"]] = _add(
                        states.get(row["state"]), _unit(row, labels), labels
                    )
            label = races.districts[members[0]]
            contests[contest_id(office.label, label)] = {
                "name": office.name or " ".join(v for v in (office.label, label) if v),
                "office": office.label,
                "district_label": label,
                "seats": office.seats,
                "vote_for": office.vote_for,
                "district": office.level,
                "national": _decided(national, office.seats) if office.level is None else national,
                "districts": districts,
                "states": dict(sorted(states.items())),
            }
    return contests


def generate_general(
    tables: int,
    contests: int,
    seed: int,
    drops: int,
    reporting: float = 1.0,
    list_ballots: bool = False,
    off_ballot: int = 0,
) -> GeneralElection:
    """Generate a general election with `contests` distinct contests: registry, the long feed
    split into `drops` files in arrival order (every table's rows in one file), truth.

    `reporting` is the share of tables whose rows are delivered at all; truth counts the
    delivered ones. `list_ballots`: the registry lists the contests on each table's ballot (its
    `contests` column, transforms/ballots.py). `off_ballot`: that many extra tallies, each a
    delivered table's count of a legislative district's contest that is not on its ballot
    (rule E6; listed in truth's `off_ballot`, never in its totals). The same arguments give
    the same election.
    """
    check_size(tables, drops, reporting)
    offices, districts = ballot(contests)
    rng = np.random.default_rng(seed)
    geo = _geography(rng, tables)
    # The sample's draws, in its order (election._counts): the same registry and ballots.
    state = geo["_state"].to_numpy()
    states = int(state.max()) + 1
    registered = rng.integers(150, 950, size=tables)
    state_turnout = np.clip(rng.normal(0.62, 0.07, size=states), 0.35, 0.85)
    turnout = np.clip(state_turnout[state] + rng.normal(0, 0.05, size=tables), 0.05, 0.97)
    ballots = rng.binomial(registered, turnout)

    centres = geo["centre_code"].n_unique()
    if districts > centres:
        raise ValueError(
            f"{contests} contests need {districts} legislative districts, but {tables:,} tables "
            f"have only {centres:,} centres: use more tables or fewer contests"
        )
    all_races = _races(rng, geo, offices, districts)
    votes = [_votes(rng, races, ballots) for races in all_races]

    # Arrival order: states report at different speeds, tables within them at random.
    arrival = rng.uniform(0, 1, size=states)[state] + rng.uniform(0, 1.5, size=tables)
    delivered = rng.uniform(size=tables) < reporting if reporting < 1 else np.ones(tables, bool)
    order = np.flatnonzero(delivered)
    order = order[np.argsort(arrival[order], kind="stable")]

    feed = _feed(geo, registered, all_races, votes, order)
    # drops cut between tables, never inside one: a tally's rows stay in one file
    first_row = np.zeros(order.size + 1, dtype=np.int64)
    first_row[1:] = np.cumsum(_rows_per_table(all_races, order))
    bounds = first_row[np.linspace(0, order.size, drops + 1).astype(int)]
    parts = [feed.slice(a, b - a) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    registry = geo.drop("_state").with_columns(pl.Series("registered", registered))
    if list_ballots:
        registry = registry.with_columns(_ballot_lists(all_races))
    assembly = next((r for r in all_races if r.office is ASSEMBLY), None)
    if assembly is not None:
        registry = registry.with_columns(
            pl.Series("district_code", assembly.codes).gather(assembly.of_table),
            pl.Series("district_name", assembly.names).gather(assembly.of_table),
        )
    by_contest = _truth(all_races, votes, geo, registered, ballots, delivered)
    truth = {
        "election": ELECTION_ID,
        "seed": seed,
        "tables": int(order.size),
        "tables_generated": tables,
        "rows": feed.height,
        "contest_count": len(by_contest),
        "contests": by_contest,
    }
    if off_ballot:
        parts, truth["off_ballot"] = _off_ballot(parts, assembly, off_ballot, seed)
    name = (
        f"Republic of Tallyland general election (synthetic, {tables:,} tables, "
        f"{len(by_contest):,} contests)"
    )
    return GeneralElection(ELECTION_ID, name, registry, parts, truth)


def _ballot_lists(all_races: list[_Races]) -> pl.Series:
    """Per table, the ids of the contests on its ballot in ballot order, `;`-separated: the
    registry's `contests` column."""
    per_office = [
        pl.Series([contest_id(r.office.label, d) for d in r.districts]).gather(r.of_table)
        for r in all_races
    ]
    return pl.concat_str(per_office, separator=";").alias(BALLOT_COLUMN)


def _off_ballot(
    parts: list[pl.DataFrame], assembly: _Races | None, count: int, seed: int
) -> tuple[list[pl.DataFrame], list[dict]]:
    """Add `count` tallies of a contest not on their table's ballot: a delivered table (drawn
    by its own seed, so the election is otherwise unchanged) also reports the legislative
    contest of another district, a copy of the rows of that district's table with the fewest
    ballots under the table's codes and registered voters (so no other rule breaks: its lines
    are its contest's, its ballots within the table's registered voters). Each copy is appended
    to the drop that holds the table's rows. Returns the drops and what was added
    (table_code, contest_id, file)."""
    if assembly is None or len(assembly.codes) < 2:
        raise ValueError("off-ballot tallies need at least two legislative districts (K ≥ 5)")
    label = ASSEMBLY.label
    rows = []
    for index, part in enumerate(parts):
        seats = part.filter(pl.col("office") == label).with_columns(
            pl.col("table_code").cast(pl.String).alias("_table"),
            pl.col("district").cast(pl.String).alias("_district"),
        )
        rows.append(seats.with_columns(pl.lit(index).alias("_part")))
    seats = pl.concat(rows)
    tables = (
        seats.group_by("_table", "_district", "_part")
        .agg(pl.col("votes").sum().alias("_ballots"), pl.col("registered").first())
        .sort("_table")
    )
    if tables.height < count:
        raise ValueError(f"{count} off-ballot tallies need {count} delivered tables")
    rng = np.random.default_rng([seed, 12])
    chosen = tables[sorted(rng.choice(tables.height, size=count, replace=False).tolist())]
    added: list[dict] = []
    extra: dict[int, list[pl.DataFrame]] = {}
    for target in chosen.iter_rows(named=True):
        donors = tables.filter(
            (pl.col("_district") != target["_district"])
            & (pl.col("_ballots") <= target["registered"])
        ).sort("_ballots", "_table")
        if donors.is_empty():
            raise ValueError(f"no table of another district fits table {target['_table']}")
        donor = donors.row(0, named=True)
        own = seats.filter(pl.col("_table") == target["_table"]).head(1)
        copy = (
            seats.filter(pl.col("_table") == donor["_table"])
            .drop(*CODE_COLUMNS, "registered")
            .join(own.select(*CODE_COLUMNS, "registered"), how="cross")
            .select(FEED_COLUMNS)
        )
        extra.setdefault(target["_part"], []).append(copy)
        added.append(
            {
                "table_code": target["_table"],
                "contest_id": contest_id(label, donor["_district"]),
                "file": f"{FILE_PREFIX}_{target['_part'] + 1:03d}.csv",
            }
        )
    out = [pl.concat([p, *extra.get(i, [])]) for i, p in enumerate(parts)]
    return out, added


def _open_slots(races: _Races) -> np.ndarray:
    """Per race: which of the SLOTS rows it writes (its candidates and the three specials)."""
    sizes = np.array([len(c) for c in races.candidates])
    slot = np.arange(SLOTS)
    return (slot < sizes[:, None]) | (slot >= MAX_CANDIDATES)


def _rows_per_table(all_races: list[_Races], order: np.ndarray) -> np.ndarray:
    return sum(_open_slots(r).sum(axis=1)[r.of_table[order]] for r in all_races)


def _feed(
    geo: pl.DataFrame,
    registered: np.ndarray,
    all_races: list[_Races],
    votes: list[np.ndarray],
    order: np.ndarray,
) -> pl.DataFrame:
    """The long feed: tables in arrival order, then offices in ballot order, then slots.

    Its text columns are Categorical (4 bytes a row; 1M tables × 3 contests are 20M rows):
    `write_csv` writes the labels, `==` compares with text, `.cast(pl.String)` for the rest.
    """
    # (table, office, slot) grids in arrival order; the rows are the open slots, row-major
    open_ = np.stack([_open_slots(r)[r.of_table[order]] for r in all_races], axis=1)
    flat = np.flatnonzero(open_)
    del open_
    votes_column = pl.Series("votes", np.stack([v[order] for v in votes], axis=1).reshape(-1)[flat])
    # every (race, slot) of every office has a label row: office, district, party, candidate
    offset = np.cumsum([0, *[len(r.codes) for r in all_races]])
    label_grid = np.stack(
        [(r.of_table[order] + offset[i]) * SLOTS for i, r in enumerate(all_races)], axis=1
    )[:, :, None] + np.arange(SLOTS)
    label_index = pl.Series(label_grid.reshape(-1)[flat])
    del label_grid
    table = pl.Series(flat // (len(all_races) * SLOTS))
    del flat

    offices, districts, candidates, parties = [], [], [], []
    for races in all_races:
        for i, cands in enumerate(races.candidates):
            labels = _slot_labels(cands)
            party = [p for _, p in cands] + [None] * (MAX_CANDIDATES - len(cands))
            offices += [races.office.label] * SLOTS
            districts += [races.districts[i]] * SLOTS
            candidates += labels
            parties += [*party, WRITE_IN_PARTY, None, None]
    columns = {}
    for column in CODE_COLUMNS:  # each level's codes once, as categories, then per row
        level_index = _run_index(geo[column])
        first_rows = np.r_[0, np.flatnonzero(np.diff(level_index)) + 1]
        codes = geo[column].gather(first_rows).cast(pl.Categorical)
        columns[column] = codes.gather(level_index[order]).gather(table)
    columns["registered"] = pl.Series(registered[order]).gather(table)
    for name, labels in (
        ("office", offices),
        ("district", districts),
        ("party", parties),
        ("candidate", candidates),
    ):
        columns[name] = pl.Series(labels, dtype=pl.Categorical).gather(label_index)
    return pl.DataFrame({**columns, "votes": votes_column})
