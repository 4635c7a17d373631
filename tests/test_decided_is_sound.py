"""`decided` in marts.contest_status is sound: a district called decided keeps its leaders
whatever the tallies still to come hold, as long as they pass the quality rules (E1–E8).

A seeded property test over random small general elections: a registry listing each unit's
contests (some units with no list of registered voters, some with an empty ballot), contests
elected nationally, per ward (administrative), in districts of a level of their own that the
registry places (`smd_code`, nesting in the wards or cutting across them) or that the tallies
name (one district, no registry column), single-member and vote-for-N; two sources counting
different subsets. contest_status is computed with the pipeline's own functions (ballot_pairs,
own_districts, expected_in_districts, expected_per_unit, uncounted_registered, contest_status);
then every decided district's uncounted units are filled adversarially within the rules, and its
leaders must still lead.

End to end (e2e): a generated general election run with some tables held back, then a late file
for them whose every tally gives the first loser of its district the most the rules allow (a
vote-for-N tally: N × the registered voters on one line, half of them stating no registered
voters so that E2 holds them to the registry's), one tally just over that (E2) and one for a
contest off its unit's ballot (E6): every district decided after the first run keeps its
leaders, and the run by the drop equals a full rebuild.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import pytest

from expectations.evidence import registry_paths
from landing.synthetic_general import write_synthetic_general
from orchestration import mart_builds
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import assert_same_marts, mart_snapshot, published, run
from tests.test_ballot_registry import ELECTION as ONE_DISTRICT_LEVEL
from tests.test_ballot_registry import _failing, _tallies, registry
from tests.test_contest_status import contests, coverage, results, turnout
from tests.test_incremental import run_forced_full
from transforms import ballots
from transforms.contest_status import contest_status, uncounted_registered
from transforms.feed import OTHER_ID
from transforms.model import NATIONAL, Election, QualityPolicy, RuleOverride
from transforms.synthetic.general import FEED_COLUMNS, contest_id, generate_general

# wards and precincts; two district levels of their own: `smd` the registry places (smd_code),
# `zone` it does not
ELECTION = replace(
    ONE_DISTRICT_LEVEL,
    contests=(),
    district_levels=(("smd", "Single-member district"), ("zone", "Zone")),
)
# contest_id → (seats, vote_for, district level: None national, "ward", or a level of its own)
CONTESTS = {
    "president": (1, 1, None),
    "senate": (2, 2, None),  # vote for 2, two seats, whole election
    "council": (2, 3, "ward"),  # vote for 3, two seats per ward
    "assembly": (1, 1, "smd"),  # one contest, several districts the registry places
    "board": (2, 2, "smd"),
    "zone-a": (1, 1, "zone"),  # one district, named by its tallies only
}
CONTEST_LIST = contests(*[(c, s, v, d) for c, (s, v, d) in CONTESTS.items()])
SOURCES = ("s1", "s2")
ZONE = "ZA"


@dataclass
class Unit:
    code: str
    ward: str
    smd: str
    registered: int  # 0: no list of registered voters
    ballot: list[str]


@dataclass
class Tally:
    unit: Unit
    contest: str
    votes: dict[str, int]  # candidate (or OTHER_ID) → votes
    ballots: int

    @property
    def district(self) -> str:
        return district_of(self.unit, self.contest)


def district_of(unit: Unit, contest: str) -> str:
    level = CONTESTS[contest][2]
    return {None: NATIONAL, "ward": unit.ward, "smd": unit.smd, "zone": ZONE}[level]


def level_of(contest: str) -> str:
    return CONTESTS[contest][2] or NATIONAL


def candidates_of(contest: str, rng: random.Random) -> list[str]:
    return [f"{contest}-c{i}" for i in range(rng.randint(2, 5))]


def random_election(rng: random.Random):
    """Units, every honest tally (one per unit and contest on its ballot) and the candidates."""
    wards = [f"W{i}" for i in range(rng.randint(1, 3))]
    nesting = rng.random() < 0.5
    units = []
    for i in range(rng.randint(3, 12)):
        ward = rng.choice(wards)
        smd = f"S-{ward}" if nesting else rng.choice(["S1", "S2", "S3"])
        registered = 0 if rng.random() < 0.08 else rng.randint(10, 300)
        ballot = (
            []
            if rng.random() < 0.08
            else [c for c in CONTESTS if c == "president" or rng.random() < 0.75]
        )
        units.append(Unit(f"P{i:02d}", ward, smd, registered, ballot))
    names = {c: candidates_of(c, rng) for c in CONTESTS}
    weights = {c: [rng.random() ** 3 for _ in names[c]] for c in CONTESTS}
    tallies = []
    for unit in units:
        for contest in unit.ballot:
            limit = unit.registered or 200
            cast = rng.randint(0, limit)
            tallies.append(
                Tally(unit, contest, honest_votes(rng, contest, names, weights, cast), cast)
            )
    return units, tallies, names


def honest_votes(rng, contest, names, weights, cast) -> dict[str, int]:
    """Each ballot marks up to vote_for different candidates (one may be undeclared)."""
    vote_for = CONTESTS[contest][1]
    pool = [*names[contest], OTHER_ID]
    w = [*weights[contest], 0.05]
    votes = dict.fromkeys(pool, 0)
    for _ in range(cast):
        marks = rng.randint(0, vote_for)
        chosen = set()
        for _ in range(marks):
            chosen.add(rng.choices(pool, w)[0])
        for c in chosen:
            votes[c] += 1
    return votes


def registry_frame(units: list[Unit]) -> pl.DataFrame:
    listed = registry(*[(u.ward, u.code, str(u.registered), ";".join(u.ballot)) for u in units])
    return listed.with_columns(pl.Series("smd_code", [u.smd for u in units], pl.String))


def status_of(units, counted: dict[str, list[Tally]]) -> pl.DataFrame:
    """contest_status as the pipeline computes it for a general election whose registry lists
    each unit's ballot (orchestration.mart_builds.ballot_bound and the coverage's expected)."""
    pairs = ballots.ballot_pairs(registry_frame(units), ELECTION)
    every = [t for ts in counted.values() for t in ts]
    received = pl.DataFrame(
        {
            "contest_id": [t.contest for t in every],
            "contest_district_level": [CONTESTS[t.contest][2] for t in every],
            "contest_district": [
                t.district if CONTESTS[t.contest][2] in ("smd", "zone") else None for t in every
            ],
        },
        schema={
            "contest_id": pl.String,
            "contest_district_level": pl.String,
            "contest_district": pl.String,
        },
    )
    districts = ballots.own_districts(received, pairs, ELECTION)
    listed = CONTEST_LIST.select("contest_id", "district_level")
    expected_units = ballots.expected_in_districts(pairs, listed, districts, ELECTION)
    done = pl.DataFrame(
        [(s, t.contest, t.unit.code) for s, ts in counted.items() for t in ts],
        schema={"source_id": pl.String, "contest_id": pl.String, "tally_code": pl.String},
        orient="row",
    )
    bound = uncounted_registered(expected_units, done, SOURCES)
    expected = {
        (c, lvl, u): n
        for c, lvl, u, n in ballots.expected_per_unit(pairs, districts, ELECTION).iter_rows()
    }
    res, cov, turn = [], [], []
    for source in SOURCES:
        per_district: dict[tuple, list[Tally]] = {}
        for t in counted[source]:
            per_district.setdefault((t.contest, level_of(t.contest), t.district), []).append(t)
        keys = {k for k in expected if k[1] == level_of(k[0])} | set(per_district)
        for key in sorted(keys):
            mine = per_district.get(key, [])
            cov.append((source, *key, expected.get(key), len(mine)))
            if not mine:
                continue
            summed: dict[str, int] = {}
            for t in mine:
                for c, v in t.votes.items():
                    summed[c] = summed.get(c, 0) + v
            res += [(source, *key, c, v) for c, v in summed.items()]
            turn.append((source, *key, sum(t.ballots for t in mine)))
    return contest_status(results(*res), coverage(*cov), turnout(*turn), CONTEST_LIST, bound)


def district_votes(tallies: list[Tally], contest: str, district: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for t in tallies:
        if t.contest == contest and t.district == district:
            for c, v in t.votes.items():
                found[c] = found.get(c, 0) + v
    return found


def attacks(row: dict, names: list[str], left: list[Unit]):
    """The late tallies' worst cases for the row's leaders, each within E1–E8: a tally's votes
    cast (valid + null + blank, over vote_for in a vote-for-N contest) at most its unit's
    registered voters (E2: the registry's figure, E7 equal to it when stated), lines summing to
    the valid votes (E3). Yields (what, extra votes per candidate)."""
    vote_for = row["vote_for"]
    losers = [c for c in names if c not in row["leaders"]]
    room = sum(u.registered for u in left)
    # E2 holds a vote-for-N tally's lines to vote_for × registered in sum, not line by line
    for loser in losers:
        yield f"E2's most to {loser}", {loser: vote_for * room}
        yield f"one vote a ballot to {loser}", {loser: room}
    yield "one vote a ballot to every loser", dict.fromkeys(losers, room)
    yield "every ballot to one undeclared candidate", {OTHER_ID: room}
    yield "E2's most to the undeclared", {OTHER_ID: vote_for * room}


def misplaced(row: dict, units: list[Unit], left: list[Tally]) -> list[Unit]:
    """The units of the row's contest not yet counted elsewhere whose late tally may name the
    row's district (a contest elected in several districts of a level of its own) and pass E6:
    off_ballot, E6's ballot half, leaves it alone."""
    level, district = row["level"], row["unit_code"]
    if level in (NATIONAL, "ward"):  # E6 holds a tally's administrative codes to the registry
        return []
    elsewhere = [t for t in left if t.district != district]
    if not elsewhere:
        return []
    frame = pl.DataFrame(
        {
            "tally_id": list(range(len(elsewhere))),
            "tally_code": [t.unit.code for t in elsewhere],
            "contest_id": [row["contest_id"]] * len(elsewhere),
            "contest_district_level": [level] * len(elsewhere),
            "contest_district": [district] * len(elsewhere),
        }
    )
    judged = ballots.off_ballot(frame, registry_frame(units), ELECTION)
    passed = set(judged.filter(pl.col(ballots.OFF_BALLOT).is_null())["tally_id"].to_list())
    return [t.unit for i, t in enumerate(elsewhere) if i in passed]


def check_decided_rows(status, units, tallies, counted, names) -> int:
    """Every decided row of status survives every attack; how many were checked."""
    checked = 0
    for row in status.filter(pl.col("decided")).iter_rows(named=True):
        source, contest, district = row["source_id"], row["contest_id"], row["unit_code"]
        seen = {id(t) for t in counted[source]}
        left = [t for t in tallies if t.contest == contest and id(t) not in seen]
        mine = [t.unit for t in left if t.district == district] + misplaced(row, units, left)
        assert all(u.registered > 0 for u in mine), (row, "an unbounded unit is still to come")
        now = district_votes(counted[source], contest, district)
        for what, extra in attacks(row, names[contest], mine):
            final = {c: now.get(c, 0) + extra.get(c, 0) for c in [*names[contest], OTHER_ID]}
            weakest = min(final[c] for c in row["leaders"])
            strongest = max(v for c, v in final.items() if c not in row["leaders"])
            assert weakest > strongest, (what, row, final)
        checked += 1
    return checked


def test_no_late_tally_within_the_rules_overturns_a_decided_district():
    rng = random.Random(20261203)
    decided = with_left = 0
    for _ in range(250):
        units, tallies, names = random_election(rng)
        share = {s: rng.random() for s in SOURCES}
        counted = {s: [t for t in tallies if rng.random() < share[s]] for s in SOURCES}
        status = status_of(units, counted)
        decided += check_decided_rows(status, units, tallies, counted, names)
        with_left += status.filter(pl.col("decided") & (pl.col("outstanding_ballots") > 0)).height
    # the property was exercised: many districts decided, many with ballots still to come
    assert decided > 200 and with_left > 50, (decided, with_left)


def test_one_line_of_a_late_vote_for_2_tally_may_hold_twice_its_registered_voters():
    """E2 holds a vote-for-N tally's votes cast, its lines over N, to its registered voters, and
    no rule holds a line to the ballots: a late vote-for-2 tally of a unit of 100 voters may
    give one candidate 200 votes and pass every rule. A margin of 150 over that unit is no
    decision."""
    counted_unit = Unit("P00", "W0", "S1", 200, ["senate"])
    late_unit = Unit("P01", "W0", "S1", 100, ["senate"])
    names = {"senate": ["senate-c0", "senate-c1", "senate-c2"]}
    counted = Tally(counted_unit, "senate", {"senate-c0": 200, "senate-c1": 150}, 200)
    late = Tally(late_unit, "senate", {"senate-c2": 200}, 100)  # votes cast 200 / 2 = 100
    status = status_of([counted_unit, late_unit], {"s1": [counted], "s2": []})
    row = status.filter(source_id="s1", contest_id="senate").to_dicts()[0]
    assert (row["margin"], row["outstanding_ballots"]) == (150, 100)
    assert row["decided"] is False
    assert (
        check_decided_rows(
            status, [counted_unit, late_unit], [counted, late], {"s1": [counted], "s2": []}, names
        )
        == 0
    )


# --- end to end -----------------------------------------------------------------------------

TABLE = ("state_code", "municipality_code", "parish_code", "centre_code", "table_code")
BY_LEVEL = {"state": "state_code", "municipality": "municipality_code", "district": "district_code"}


def _statuses(settings: Settings) -> dict[tuple, dict]:
    rows = published(settings, "select * from contest_status").iter_rows(named=True)
    return {(r["contest_id"], r["level"], r["unit_code"]): r for r in rows}


def _first_losers(settings: Settings, status: dict[tuple, dict]) -> dict[tuple, str]:
    """(contest, level, district) → the declared candidate in the first losing place."""
    found = {}
    frame = published(
        settings, "select contest_id, level, unit_code, candidate_id, votes from results"
    )
    for key, row in status.items():
        rivals = frame.filter(contest_id=key[0], level=key[1], unit_code=key[2]).filter(
            ~pl.col("candidate_id").is_in([*row["leaders"], OTHER_ID])
        )
        if rivals.height:
            found[key] = rivals.sort(["votes", "candidate_id"], descending=[True, False])[
                "candidate_id"
            ][0]
    return found


def _attack(rows: pl.DataFrame, target: str | None, votes: int) -> pl.DataFrame:
    """One table's rows of one race: every line 0 but the target's."""
    return rows.with_columns(
        pl.when(pl.col("candidate") == pl.lit(target, pl.String))
        .then(votes)
        .otherwise(0)
        .alias("votes")
    )


def _late_file(general, held: pl.DataFrame, status, losers) -> tuple[pl.DataFrame, set]:
    """The held tables' tallies, each giving its district's first loser vote_for × the table's
    registered voters; one of them one ballot over (E2), and one more tally for a legislative
    contest off its table's ballot (E6). Also the (table, contest, rule) the gate must
    quarantine."""
    feed = general.drops[0].join(held.select(*TABLE), on=list(TABLE), how="semi")
    registry = general.registry.select(*TABLE, "district_code")
    feed = feed.join(registry, on=list(TABLE), how="left")
    parts, quarantined = [], set()
    races = feed.partition_by("table_code", "office", "district", maintain_order=True)
    for rows in races:
        contest = contest_id(rows["office"][0], rows["district"][0])
        level = next(k[1] for k in status if k[0] == contest)
        code = NATIONAL if level == NATIONAL else rows[BY_LEVEL[level]][0]
        vote_for = status[(contest, level, code)]["vote_for"]
        table, registered = rows["table_code"][0], rows["registered"][0]
        over = vote_for if not quarantined and vote_for > 1 else 0
        if over:
            quarantined.add((table, contest, "E2"))
        part = _attack(rows, losers.get((contest, level, code)), vote_for * registered + over)
        parts.append(part)
    # a table of one legislative district sends the other district's contest (E6)
    table = parts[0].select(*TABLE, "registered", "district_code").row(0, named=True)
    other = feed.filter(
        pl.col("district").str.starts_with("LD-"), pl.col("district_code") != table["district_code"]
    )
    if other.height:
        first = other.filter(table_code=other["table_code"][0])
        contest = contest_id(first["office"][0], first["district"][0])
        key = (contest, "district", first["district_code"][0])
        parts.append(
            _attack(first, losers.get(key), table["registered"]).with_columns(
                *[pl.lit(v).alias(c) for c, v in table.items() if c != "district_code"]
            )
        )
        quarantined.add((table["table_code"], contest, "E6"))
    return pl.concat([p.select(FEED_COLUMNS) for p in parts], how="vertical_relaxed"), quarantined


def _without_registered(elections: Path) -> Path:
    """The general election's configuration with a feed contract that maps no registered
    voters: E2 holds every tally to its unit's registry figure (E7 judges none)."""
    shutil.copytree(Path(__file__).parents[1] / "elections" / "general", elections / "general")
    contract = elections / "general" / "contracts" / "general.toml"
    text = contract.read_text()
    mapped = 'registered = "registered"'
    assert mapped in text
    contract.write_text(text.replace(mapped, "", 1))
    return elections


@pytest.mark.e2e
def test_late_tallies_at_the_rules_limit_overturn_no_district_decided_before(tmp_path: Path):
    elections = _without_registered(tmp_path / "elections")
    settings = replace(Settings(tmp_path / "data"), election="general", elections_dir=elections)
    prepare_data_dir(settings)
    general = generate_general(240, contests=6, seed=11, drops=1, list_ballots=True)
    general = replace(general, drops=[general.drops[0].cast({pl.Categorical: pl.String})])
    tables = general.drops[0].select(*TABLE).unique(maintain_order=True)
    held = tables.sample(fraction=0.12, seed=1)
    first = general.drops[0].join(held, on=list(TABLE), how="anti")
    write_synthetic_general(replace(general, drops=[first]), settings.landing)
    assert run(settings).success
    before = _statuses(settings)
    late, quarantined = _late_file(general, held, before, _first_losers(settings, before))
    late.write_csv(settings.landing / "general_002.csv")
    assert run(settings).success
    after = _statuses(settings)
    errors = published(
        settings,
        "select tally_code, contest_id, rule_id from quality_issues where severity = 'error'",
    )
    assert set(errors.iter_rows()) == quarantined
    decided = [k for k, r in before.items() if r["decided"]]
    for key in decided:
        assert set(after[key]["leaders"]) == set(before[key]["leaders"]), (before[key], after[key])
    # exercised: districts decided with ballots still to come, and the attack overturned some
    # district that was not decided
    assert sum(before[k]["outstanding_ballots"] > 0 for k in decided) >= 3
    assert any(set(after[k]["leaders"]) != set(r["leaders"]) for k, r in before.items())
    by_drop = mart_snapshot(settings)
    run_forced_full(settings)
    assert_same_marts(by_drop, mart_snapshot(settings))


def test_e6_holds_a_tally_to_the_district_the_registry_places_its_unit_in():
    """A tally of a contest elected in several districts of a level of its own, counted in a
    district other than the one the registry's `smd_code` gives its unit (or in one where the
    registry gives none), breaks E6: otherwise a late tally could count in a district whose
    bound on the ballots still to come never held its unit's voters."""
    listing = registry(
        ("1", "P1", "100", "assembly;president"),
        ("1", "P2", "120", "assembly"),
        ("2", "P3", "50", "assembly"),
    ).with_columns(pl.Series("smd_code", ["1A", "1A", None], pl.String))
    tallies = pl.DataFrame(
        [
            (1, "P1", "assembly", "smd", "1A"),
            (2, "P2", "assembly", "smd", "2A"),
            (3, "P3", "assembly", "smd", "2A"),
            (4, "P1", "president", None, None),
            (5, "P9", "assembly", "smd", "2A"),  # unknown to the registry: E6's other half
        ],
        schema=[
            "tally_id",
            "tally_code",
            "contest_id",
            "contest_district_level",
            "contest_district",
        ],
        orient="row",
    )
    judged = dict(ballots.off_ballot(tallies, listing, ELECTION).iter_rows())
    assert judged == {
        1: None,
        2: "assembly in smd 2A, the registry's 1A",
        3: "assembly in smd 2A, the registry's (none)",
        4: None,
        5: None,
    }
    # a registry that does not place its units in the level's districts judges no district
    assert (
        ballots.off_ballot(tallies, listing.drop("smd_code"), ELECTION)[
            ballots.OFF_BALLOT
        ].null_count()
        == 5
    )


def test_e2_and_the_bound_read_the_same_registered_voters_off_the_registry():
    """contest_status bounds an uncounted unit by the registered voters the registry gives it,
    and E2 holds the unit's late tally to the same figure: a figure E2 could not read (text
    with spaces around it, as a fixed-width export pads it) left the tally unjudged while the
    bound counted it, so the tally could hold any number of ballots."""
    listing = registry(
        ("1", "P1", " 100", "assembly"),
        ("1", "P2", "120 ", "assembly"),
        ("1", "P3", "1,000", "assembly"),  # no whole number: no figure, for both
        ("1", "P4", "80", "assembly"),
    )
    held_by_e2 = dict(
        registry_paths(listing, ELECTION).select("tally_code", "registry_registered").iter_rows()
    )
    bounded_by = dict(
        ballots.ballot_pairs(listing, ELECTION).select("tally_code", "registered").iter_rows()
    )
    assert held_by_e2 == bounded_by == {"P1": 100, "P2": 120, "P3": None, "P4": 80}


# --- a policy that demotes a rule decided rests on ------------------------------------------


def _demoting(*rules: str, source: str | None = "s1") -> Election:
    overrides = tuple(RuleOverride(r, "warn", "documented", source) for r in rules)
    return replace(ELECTION, quality=QualityPolicy(overrides=overrides))


@pytest.mark.parametrize("rule", ["E1", "E2", "E3", "E5", "E6", "E7", "E8"])
def test_a_source_whose_policy_demotes_a_rule_the_bound_rests_on_gets_no_bound(rule):
    """A late tally may then hold a negative line (E1), a line past its valid votes (E3, or
    unread: E8), more ballots than its registry figure (E2, E7), a second count of its unit
    (E5), or count at a unit or district the registry does not expect (E6)."""
    election = _demoting(rule)
    assert mart_builds.bound_waived(election, "s1")
    assert not mart_builds.bound_waived(election, "s2")
    assert mart_builds.bound_waived(_demoting(rule, source=None), "s2")
    assert not mart_builds.bound_waived(_demoting("E4", "W1"), "s1")


def test_every_expected_tally_counted_decides_nothing_where_e5_or_e6_is_demoted():
    """counted = expected says every expected tally is counted only if no unit is counted twice
    (E5) and none outside the registry (E6): where the policy demotes either, a unit it does not
    list may fill the count while an expected one is still to come."""
    listing = contests(("president", 1, 1, None))
    where = ("president", "national", "national")
    marts = (
        results(*[(s, *where, c, v) for s in ("s1", "s2") for c, v in (("a", 90), ("b", 10))]),
        coverage(*[(s, *where, 4, 4) for s in ("s1", "s2")]),
        turnout(*[(s, *where, 100) for s in ("s1", "s2")]),
    )
    for rule in ("E5", "E6"):
        unchecked = mart_builds.unchecked_counts(_demoting(rule), marts[1])
        status = contest_status(*marts, listing, unchecked_counts=unchecked)
        assert dict(status.select("source_id", "decided").iter_rows()) == {
            "s1": False,
            "s2": True,
        }
        assert status.filter(source_id="s1")["outstanding_ballots"].item() is None
    assert mart_builds.unchecked_counts(_demoting("E2", "E3"), marts[1]) == []


def test_e2_judges_a_tally_whose_feed_gives_no_null_votes():
    """A feed need not map null (or blank) votes; its tallies' votes cast are then at least the
    valid votes, and E2 holds that to the registered voters: unjudged, a late tally of 500
    valid votes at a unit of 100 voters passed every rule and outran the bound."""
    tallies = _tallies(
        [
            (1, "1", "P1", "president", 1, 100, 500, None, None, None),  # no null votes mapped
            (2, "1", "P1", "president", 1, 100, 100, None, None, None),
            (3, "1", "P2", "president", 2, None, 242, None, None, None),  # registry's 120
            (4, "1", "P2", "president", 2, None, 240, None, None, None),
        ]
    )
    assert _failing(tallies, ["E2"]) == {"E2": [1, 3]}
