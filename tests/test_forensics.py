"""Forensic warnings F1-F3: pure functions on generated and constructed elections, one pipeline."""

from dataclasses import replace

import dagster as dg
import polars as pl
import pytest

from landing.files import write_synthetic
from tests.conftest import published, run
from transforms.forensics.centres import MIN_TABLES
from transforms.forensics.contests import CONTEST_SCHEMA
from transforms.forensics.digits import chi2_sf
from transforms.forensics.mart import SCHEMA, forensics
from transforms.model import Candidate, Election
from transforms.synthetic.election import generate
from warehouse.db import connect

CODES = ["state_code", "municipality_code", "parish_code", "centre_code", "table_code"]


def as_accepted(feed: pl.DataFrame, election: Election) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A feed in canonical layout → (accepted tallies, wide votes), as the asset reads them."""
    feed = feed.with_row_index("tally_id").with_columns(
        pl.col("tally_id").cast(pl.Int64),
        pl.lit("s").alias("source_id"),
        pl.col(election.code_columns[-1]).alias("tally_code"),
    )
    return feed.drop(election.candidate_ids), feed.select("tally_id", *election.candidate_ids)


def synthetic(tables: int, seed: int) -> tuple[pl.DataFrame, Election]:
    sample = generate(tables, seed=seed, drops=1)
    return sample.drops[0], sample.election


def run_forensics(feed: pl.DataFrame, election: Election) -> pl.DataFrame:
    accepted, votes = as_accepted(feed, election)
    return forensics(accepted, votes, None, election)


def round_to_fives(feed: pl.DataFrame, state: str, candidates: list[str]) -> pl.DataFrame:
    """Manufacture counts in one state: the candidates' votes rounded down to a multiple of 5,
    valid and total votes lowered to match (so the tally stays internally consistent)."""
    in_state = pl.col("state_code") == state
    cut = pl.sum_horizontal([pl.col(c) % 5 for c in candidates])
    return feed.with_columns(
        *[
            pl.when(in_state).then(pl.col(c) - pl.col(c) % 5).otherwise(c).alias(c)
            for c in candidates
        ],
        *[
            pl.when(in_state).then(pl.col(c) - cut).otherwise(c).alias(c)
            for c in ("valid_votes", "total_votes")
        ],
    )


@pytest.mark.parametrize(
    ("x", "df", "p"), [(16.919, 9, 0.05), (21.666, 9, 0.01), (27.877, 9, 0.001), (3.841, 1, 0.05)]
)
def test_chi_square_survival_matches_the_tables(x, df, p):
    assert chi2_sf(x, df) == pytest.approx(p, rel=1e-3)
    assert chi2_sf(0.0) == 1.0


def test_clean_synthetic_election_raises_no_forensic_flag():
    feed, election = synthetic(6_000, seed=11)
    frame = run_forensics(feed, election)
    assert frame.columns == list(SCHEMA)
    f1 = frame.filter(check_id="F1")
    tested = f1.filter(pl.col("p_value").is_not_null())
    assert tested.height >= 24 * 2  # the two main candidates and the pool, in most states
    assert tested["p_value"].min() > 1e-4
    assert not frame["flagged"].any(), frame.filter("flagged")["detail"].to_list()
    # series left untested (a minor candidate's small counts) are listed, saying why
    untested = f1.filter(pl.col("p_value").is_null())
    gated_out = untested["detail"].str.contains(r"^not tested: \d+ of \d+ counts >= 50, fewer than")
    assert gated_out.sum() >= 24 * 5
    assert untested["detail"].str.starts_with("not tested").all()


def test_last_digits_rounded_to_five_are_flagged_in_that_state_only():
    feed, election = synthetic(6_000, seed=11)
    state = feed["state_code"].value_counts(sort=True)["state_code"][0]
    frame = run_forensics(round_to_fives(feed, state, ["c01", "c02"]), election)
    flagged = frame.filter(check_id="F1", flagged=True)
    assert set(flagged["unit_code"]) == {state}
    assert set(flagged["candidate_id"].to_list()) == {"c01", "c02", None}  # None: the pool
    pooled = flagged.filter(pl.col("candidate_id").is_null()).row(0, named=True)
    assert pooled["p_value"] < 1e-10 and "FLAGGED: digit" in pooled["detail"]


def tables(rows: list[tuple]) -> tuple[pl.DataFrame, Election]:
    """Constructed tallies: (state, centre, registered, total, votes for A, votes for B)."""
    election = Election(
        "t",
        "constructed",
        ("state", "municipality", "parish", "centre", "table"),
        (Candidate("A", "Ana"), Candidate("B", "Beto")),
    )
    feed = pl.DataFrame(
        [
            {
                "state_code": s,
                "municipality_code": f"{s}m",
                "parish_code": f"{s}p",
                "centre_code": c,
                "table_code": f"{c}.{i:02d}",
                "registered": reg,
                "valid_votes": a + b,
                "null_votes": total - a - b,
                "blank_votes": 0,
                "total_votes": total,
                "A": a,
                "B": b,
            }
            for i, (s, c, reg, total, a, b) in enumerate(rows)
        ]
    )
    return feed, election


def test_a_table_far_outside_its_centre_is_flagged_and_its_siblings_are_not():
    ordinary = [(300 + d, 180 + d, 120 - d) for d in (0, 4, -3, 6, -5)]  # ~60 % turnout, A ~60 %
    rows = [("01", "C1", 500, t, a, b) for t, a, b in ordinary]
    rows.append(("01", "C1", 500, 495, 480, 15))  # stuffed: 99 % turnout, A 97 %
    rows += [("01", "C2", 500, t, a, b) for t, a, b in ordinary]
    rows += [("02", "C3", 500, t, a, b) for t, a, b in ordinary[:2]]
    rows.append(("02", "C3", 500, 495, 480, 15))  # too few tables in C3 to judge
    feed, election = tables(rows)
    f2 = run_forensics(feed, election).filter(check_id="F2")
    hits = f2.filter(level="table")
    assert sorted(hits["candidate_id"].to_list(), key=str) == ["A", "B", None]  # turnout: None
    assert set(hits["unit_code"]) == {"C1.05"} and hits["flagged"].all()
    turnout = hits.filter(pl.col("candidate_id").is_null()).row(0, named=True)
    assert turnout["n"] == 5 and turnout["statistic"] > 6
    assert "turnout 99.0 % against a median of 60.0 %" in turnout["detail"]
    national = f2.filter(level="national").row(0, named=True)
    assert (national["n"], national["statistic"], national["flagged"]) == (11, 1.0, True)
    states = dict(f2.filter(level="state").select("unit_code", "flagged").iter_rows())
    assert states == {"01": True}  # C3 has fewer than MIN_TABLES tables: not examined
    assert len([r for r in rows if r[1] == "C3"]) < MIN_TABLES


def test_fingerprint_share_is_exact_on_a_constructed_election():
    plain = ("01", "C1", 100, 60, 40, 20)
    rows = [plain] * 17
    rows += [("01", "C2", 100, 95, 95, 0), ("01", "C2", 300, 299, 5, 290)]  # both in the corner
    rows += [("01", "C2", 100, 94, 94, 0)]  # turnout 94 %: out
    rows += [("02", "C3", 100, 98, 90, 8)] * 20  # share 91.8 %: out
    feed, election = tables(rows)
    f3 = run_forensics(feed, election).filter(check_id="F3")
    got = {r["unit_code"]: r for r in f3.iter_rows(named=True)}
    assert got["01"]["n"] == 20 and got["01"]["statistic"] == pytest.approx(2 / 20)
    assert got["01"]["flagged"]
    registered_share = 100 * 400 / (17 * 100 + 100 + 300 + 100)
    assert f"holding {round(registered_share, 2)} % of the registered voters" in got["01"]["detail"]
    assert got["02"]["statistic"] == 0.0 and not got["02"]["flagged"]
    assert got["national"]["n"] == 40 and got["national"]["statistic"] == pytest.approx(2 / 40)
    assert got["national"]["flagged"] and got["national"]["p_value"] is None


@pytest.mark.e2e
def test_pipeline_publishes_forensics_and_warns_without_failing(settings):
    sample = generate(2_000, seed=7, drops=2)
    feed = pl.concat(sample.drops)
    state = feed["state_code"].value_counts(sort=True)["state_code"][0]
    drops = [round_to_fives(d, state, ["c01", "c02"]) for d in sample.drops]
    write_synthetic(replace(sample, drops=drops), settings.landing)
    result = run(settings)
    assert result.success
    columns = published(settings, "describe forensics").select("column_name", "column_type")
    assert columns.rows() == [
        (c, {pl.String: "VARCHAR", pl.Int64: "BIGINT", pl.Float64: "DOUBLE"}.get(t, "BOOLEAN"))
        for c, t in CONTEST_SCHEMA.items()
    ]
    assert published(settings, "select distinct contest_id from forensics").item() == "sample"
    flagged = published(settings, "select distinct unit_code from forensics where flagged")
    assert flagged["unit_code"].to_list() == [state]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    forensic = {n: e for n, e in checks.items() if n.startswith("forensic_")}
    assert set(forensic) == {
        "forensic_f1_last_digits_uniform",
        "forensic_f2_tables_within_their_centre",
        "forensic_f3_fingerprint_corner",
    }
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in forensic.values())
    f1 = forensic["forensic_f1_last_digits_uniform"]
    assert not f1.passed and f1.metadata["flagged"].value >= 1
    assert all(k.startswith(f"sample:state:{state}") for k in f1.metadata["sample_keys"].value)
    assert forensic["forensic_f2_tables_within_their_centre"].passed
    with connect(settings.warehouse, read_only=True) as con:
        alerts = con.execute(
            "select severity from quality.alerts where rule = 'forensic_f1_last_digits_uniform'"
        ).fetchall()
    assert alerts == [("warn",)]
