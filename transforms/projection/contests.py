"""The projection of a general election: the stratified ratio estimator run contest by contest.

Pure: frames in, one frame out (the `projection` mart with `contest_id`). docs/projection.md
("General elections") says what is projected where.

A contest on every ballot (no district level) is projected as an election of one contest is:
strata are the election's first level, the registry's units (or the expected tallies) the
population. A contest elected in districts is projected **within each district**: the
district's own tallies are the sample, the district's units the population (the registry's
units with the district's code, or without a registry the district's expected tallies when it
is a unit of an administrative level), stratified by the first level inside it. Its rows are
then one per source and candidate of that district, the shares of the district's valid votes,
and `method` names the district. A district whose units are not known (a level of its own and
a registry without its code column) has no expected number: its rows give the counted votes
and project nothing. A district, or a contest, whose expected tallies are all in is its count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import polars as pl

from transforms.contests import slot
from transforms.model import NATIONAL, Candidate, Election
from transforms.projection import estimator
from transforms.projection.estimator import (
    SCHEMA,
    SIZE,
    STATE,
    STATS_KEYS,
    Frame,
    project_from_stats,
    projection_stats,
    registry_sizes,
    registry_strata,
)
from transforms.staging import CONTEST

DISTRICT = "contest_district"
DISTRICT_LEVEL = "contest_district_level"
# keyed by contest and the district it projects (national for a contest of the whole area)
CONTEST_SCHEMA = {
    "source_id": pl.String,
    CONTEST: pl.String,
    "level": pl.String,
    "unit_code": pl.String,
    **SCHEMA,
}
LONG_VOTES_SCHEMA = {"tally_id": pl.Int64, "candidate_id": pl.String, "votes": pl.Int64}
UNITS_SCHEMA = {"level": pl.String, "unit_code": pl.String, "expected": pl.Int64}
GROUP = [CONTEST, DISTRICT]  # a contest in one district (null: of the whole area)
FIRST_CODE = "first_code"
GROUP_SCHEMA = {  # a row per line of a group: its projection's candidates
    CONTEST: pl.String,
    DISTRICT: pl.String,
    DISTRICT_LEVEL: pl.String,
    FIRST_CODE: pl.String,
    "candidate_id": pl.String,
    "candidate_name": pl.String,
}


def with_contest_id(
    mart: pl.DataFrame, contest: str, level: str | None = None, district: str | None = None
) -> pl.DataFrame:
    """A projection keyed by its contest and the district it covers (level, unit_code;
    national for a contest of the whole area)."""
    return mart.with_columns(
        pl.lit(contest, pl.String).alias(CONTEST),
        pl.lit(level or NATIONAL, pl.String).alias("level"),
        pl.lit(district if level else NATIONAL, pl.String).alias("unit_code"),
    ).select(list(CONTEST_SCHEMA))


def project_contests(
    tallies: pl.DataFrame,
    votes: pl.DataFrame,
    lines: pl.DataFrame,
    election: Election,
    registry: pl.DataFrame | None = None,
    units: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The projection mart of a general election: per contest (and district), source and
    candidate.

    tallies: the accepted tallies (tally_id, source_id, contest_id, contest_district_level,
    contest_district, tally_code, the level codes, registered, valid_votes, total_votes);
    votes: their long votes (tally_id, candidate_id, votes); lines: contest_id, candidate_id,
    candidate_name (ballot order); registry: raw.registry's codes (with a district level's own
    code column where it has one) and registered voters, or None; units: staged.units."""
    tallies = with_districts(tallies)
    cast = CastVotes(votes, tallies)
    groups = group_lines(tallies, cast, lines, election)
    populations = Populations(registry, units, election)
    stats = group_stats(cast, groups, populations)
    by_group = cast.tallies  # per group, in tally_id order
    return project_groups(
        stats,
        groups,
        populations,
        lambda key: estimator.capacity_max(by_group[key]),
        lambda key, source: (by_group[key].filter(source_id=source), votes),
    )


def with_districts(tallies: pl.DataFrame) -> pl.DataFrame:
    """The tallies with their contest's district level and district (null where none)."""
    for column in (DISTRICT_LEVEL, DISTRICT):
        if column not in tallies.columns:
            tallies = tallies.with_columns(pl.lit(None, pl.String).alias(column))
    return tallies


class CastVotes:
    """The cast long votes (tally_id, candidate_id, votes; a count) of some accepted tallies,
    split by their tallies' group (contest, district) once: one join of the votes with an
    integer group number, then a split on it (joining and splitting every vote on the two
    string keys cost twice as much, and group_lines and group_stats each did it). The
    tallies are split by the same number beside them (`tallies`), and both sides are in
    tally_id order: polars then joins, pivots and groups them on a sorted key (sorting the
    votes once cost less than hashing them at every step: a third of the step's CPU)."""

    def __init__(self, votes: pl.DataFrame, tallies: pl.DataFrame) -> None:
        self._take([_split_by_group(votes, tallies)])

    @classmethod
    def by_contest(
        cls, tallies: pl.DataFrame, votes_of: Callable[[str], pl.DataFrame]
    ) -> CastVotes:
        """The same, each contest's votes asked for alone (votes_of(contest): its long votes,
        of at least its tallies here) and joined with its own tallies only: the warehouse
        reads them contest by contest instead of every vote at once."""
        parts = [
            _split_by_group(votes_of(contest), own)
            for (contest,), own in tallies.partition_by(CONTEST, as_dict=True).items()
        ]
        cast = cls.__new__(cls)
        cast._take(parts or [_split_by_group(pl.DataFrame(schema=LONG_VOTES_SCHEMA), tallies)])
        return cast

    def _take(self, parts: list[tuple]) -> None:
        """The present lines, the split votes and the split tallies of these _split_by_group
        parts; the groups in the order of their first tally_id (as the tallies' own order)."""
        self.present = pl.concat([part[0] for part in parts])
        self._split = {key: votes for part in parts for key, votes in part[1].items()}
        self._none = parts[0][2]
        tallies = [item for part in parts for item in part[3].items()]
        self.tallies = dict(sorted(tallies, key=lambda item: item[1]["tally_id"][0]))

    def of(self, key: tuple) -> pl.DataFrame:
        """The group's cast votes (none: an empty frame of their columns)."""
        return self._split.get(key, self._none)


def _split_by_group(
    votes: pl.DataFrame, tallies: pl.DataFrame
) -> tuple[pl.DataFrame, dict[tuple, pl.DataFrame], pl.DataFrame, dict[tuple, pl.DataFrame]]:
    """CastVotes' parts: the (GROUP, candidate_id) given a count, the cast votes per group,
    none of them (an empty frame of their columns) and the tallies per group, both in
    tally_id order."""
    numbered = tallies.sort("tally_id").with_columns(pl.struct(GROUP).rank("dense").alias("_g"))
    keys = numbered.select("_g", *GROUP).unique("_g")
    cast = (
        votes.filter(pl.col("votes").is_not_null())
        .sort("tally_id")
        .join(numbered.select("tally_id", "_g"), on="tally_id", how="inner")
    )
    present = cast.select("_g", "candidate_id").unique().join(keys, on="_g")
    key_of = {g: tuple(key) for g, *key in keys.iter_rows()}
    split = cast.partition_by("_g", as_dict=True, include_key=False)
    split = {key_of[g]: part for (g,), part in split.items()}
    own = numbered.partition_by("_g", as_dict=True, include_key=False)
    own = {key_of[g]: part for (g,), part in own.items()}
    # the warehouse hands a contest's votes over with candidate_id Categorical: lines are String
    present = present.select(*GROUP, pl.col("candidate_id").cast(pl.String))
    return present, split, cast.clear().drop("_g"), own


def group_lines(
    tallies: pl.DataFrame, cast: CastVotes, lines: pl.DataFrame, election: Election
) -> pl.DataFrame:
    """Per contest and district of these accepted tallies (GROUP_SCHEMA, a row per line): its
    district level and the first level's code (both of its first tally carrying one, in
    tally_id order) and, in ballot order, the lines some of its tallies give a count: the
    candidates its projection has rows for (a district without any has none)."""
    first = election.code_column(election.levels[0])
    ordered = tallies.sort("tally_id")
    about = ordered.group_by(GROUP, maintain_order=True).agg(
        pl.col(DISTRICT_LEVEL).drop_nulls().first(),
        pl.col(first).drop_nulls().first().alias(FIRST_CODE),
    )
    present = cast.present
    order = lines.select(CONTEST, "candidate_id", "candidate_name").with_row_index("_order")
    return (
        present.join(order, on=[CONTEST, "candidate_id"], how="inner")
        .join(about, on=GROUP, how="left", nulls_equal=True)
        .sort("_order")
        .select(list(GROUP_SCHEMA))
        .cast(GROUP_SCHEMA)
    )


@dataclass(frozen=True)
class Group:
    """One contest in one district (or of the whole area) as the estimator sees it."""

    contest: str
    district: str | None
    level: str | None
    first_code: str | None
    ids: list[str]  # its lines' candidate ids, ballot order
    view: Election  # a candidate per line, `p001`, …

    @property
    def key(self) -> tuple:
        return (self.contest, self.district)

    @property
    def slots(self) -> dict[str, str]:
        return {c: slot(i + 1) for i, c in enumerate(self.ids)}


def groups_of(lines: pl.DataFrame, election: Election) -> dict[tuple, Group]:
    """group_lines' rows as Groups, in the mart's order (contest, then district)."""
    found = {}
    for key, own in lines.partition_by(GROUP, as_dict=True, maintain_order=True).items():
        level = own[DISTRICT_LEVEL][0]
        view = _contest_view(election, own["candidate_name"].to_list(), level)
        ids = own["candidate_id"].to_list()
        found[key] = Group(*key, level, own[FIRST_CODE][0], ids, view)
    return dict(sorted(found.items(), key=lambda kv: _sort_key(kv[0])))


class Populations:
    """Per contest and district: the registry rows and expected tallies of its population
    (_population) and the registry's sizes of its units, each worked out once."""

    def __init__(
        self, registry: pl.DataFrame | None, units: pl.DataFrame | None, election: Election
    ) -> None:
        self.registry, self.units, self.election = registry, units, election
        self._known: dict[tuple, tuple] = {}
        self._districts: dict[str, dict[tuple, pl.DataFrame]] = {}

    def of(self, group: Group) -> tuple[pl.DataFrame | None, pl.DataFrame, pl.DataFrame | None]:
        """(registry rows, expected tallies, registry_sizes) of the group's population."""
        known = (group.key, group.level, group.first_code)
        if known not in self._known:
            registry, units = _population(
                self.registry,
                self._registry_in,
                self.units,
                self.election,
                group.first_code,
                group.level,
                group.district,
            )
            self._known[known] = (registry, units, registry_sizes(registry, group.view))
        return self._known[known]

    def _registry_in(self, code: str, district: str) -> pl.DataFrame:
        """The registry rows with this code (registry.filter(code == district), in its order):
        the registry is split by a code column once, not filtered again for each district
        (a filter of every row per district cost a tenth of the step at 49 districts)."""
        if code not in self._districts:
            self._districts[code] = self.registry.partition_by(code, as_dict=True)
        return self._districts[code].get((district,), self.registry.clear())

    def needs_tallies(self, group: Group) -> bool:
        """Whether the population's state is read off the group's tallies (a district of an
        administrative level below the first that the registry does not code)."""
        if group.level is None or group.district is None or group.level == self.election.levels[0]:
            return False
        code = self.election.code_column(group.level)
        coded = self.registry is not None and code in self.registry.columns
        return not coded and group.level in self.election.levels


def group_stats(cast: CastVotes, lines: pl.DataFrame, populations: Populations) -> pl.DataFrame:
    """projection_stats of each contest and district of some accepted tallies (CastVotes':
    their votes and themselves split by group) over its lines (group_lines), keyed by GROUP:
    integer sums, so a drop moves them by its difference."""
    groups = groups_of(lines, populations.election)
    parts = []
    for key, own in cast.tallies.items():
        group = groups.get(key)
        if group is None:  # no line given a count there: nothing to project
            continue
        counted = _counted(own, cast.of(key), group, populations.of(group)[2])
        parts.append(
            projection_stats(counted, group.view).with_columns(
                pl.lit(group.contest, pl.String).alias(CONTEST),
                pl.lit(group.district, pl.String).alias(DISTRICT),
            )
        )
    if not parts:
        return pl.DataFrame(schema={CONTEST: pl.String, DISTRICT: pl.String})
    return pl.concat(parts, how="diagonal_relaxed")


def group_counted(
    tallies: pl.DataFrame, votes: pl.DataFrame, group: Group, sizes: pl.DataFrame | None
) -> pl.DataFrame:
    """counted_units of some accepted tallies of one group, their long votes placed in its
    lines' columns (a vote on a line the group does not list is left out: callers check)."""
    cast = votes.filter(pl.col("votes").is_not_null()).join(
        tallies.select("tally_id"), on="tally_id", how="semi"
    )
    return _counted(tallies, cast, group, sizes)


def _counted(
    tallies: pl.DataFrame, cast: pl.DataFrame, group: Group, sizes: pl.DataFrame | None
) -> pl.DataFrame:
    """group_counted of the cast votes of these tallies alone (CastVotes.of's: group_stats
    neither filters nor joins them again)."""
    lines = cast.filter(pl.col("candidate_id").is_in(group.ids))
    return estimator.counted_units(tallies, _wide(lines, group), group.view, sizes)


class GroupStats:
    """group_stats' rows split by group (contest, district) once: a filter of the frame costs
    ~10 ms whatever its size, seconds for the few hundred groups of a small general election."""

    def __init__(self, stats: pl.DataFrame) -> None:
        self._none = stats.clear()
        self._split = stats.partition_by(GROUP, as_dict=True, maintain_order=True)

    def of(self, group: Group) -> pl.DataFrame:
        """The group's rows, in the frame's order (none: an empty frame of its columns)."""
        return self._split.get(group.key, self._none)


def stats_of(stats: GroupStats, group: Group) -> pl.DataFrame:
    """One group's statistics out of group_stats' (STATS_KEYS and its own columns)."""
    k = len(group.ids) + 1
    columns = ["n", "n_pos", "sx", "sxx", *[f"y{i}" for i in range(k)]]
    columns += [f"xy{i}" for i in range(k)]
    columns += [f"yy{i}_{j}" for i in range(k) for j in range(i, k)]
    return stats.of(group).select(*STATS_KEYS, *[pl.col(c).cast(pl.Int64) for c in columns])


def project_groups(
    stats: pl.DataFrame,
    lines: pl.DataFrame,
    populations: Populations,
    capacity: Callable[[tuple], dict],
    tallies_of: Callable[[tuple, str], tuple[pl.DataFrame, pl.DataFrame]],
) -> pl.DataFrame:
    """The projection mart from each group's statistics and lines. capacity(key): per source
    the largest ballot capacity of a counted tally (asked only where no registry weighs);
    tallies_of(key, source): the group's accepted tallies of a source and their long votes
    (asked only for the rare fallback that needs single tallies, estimator._national_rate)."""
    rows = []
    split = GroupStats(stats)
    for key, group in groups_of(lines, populations.election).items():
        own = stats_of(split, group)
        if own.is_empty():
            continue
        registry, units, sizes = populations.of(group)
        strata = registry_strata(sizes)
        frame = Frame(
            strata,
            *estimator.expected_tallies(registry, units, group.view),
            capacity(key) if strata is None else {},
        )

        def unit_rates(source: str, group=group, sizes=sizes):
            tallies, votes = tallies_of(group.key, source)
            counted = group_counted(tallies.sort("tally_id"), votes, group, sizes)
            own = counted.filter(pl.col(STATE).is_not_null())
            rates = own.select(pl.col(r"^y\d+$")).to_numpy().astype(float)
            return rates, own[SIZE].to_numpy().astype(float)

        back = {v: k for k, v in group.slots.items()}
        mart = project_from_stats(own, group.view, frame, unit_rates).with_columns(
            pl.col("candidate_id").replace_strict(back)
        )
        if group.level is not None:
            mart = mart.with_columns(
                pl.format("{}; within {} {}", "method", pl.lit(group.level), pl.lit(group.district))
            )
        rows.append(with_contest_id(mart, group.contest, group.level, group.district))
    if not rows:
        return pl.DataFrame(schema=CONTEST_SCHEMA)
    return pl.concat(rows)


def _sort_key(key: tuple) -> tuple:
    contest, district = key
    return (contest, district is not None, district or "")


def _contest_view(election: Election, names: list[str], level: str | None) -> Election:
    """The election as the estimator sees one contest (in one district): a candidate per line
    (`p001`, … ; their ids are put back after), the configured national number of tallies only
    for a contest of the whole area."""
    return replace(
        election,
        candidates=tuple(Candidate(slot(i + 1), n) for i, n in enumerate(names)),
        contests=(),
        discovers_contests=False,
        expected_tallies=election.expected_tallies if level is None else None,
    )


def _wide(votes: pl.DataFrame, group: Group) -> pl.DataFrame:
    """Long votes on the group's lines → tally_id and a column per line, its slot (null where
    the tally lacks the line). Pivoted on the candidate ids and the columns renamed: putting
    each vote on its slot first cost as much as the pivot (unless a line is named as the
    index column)."""
    ids, lines = group.ids, group.view.candidate_ids
    if "tally_id" in ids:
        votes, ids = votes.with_columns(pl.col("candidate_id").replace_strict(group.slots)), lines
    wide = votes.pivot(on="candidate_id", index="tally_id", values="votes", on_columns=ids)
    return wide.rename(dict(zip(ids, lines, strict=True))).select(
        "tally_id", *[pl.col(c).cast(pl.Int64) for c in lines]
    )


def _population(
    registry: pl.DataFrame | None,
    registry_in: Callable[[str, str], pl.DataFrame],
    units: pl.DataFrame | None,
    election: Election,
    first_code: str | None,
    level: str | None,
    district: str | None,
) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """The registry rows and expected tallies of the contest's population: everything for a
    contest of the whole area; a district's own units; nothing known (no expected tallies) for
    a district of a level the registry does not code. registry_in(code, district): the registry
    rows with that code."""
    unknown = pl.DataFrame(schema=UNITS_SCHEMA)
    if level is None:
        return registry, units if units is not None else unknown
    if district is None:  # a tally of a district contest without its district's code
        return None, unknown
    code = election.code_column(level)
    if registry is not None and code in registry.columns:
        own = registry_in(code, district)
        return (own, unknown) if own.height else (None, unknown)
    if level not in election.levels or units is None:
        return None, unknown
    expected = units.filter(level=level, unit_code=district)["expected"].drop_nulls()
    if expected.is_empty():
        return None, unknown
    first = election.levels[0]
    state = district if level == first else first_code
    return None, pl.DataFrame(
        [(first, state, int(expected[0])), (NATIONAL, NATIONAL, int(expected[0]))],
        schema=UNITS_SCHEMA,
        orient="row",
    )
