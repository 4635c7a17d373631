import polars as pl
import pytest

from transforms.model import Candidate, Election, Source
from transforms.rollup import (
    TURNOUT_MEASURES,
    _sum_all_known,
    build_marts,
    climb,
    one_row_per_unit,
    results_long,
    turnout_base,
    units_from_registry,
)
from transforms.staging import CONTEST, votes_wide

ELECTION = Election(
    id="mini",
    name="Mini Republic",
    levels=("state", "centre", "table"),
    candidates=(Candidate("a", "Ana"), Candidate("b", "Beto"), Candidate("c", "Cruz")),
    sources=(Source("feed", "official"),),
)
REGISTRY = pl.DataFrame(
    {
        "state_code": ["N", "N", "N", "S"],
        "state_name": ["North", "North", "North", "South"],
        "centre_code": ["N1", "N1", "N2", "S1"],
        "centre_name": ["School 1", "School 1", "School 2", "School 3"],
        "table_code": ["N1.1", "N1.2", "N2.1", "S1.1"],
        "table_name": ["N1.1", "N1.2", "N2.1", "S1.1"],
        "registered": [100, 200, 100, 50],
    }
)


def tallies(registered=(100, 200, 50)) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tally_id": [1, 2, 3],
            "source_id": ["feed"] * 3,
            "tally_code": ["N1.1", "N1.2", "S1.1"],
            "state_code": ["N", "N", "S"],
            "centre_code": ["N1", "N1", "S1"],
            "table_code": ["N1.1", "N1.2", "S1.1"],
            "registered": list(registered),
            "valid_votes": [50, 100, 40],
            "null_votes": [2, 3, 0],
            "blank_votes": [None, 1, 0],
            "total_votes": [None, 104, 40],
        }
    )


VOTES_LONG = pl.DataFrame(
    {
        "source_id": ["feed"] * 9,
        "tally_id": [1] * 3 + [2] * 3 + [3] * 3,
        "candidate_id": ["a", "b", "c"] * 3,
        "votes": [30, 20, 0, 40, 50, 10, 10, 10, 20],
    }
)
VOTES = votes_wide(VOTES_LONG, ELECTION)


@pytest.fixture
def marts():
    return build_marts(tallies(), VOTES, units_from_registry(REGISTRY, ELECTION), ELECTION)


def result(marts, level, unit, candidate):
    long = results_long(marts.results_wide, ELECTION)
    return long.filter(level=level, unit_code=unit, candidate_id=candidate).row(0, named=True)


def test_results_at_every_level(marts):
    assert set(marts.results_wide["level"]) == {"national", "state", "centre", "table"}
    assert result(marts, "national", "national", "a")["votes"] == 80
    assert result(marts, "national", "national", "b")["votes"] == 80
    north_b = result(marts, "state", "N", "b")
    assert (north_b["votes"], north_b["unit_name"], north_b["parent_code"]) == (
        70,
        "North",
        "national",
    )
    assert north_b["share"] == pytest.approx(70 / 150)
    assert result(marts, "centre", "N1", "c")["parent_code"] == "N"
    assert result(marts, "table", "S1.1", "c")["candidate_name"] == "Cruz"


def test_rank_ties_share_the_better_rank(marts):
    assert result(marts, "national", "national", "a")["rank"] == 1
    assert result(marts, "national", "national", "b")["rank"] == 1
    assert result(marts, "national", "national", "c")["rank"] == 3
    assert result(marts, "table", "S1.1", "c")["rank"] == 1
    assert result(marts, "table", "S1.1", "a")["rank"] == 2


def test_turnout_sums_and_fills_missing_totals(marts):
    national = marts.turnout.filter(level="national").row(0, named=True)
    assert national["registered"] == 350
    assert national["valid_votes"] == 190
    assert national["total_votes"] == 52 + 104 + 40
    assert national["turnout"] == pytest.approx(196 / 350)
    # one tally left blank_votes empty: the sum is unknown rather than understated
    assert national["blank_votes"] is None


def test_unknown_registered_gives_unknown_turnout():
    built = build_marts(
        tallies(registered=(100, None, 50)),
        VOTES,
        units_from_registry(REGISTRY, ELECTION),
        ELECTION,
    )
    north = built.turnout.filter(level="state", unit_code="N").row(0, named=True)
    assert north["registered"] is None and north["turnout"] is None
    south = built.turnout.filter(level="state", unit_code="S").row(0, named=True)
    assert south["turnout"] == pytest.approx(40 / 50)


def test_coverage_counts_expected_and_received(marts):
    cov = {(r["level"], r["unit_code"]): r for r in marts.coverage.iter_rows(named=True)}
    assert cov[("national", "national")]["expected"] == 4
    assert cov[("national", "national")]["counted"] == 3
    assert cov[("national", "national")]["percent_reporting"] == pytest.approx(75.0)
    assert cov[("centre", "N2")]["received"] == 0
    assert cov[("centre", "N2")]["percent_reporting"] == 0.0
    assert cov[("table", "N2.1")]["unit_name"] == "N2.1"


def test_coverage_counts_received_apart_from_counted():
    accepted = tallies().filter(pl.col("tally_code") != "N1.2")
    built = build_marts(
        accepted, VOTES, units_from_registry(REGISTRY, ELECTION), ELECTION, received=tallies()
    )
    north = built.coverage.filter(level="state", unit_code="N").row(0, named=True)
    assert (north["expected"], north["received"], north["counted"]) == (3, 2, 1)
    assert north["percent_reporting"] == pytest.approx(100 / 3)
    assert result(built, "state", "N", "b")["votes"] == 20


def test_units_from_registry_has_every_level():
    units = units_from_registry(REGISTRY, ELECTION)
    assert units.filter(level="state").height == 2
    assert units.filter(level="centre", unit_code="N1").row(0, named=True)["expected"] == 2
    assert units.filter(level="national").row(0, named=True)["unit_name"] == "Mini Republic"


def test_a_tally_without_votes_counts_in_turnout_and_coverage_but_not_in_the_results():
    """The marts of one contest climb turnout, votes and coverage together: a unit whose only
    tally has no votes keeps its turnout and coverage rows and has no results; its ballots count
    in its parents' turnout, never in their votes."""
    built = build_marts(
        tallies(),
        VOTES.filter(pl.col("tally_id") != 3),
        units_from_registry(REGISTRY, ELECTION),
        ELECTION,
    )
    assert built.results_wide.filter(unit_code="S").is_empty()
    assert built.results_wide.filter(level="national")["a__votes"].to_list() == [70]
    south = built.turnout.filter(level="state", unit_code="S").row(0, named=True)
    assert (south["valid_votes"], south["unit_name"]) == (40, "South")
    assert built.turnout.filter(level="national")["valid_votes"].to_list() == [190]
    coverage = built.coverage.filter(level="state", unit_code="S").row(0, named=True)
    assert (coverage["expected"], coverage["received"], coverage["counted"]) == (1, 1, 1)


def _turnout_climbs(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """turnout's climb of `frame`'s tallies with its lowest level taken as it is where it may
    be, and grouped as every level is: each sorted."""
    base = turnout_base(frame, ELECTION)
    aggs = lambda _f: [_sum_all_known(c) for c in TURNOUT_MEASURES]  # noqa: E731
    climbs = [pl.concat(climb(base, ELECTION, [CONTEST], aggs, as_is=a)) for a in (True, False)]
    return tuple(c.sort(c.columns, nulls_last=True) for c in climbs)


def test_a_lowest_level_taken_as_it_is_equals_the_grouped_one():
    """Each table has one tally: its row is its unit's, unknown counts (null) left unknown."""
    base = tallies(registered=(100, None, 50))
    assert one_row_per_unit(turnout_base(base, ELECTION), [CONTEST], "table_code")
    as_is, grouped = _turnout_climbs(base)
    assert as_is.schema == grouped.schema
    assert as_is.equals(grouped)
    table = as_is.filter(level="table", unit_code="N1.1").row(0, named=True)
    assert (table["blank_votes"], table["total_votes"]) == (None, 52)
    assert as_is.filter(level="table").height == 3


def test_two_tallies_of_one_table_are_grouped_however_asked():
    """A second source's tally of a table is a unit of its own; a second tally of the same
    source (or of no source told apart) is summed with the first."""
    second = tallies().head(1).with_columns(pl.lit(9, pl.Int64).alias("tally_id"))
    for other, units in (("feed", 3), ("other", 4)):
        frame = pl.concat([tallies(), second.with_columns(pl.lit(other).alias("source_id"))])
        assert one_row_per_unit(turnout_base(frame, ELECTION), [CONTEST], "table_code") == (
            other == "other"
        )
        as_is, grouped = _turnout_climbs(frame)
        assert as_is.equals(grouped)
        assert as_is.filter(level="table").height == units
