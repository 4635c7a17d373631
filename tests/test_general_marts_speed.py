"""A general election's contests climbed wide (transforms.contest_results.wide_contest_results)
and written with an UNPIVOT (warehouse.publish.append_wide_results) give the very rows of the
long climb that defines them (contest_results), or leave the contest to it."""

import random
from pathlib import Path

import duckdb
import polars as pl
import pytest

from transforms.contest_results import contest_results, wide_contest_results
from transforms.feed import OTHER
from warehouse.configs import load_election
from warehouse.mart_registry import mart
from warehouse.publish import append_wide_results, create_declared

ELECTION = load_election("general", Path(__file__).parents[1] / "elections").election
LEVELS = [*ELECTION.levels, "national"]


def _tallies(seed: int, district: str | None, n: int = 600) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Accepted tallies of one contest (two sources, codes of every level) and
    their long votes: lines missing or unknown, zeros, ties, other votes or none, a district's
    own candidates."""
    rng = random.Random(seed)
    tallies, votes = [], []
    for t in range(n):
        state = f"{rng.randint(1, 3):02d}"
        municipality = f"{state}{rng.randint(1, 3):02d}"
        parish = f"{municipality}{rng.randint(1, 2):02d}"
        centre = f"{parish}{rng.randint(1, 2):03d}"
        table = f"{centre}.{t:04d}"
        tallies.append(
            {
                "tally_id": t,
                "source_id": rng.choice(["a", "b"]),
                "contest_id": "c",
                "contest_district_level": district,
                "contest_district": state if district else None,
                "state_code": state,
                "municipality_code": municipality,
                "parish_code": parish,
                "centre_code": centre,
                "table_code": table,
                "tally_code": table,
                OTHER: rng.choice([None, 0, 3, rng.randint(0, 50)]),
            }
        )
        own = [f"{state}-{i}" for i in range(rng.randint(1, 4))] if district else []
        for candidate in ["x", "y", "z", *own]:
            if rng.random() < 0.1:
                continue  # the line is not on this tally
            count = rng.choice([None, 0, 0, 1, 7, 7, rng.randint(0, 300)])
            votes.append({"tally_id": t, "candidate_id": candidate, "votes": count})
    return pl.DataFrame(tallies), pl.DataFrame(votes, schema_overrides={"votes": pl.Int64})


def _names(tallies: pl.DataFrame) -> pl.DataFrame:
    """Every unit but a few named (the others are named by their code)."""
    frames = [
        tallies.select(pl.lit(level).alias("level"), pl.col(f"{level}_code").alias("unit_code"))
        for level in ELECTION.levels
    ]
    units = pl.concat(frames).unique().drop_nulls().sort("level", "unit_code")
    return units.with_columns(pl.format("Unit {}", "unit_code").alias("unit_name")).gather_every(2)


def _lines(votes: pl.DataFrame) -> pl.DataFrame:
    """Each candidate's name but one (unnamed: null)."""
    ids = sorted(set(votes["candidate_id"].to_list()) - {"z"})
    return pl.DataFrame(
        {"contest_id": "c", "candidate_id": ids, "candidate_name": [f"Name {c}" for c in ids]}
    )


@pytest.mark.parametrize("district", [None, "state"])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_wide_climb_and_its_unpivot_give_the_long_rows(district, seed):
    tallies, votes = _tallies(seed, district)
    names, lines = _names(tallies), _lines(votes)
    expected = contest_results(tallies, votes, names, lines, ELECTION)
    wide = wide_contest_results(tallies, votes, names, lines, ELECTION)
    assert wide is not None
    got = wide.at_levels(LEVELS)
    assert wide.height == expected.height
    assert got.schema == expected.schema
    assert got.sort(got.columns).equals(expected.sort(expected.columns))
    with duckdb.connect() as con:
        create_declared(con, mart("results"), ELECTION)
        append_wide_results(con, wide.rows, wide.lines, wide.line_ids)
        written = con.sql("select * from results").pl()
    from_wide = got.filter(~pl.col("level").is_in(list(wide.above["level"].unique())))
    assert written.sort(written.columns).equals(
        from_wide.select(written.columns).sort(written.columns)
    )


def test_a_unit_whose_lines_all_have_no_votes_keeps_its_rows():
    tallies, votes = _tallies(3, None, n=40)
    votes = votes.with_columns(pl.col("votes").fill_null(0) * 0)
    tallies = tallies.with_columns(pl.lit(None, pl.Int64).alias(OTHER))
    names, lines = _names(tallies), _lines(votes)
    wide = wide_contest_results(tallies, votes, names, lines, ELECTION)
    with duckdb.connect() as con:
        create_declared(con, mart("results"), ELECTION)
        append_wide_results(con, wide.rows, wide.lines, wide.line_ids)
        written = con.execute("select count(*), count(share), min(rank) from results").fetchone()
    assert written == (contest_results(tallies, votes, names, lines, ELECTION).height, 0, 1)


def test_contests_the_wide_climb_does_not_fit_are_left_to_the_long_one():
    tallies, votes = _tallies(4, "state", n=60)
    names, lines = _names(tallies), _lines(votes)
    not_nesting = tallies.with_columns(pl.lit("ward").alias("contest_district_level"))
    elsewhere = tallies.with_columns(
        pl.when(pl.col("tally_id") == 0)
        .then(pl.lit("09"))
        .otherwise("contest_district")
        .alias("contest_district")
    )
    two_parents = tallies.with_columns(
        pl.when(pl.col("tally_id") == 0)
        .then(pl.lit("0909"))
        .otherwise("municipality_code")
        .alias("municipality_code")
    )
    twice = pl.concat([votes, votes.head(1)])
    cases = [(not_nesting, votes), (elsewhere, votes), (two_parents, votes), (tallies, twice)]
    for i, (frame, counts) in enumerate(cases):
        assert wide_contest_results(frame, counts, names, lines, ELECTION) is None, i


@pytest.mark.parametrize("district", [None, "state"])
def test_tables_with_several_tallies_are_grouped_as_the_long_climb_groups_them(district):
    """Where a table has two tallies of one source, the lowest level is grouped, not taken as
    it is (transforms.rollup.one_row_per_unit)."""
    tallies, votes = _tallies(5, district)
    table = pl.format("{}.{}", "centre_code", pl.col("tally_id") % 3)
    tallies = tallies.with_columns(table.alias("table_code"), table.alias("tally_code"))
    names, lines = _names(tallies), _lines(votes)
    expected = contest_results(tallies, votes, names, lines, ELECTION)
    wide = wide_contest_results(tallies, votes, names, lines, ELECTION)
    got = wide.at_levels(LEVELS)
    units = expected.filter(level="table").select("source_id", "unit_code").n_unique()
    assert units < tallies.height
    assert got.schema == expected.schema
    assert got.sort(got.columns).equals(expected.sort(expected.columns))
