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

from dataclasses import replace

import polars as pl

from transforms.contests import slot
from transforms.model import NATIONAL, Candidate, Election
from transforms.projection.estimator import SCHEMA, project
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
UNITS_SCHEMA = {"level": pl.String, "unit_code": pl.String, "expected": pl.Int64}


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
    if DISTRICT_LEVEL not in tallies.columns:
        tallies = tallies.with_columns(pl.lit(None, pl.String).alias(DISTRICT_LEVEL))
    if DISTRICT not in tallies.columns:
        tallies = tallies.with_columns(pl.lit(None, pl.String).alias(DISTRICT))
    keys = [CONTEST, DISTRICT]
    lines_cast = votes.filter(pl.col("votes").is_not_null())  # absent: another district's line
    placed = lines_cast.select("tally_id", "candidate_id", "votes").join(
        tallies.select("tally_id", *keys), on="tally_id", how="inner"
    )
    votes_of = placed.partition_by(keys, as_dict=True)
    order = lines.select(CONTEST, "candidate_id", "candidate_name")
    rows = []
    for (contest, district), own in sorted(
        tallies.partition_by(keys, as_dict=True).items(), key=lambda kv: _sort_key(kv[0])
    ):
        level = own[DISTRICT_LEVEL].drop_nulls().first()
        cast = votes_of.get((contest, district), placed.clear())
        candidates = order.filter(pl.col(CONTEST) == contest).join(
            cast.select("candidate_id").unique(), on="candidate_id", how="semi"
        )
        if candidates.is_empty():
            continue
        ids = candidates["candidate_id"].to_list()
        columns = {c: slot(i + 1) for i, c in enumerate(ids)}  # column-safe names
        view = _contest_view(election, candidates["candidate_name"].to_list(), level)
        wide = _wide(cast.with_columns(pl.col("candidate_id").replace_strict(columns)), view)
        registry_of, units_of = _population(registry, units, election, own, level, district)
        mart = project(own, wide, view, registry_of, units_of).with_columns(
            pl.col("candidate_id").replace_strict({v: k for k, v in columns.items()})
        )
        if level is not None:
            mart = mart.with_columns(
                pl.format("{}; within {} {}", "method", pl.lit(level), pl.lit(district))
            )
        rows.append(with_contest_id(mart, contest, level, district))
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


def _wide(votes: pl.DataFrame, view: Election) -> pl.DataFrame:
    """Long votes → tally_id and a column per line (null where the tally lacks the line)."""
    lines = view.candidate_ids
    wide = votes.pivot(on="candidate_id", index="tally_id", values="votes", on_columns=lines)
    return wide.select("tally_id", *[pl.col(c).cast(pl.Int64) for c in lines])


def _population(
    registry: pl.DataFrame | None,
    units: pl.DataFrame | None,
    election: Election,
    tallies: pl.DataFrame,
    level: str | None,
    district: str | None,
) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """The registry rows and expected tallies of the contest's population: everything for a
    contest of the whole area; a district's own units; nothing known (no expected tallies) for
    a district of a level the registry does not code."""
    unknown = pl.DataFrame(schema=UNITS_SCHEMA)
    if level is None:
        return registry, units if units is not None else unknown
    if district is None:  # a tally of a district contest without its district's code
        return None, unknown
    code = election.code_column(level)
    if registry is not None and code in registry.columns:
        own = registry.filter(pl.col(code) == district)
        return (own, unknown) if own.height else (None, unknown)
    if level not in election.levels or units is None:
        return None, unknown
    expected = units.filter(level=level, unit_code=district)["expected"].drop_nulls()
    if expected.is_empty():
        return None, unknown
    first = election.levels[0]
    state = (
        district if level == first else tallies[election.code_column(first)].drop_nulls().first()
    )
    return None, pl.DataFrame(
        [(first, state, int(expected[0])), (NATIONAL, NATIONAL, int(expected[0]))],
        schema=UNITS_SCHEMA,
        orient="row",
    )
