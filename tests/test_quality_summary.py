"""quality_summary climbs only the tallies received over every tally and sums the few with
issues apart, joined to each level's rows on the whole group: it must give exactly the rows of
the wide climb of every tally's measures (the reference below), however awkward the codes."""

import polars as pl

from transforms.model import Candidate, Election, Source
from transforms.quality_marts import COUNTS, quality_summary
from transforms.rollup import climb
from transforms.staging import CONTEST

ELECTION = Election(
    id="mini",
    name="Mini Republic",
    levels=("state", "centre", "table"),
    candidates=(Candidate("a", "Ana"),),
    sources=(Source("feed", "official"), Source("other", "observer")),
)
RULE_IDS = ["E1", "E2", "W1"]
UNITS = pl.DataFrame(
    {
        "level": ["state", "state", "centre", "centre", "national"],
        "unit_code": ["N", "S", "N1", "S1", "national"],
        "unit_name": ["North", "South", "School 1", "School 3", "Mini Republic"],
        "parent_code": ["national", "national", "N", "S", None],
        "expected": [3, 1, 2, 1, 4],
    }
)


def tallies() -> pl.DataFrame:
    """Two contests (one elected in wards, a level of its own), two sources, a centre with no
    code and a centre code (X1) under two states."""
    rows = [
        # tally_id, source, contest, district level, district, state, centre, table
        (1, "feed", "president", None, None, "N", "N1", "N1.1"),
        (2, "feed", "president", None, None, "N", "N1", "N1.2"),
        (3, "feed", "president", None, None, "S", "S1", "S1.1"),
        (4, "feed", "president", None, None, "S", None, "S9.1"),
        (5, "feed", "president", None, None, "N", "X1", "X1.1"),
        (6, "feed", "president", None, None, "S", "X1", "X1.2"),
        (7, "other", "president", None, None, "N", "N1", "N1.1"),
        (8, "feed", "council", "ward", "W1", "N", "N1", "N1.1"),
        (9, "feed", "council", "ward", "W1", "N", "N1", "N1.2"),
        (10, "feed", "council", "ward", "W2", "S", None, "S9.1"),
        (11, "feed", "council", "state", "N", "N", "X1", "X1.1"),
    ]
    columns = ["tally_id", "source_id", CONTEST, "contest_district_level", "contest_district"]
    columns += ["state_code", "centre_code", "table_code"]
    return pl.DataFrame(rows, schema=columns, orient="row")


ISSUES = pl.DataFrame(
    {
        "tally_id": [2, 2, 4, 6, 7, 9, 10, 10, 11, 99],  # 99: a tally not among those counted
        "rule_id": ["E1", "W1", "E2", "W1", "E1", "E2", "E1", "E2", "W1", "E1"],
        "severity": ["error", "warn", "error", "warn", "error", "error", "error", "error"]
        + ["warn", "error"],
    }
)


def wide_reference(frame: pl.DataFrame, issues: pl.DataFrame) -> pl.DataFrame:
    """Every tally's measures (0 or 1), climbed together: quality_summary's former way."""
    per_tally = issues.group_by("tally_id").agg(
        (pl.col("severity") == "error").any().alias("quarantined"),
        (pl.col("severity") == "warn").any().alias("flagged"),
        *[(pl.col("rule_id") == r).any().alias(r.lower()) for r in RULE_IDS],
    )
    flags = ["quarantined", "flagged", *[r.lower() for r in RULE_IDS]]
    keys = [c for c in frame.columns if c != "tally_id"]
    base = (
        frame.join(per_tally, on="tally_id", how="left")
        .with_columns(pl.col(flags).fill_null(False))
        .select(
            *keys,
            pl.lit(1, pl.Int64).alias("received"),
            (~pl.col("quarantined")).cast(pl.Int64).alias("accepted"),
            *[pl.col(c).cast(pl.Int64) for c in flags],
        )
    )
    measures = [*COUNTS, *[r.lower() for r in RULE_IDS]]
    sums = [pl.col(m).sum() for m in measures]
    levels = pl.concat(climb(base, ELECTION, [CONTEST], lambda _f: sums, lowest=False))
    names = UNITS.select("level", "unit_code", "unit_name")
    return (
        levels.join(names, on=["level", "unit_code"], how="left")
        .with_columns(pl.coalesce("unit_name", "unit_code").alias("unit_name"))
        .select("source_id", CONTEST, "level", "unit_code", "unit_name", *measures)
    )


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_the_summary_is_the_wide_climb_of_every_tally():
    summary = quality_summary(tallies(), ISSUES, UNITS, RULE_IDS, ELECTION)
    reference = wide_reference(tallies(), ISSUES)
    assert summary.schema == reference.schema
    assert _sorted(summary).equals(_sorted(reference))
    # the centre code under two states is two rows, each with its own tallies' issues
    x1 = summary.filter(source_id="feed", contest_id="president", level="centre", unit_code="X1")
    assert sorted(x1.select("received", "flagged", "w1").rows()) == [(1, 0, 0), (1, 1, 1)]
    # the centre without a code is a row of its own, its tally quarantined under E2
    centres = summary.filter(level="centre", contest_id="president")
    nameless = centres.filter(pl.col("unit_code").is_null()).row(0, named=True)
    assert (nameless["received"], nameless["accepted"], nameless["e2"]) == (1, 0, 1)
    # a ward (no administrative level) sums its tallies' issues; the other source its own
    w2 = summary.filter(level="ward", unit_code="W2").row(0, named=True)
    assert (w2["quarantined"], w2["e1"], w2["e2"]) == (1, 1, 1)
    other = summary.filter(source_id="other", level="national").row(0, named=True)
    assert (other["received"], other["accepted"], other["e1"]) == (1, 0, 1)


def test_without_issues_every_tally_is_accepted():
    summary = quality_summary(tallies(), ISSUES.clear(), UNITS, RULE_IDS, ELECTION)
    assert _sorted(summary).equals(_sorted(wide_reference(tallies(), ISSUES.clear())))
    national = summary.filter(level="national").select(pl.col(*COUNTS).sum()).row(0)
    assert national == (11, 11, 0, 0)
