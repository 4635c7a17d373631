"""The synthetic general election (transforms.synthetic.general, `tallyhouse generate --contests
K`): its truth is the written feed's sums per contest, district and state; its districts cut
across the states; its vote-for-2 contest counts two votes a ballot; it is one election per seed.
Fast: nothing here runs the pipeline."""

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from landing.synthetic_general import write_synthetic_general
from orchestration.cli import tallyhouse
from transforms.contests import slug, slug_expr
from transforms.synthetic.election import generate
from transforms.synthetic.general import (
    DISTRICT_LEVEL,
    FEED_COLUMNS,
    SPECIAL_LABELS,
    ballot,
    contest_id,
    generate_general,
)

ADMIN = ("state", "municipality", "parish", "centre", "table")


def _read_feed(folder: Path) -> pl.DataFrame:
    """The drop files as a contract would read them: text, then the two numbers."""
    files = sorted(folder.glob("general_*.csv"))
    frame = pl.concat([pl.read_csv(f, infer_schema=False) for f in files])
    return frame.with_columns(pl.col("registered", "votes").cast(pl.Int64))


def _with_contests(feed: pl.DataFrame, truth: dict) -> pl.DataFrame:
    """Each row's contest id, computed the way the core does (slug of the non-empty office and
    district), its district code by the contract's rules, and the table's ballots."""
    feed = feed.with_columns(pl.col(pl.Categorical).cast(pl.String)).with_columns(
        slug_expr(pl.concat_str("office", "district", separator=" ", ignore_nulls=True)).alias(
            "contest"
        )
    )
    level = pl.col("contest").replace_strict(
        {cid: c["district"] or "" for cid, c in truth["contests"].items()}
    )
    code = pl.when(level == DISTRICT_LEVEL).then(pl.col("district").str.extract(r"^LD-([0-9]+)$"))
    for admin in ADMIN:
        code = code.when(level == admin).then(pl.col(f"{admin}_code"))
    vote_for = pl.col("contest").replace_strict(
        {cid: c["vote_for"] for cid, c in truth["contests"].items()}
    )
    feed = feed.with_columns(code.alias("code"), vote_for.alias("vote_for"))
    ballots = pl.col("votes").sum().over("table_code", "contest") // pl.col("vote_for")
    return feed.with_columns(ballots.alias("ballots"))


def _sums(rows: pl.DataFrame) -> dict:
    """tallies, registered, ballots and votes per label of some rows of the feed."""
    tallies = rows.unique(["table_code", "contest"])
    votes = rows.group_by("candidate").agg(pl.col("votes").sum())
    return {
        "tallies": tallies.height,
        "registered": int(tallies["registered"].sum()),
        "ballots": int(tallies["ballots"].sum()),
        "candidates": dict(votes.iter_rows()),
    }


def _without_extras(unit: dict) -> dict:
    return {k: unit[k] for k in ("tallies", "registered", "ballots", "candidates")}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("general")
    general = generate_general(1_500, 9, seed=3, drops=3, reporting=0.9)
    files = write_synthetic_general(general, folder)
    assert [f.name for f in files] == ["general_001.csv", "general_002.csv", "general_003.csv"]
    return folder, json.loads((folder / "truth.json").read_text(encoding="utf-8"))


def test_truth_is_the_written_feed_summed_per_contest_district_and_state(written):
    folder, truth = written
    feed = _with_contests(_read_feed(folder), truth)
    assert feed.columns[: len(FEED_COLUMNS)] == list(FEED_COLUMNS)
    assert truth["rows"] == feed.height
    assert truth["tables"] == feed["table_code"].n_unique()
    assert sorted(truth["contests"]) == sorted(feed["contest"].unique())
    for cid, contest in truth["contests"].items():
        rows = feed.filter(contest=cid)
        national = _sums(rows)
        assert _without_extras(contest["national"]) == national, cid
        # ballot order: the race's candidates, then the three pseudo-candidates
        assert list(contest["national"]["candidates"])[-3:] == list(SPECIAL_LABELS)
        if contest["district"] is None:
            assert contest["districts"] == {}
        else:
            codes = sorted(rows["code"].unique())
            assert sorted(contest["districts"]) == codes, cid
            for code, unit in contest["districts"].items():
                assert _without_extras(unit) == _sums(rows.filter(code=code)), (cid, code)
                ranked = sorted(
                    (-v, c) for c, v in unit["candidates"].items() if c not in SPECIAL_LABELS
                )
                assert unit["winners"] == [c for _, c in ranked[: contest["seats"]]]
        for state, unit in contest["states"].items():
            assert unit == _sums(rows.filter(state_code=state)), (cid, state)


def test_contest_ids_are_the_slugs_the_core_computes(written):
    folder, truth = written
    feed = _read_feed(folder)
    labels = feed.select("office", "district").unique()
    for office, district in labels.iter_rows():
        assert contest_id(office, district) in truth["contests"]
    assert slug("SENATOR (VOTE FOR 2)") == "senator-vote-for-2"
    assert slug("  ANC - 4A05 Single Member District 05-ANC 4A ") == (
        "anc-4a05-single-member-district-05-anc-4a"
    )
    assert slug("Dé_puté(e)s — Circonscription Nº 7") == "dé-puté-e-s-circonscription-nº-7"
    assert slug("x" * 150) == "x" * 100
    tricky = ["AT - LARGE MEMBER", "Ñandú 2º", "a__b", "--x--", "İstanbul ½", "東京 都", "", "…"]
    polars = pl.select(slug_expr(pl.Series(tricky))).to_series().to_list()
    assert polars == [slug(t) for t in tricky]


def test_legislative_districts_cut_across_states_and_municipalities(written):
    folder, truth = written
    feed = _with_contests(_read_feed(folder), truth)
    assembly = feed.filter(pl.col("district").is_not_null())
    spans = assembly.group_by("code").agg(
        pl.col("state_code").n_unique().alias("states"),
        pl.col("municipality_code").n_unique().alias("municipalities"),
    )
    assert (spans["states"] >= 2).any(), "no district spans two states"
    # and a state holds parts of several districts: neither nests in the other
    per_state = assembly.group_by("state_code").agg(pl.col("code").n_unique())
    assert (per_state["code"] >= 2).any()
    legislative = [c for c in truth["contests"].values() if c["district"] == DISTRICT_LEVEL]
    assert len(legislative) == 9 - 4
    assert any(len(c["states"]) >= 2 for c in legislative)
    for c in legislative:
        (code,) = c["districts"]
        assert c["district_label"] == f"LD-{code}"


def test_every_contest_counts_vote_for_times_the_ballots_of_its_table(written):
    folder, truth = written
    feed = _with_contests(_read_feed(folder), truth)
    per_tally = feed.group_by("table_code", "contest").agg(
        pl.col("votes").sum().alias("sum"),
        pl.col("vote_for").first(),
        pl.col("registered").first(),
        pl.col("votes").filter(pl.col("candidate") == "OVER VOTES").first().alias("over"),
        pl.col("votes")
        .filter(~pl.col("candidate").is_in(list(SPECIAL_LABELS)))
        .max()
        .alias("most"),
    )
    # the ballots of a table: its presidential tally (vote for 1), the same on every contest
    ballots = per_tally.filter(contest="president").select("table_code", pl.col("sum").alias("b"))
    per_tally = per_tally.join(ballots, on="table_code", how="left", validate="m:1")
    assert per_tally["b"].null_count() == 0
    assert (per_tally["sum"] == per_tally["vote_for"] * per_tally["b"]).all()
    assert (per_tally["b"] <= per_tally["registered"]).all()
    senate = per_tally.filter(contest="senator-vote-for-2")
    assert senate.height == per_tally.filter(contest="president").height
    assert (senate["sum"] == 2 * senate["b"]).all()
    # over votes count both votes of a spoilt ballot; nobody gets two votes from one ballot
    assert (senate["over"] % 2 == 0).all()
    assert (senate["most"] <= senate["b"] - senate["over"] // 2).all()
    contest = truth["contests"]["senator-vote-for-2"]
    assert (contest["seats"], contest["vote_for"], contest["district"]) == (2, 2, "state")
    some_state = next(iter(contest["districts"].values()))
    assert len(some_state["winners"]) == 2


def test_every_race_has_its_own_candidates_write_ins_over_and_under_votes(written):
    _, truth = written
    seen: dict[str, str] = {}
    for cid, contest in truth["contests"].items():
        units = contest["districts"].values() if contest["district"] else [contest["national"]]
        for unit in units:
            names = [c for c in unit["candidates"] if c not in SPECIAL_LABELS]
            assert 2 <= len(names) <= 6, cid
            for name in names:
                assert seen.setdefault(name, cid) == cid, f"{name} runs in two contests"
        for label in SPECIAL_LABELS:
            assert contest["national"]["candidates"][label] > 0, (cid, label)
    assert any('"' in name for name in seen), "no candidate label needs CSV quoting"


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 7, 12])
def test_k_contests_are_k_distinct_contest_ids(k):
    general = generate_general(300, k, seed=k, drops=2)
    feed = pl.concat(general.drops)
    ids = feed.select(
        slug_expr(pl.concat_str("office", "district", separator=" ", ignore_nulls=True))
    ).to_series()
    assert ids.n_unique() == k == general.truth["contest_count"] == len(general.truth["contests"])
    assert sorted(ids.unique()) == sorted(general.truth["contests"])
    assert list(general.truth["contests"])[0] == "president"
    offices, districts = ballot(k)
    assert len(offices) + max(districts - 1, 0) == k
    # every table votes once in every office on the ballot
    per_table = feed.group_by("table_code").agg(pl.col("office").n_unique())
    assert (per_table["office"] == len(offices)).all()


def test_the_same_seed_writes_the_same_election():
    a = generate_general(400, 7, seed=1, drops=3)
    b = generate_general(400, 7, seed=1, drops=3)
    c = generate_general(400, 7, seed=2, drops=3)
    assert a.registry.equals(b.registry)
    assert all(x.equals(y) for x, y in zip(a.drops, b.drops, strict=True))
    assert a.truth == b.truth
    assert a.truth != c.truth


def test_geography_and_registry_are_the_samples():
    general = generate_general(800, 6, seed=5, drops=1)
    sample = generate(800, seed=5, drops=1)
    assert general.registry.select(sample.registry.columns).equals(sample.registry)
    assert general.registry["district_code"].null_count() == 0
    three = generate_general(800, 3, seed=5, drops=1)
    assert three.registry.equals(sample.registry)  # no districts, no district columns


def test_drops_keep_a_table_whole_and_arrive_in_order():
    general = generate_general(1_000, 5, seed=8, drops=4, reporting=0.75)
    tables = [set(d["table_code"].cast(pl.String)) for d in general.drops]
    assert all(tables) and sum(len(t) for t in tables) == general.truth["tables"]
    assert len(set().union(*tables)) == general.truth["tables"] < 1_000
    feed = pl.concat(general.drops)
    runs = feed["table_code"].rle_id()
    assert runs.max() + 1 == feed["table_code"].n_unique(), "a table's rows are not together"


def test_refusals():
    with pytest.raises(ValueError, match="contests must be at least 1"):
        generate_general(100, 0, seed=1, drops=1)
    with pytest.raises(ValueError, match="legislative districts"):
        generate_general(20, 30, seed=1, drops=1)
    with pytest.raises(ValueError, match="reporting"):
        generate_general(100, 3, seed=1, drops=1, reporting=0)


def test_generate_contests_writes_a_general_election(tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "out"
    base = ["generate", "--data-dir", str(tmp_path / "data"), "--tables", "300", "--drops", "2"]
    result = runner.invoke(tallyhouse, [*base, "--contests", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "general_001.csv",
        "general_002.csv",
        "registry.csv",
        "truth.json",
    ]
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["contest_count"] == 6 and truth["tables"] == 300
    assert _read_feed(out).columns == list(FEED_COLUMNS)

    refused = runner.invoke(tallyhouse, [*base, "--contests", "4", "--faults", "0.01"])
    assert refused.exit_code == 2 and "--faults" in refused.output


def test_generate_with_one_contest_is_the_sample_byte_for_byte(tmp_path: Path):
    runner = CliRunner()
    base = ["generate", "--data-dir", str(tmp_path / "data"), "--tables", "300", "--drops", "2"]
    plain, one = tmp_path / "plain", tmp_path / "one"
    assert runner.invoke(tallyhouse, [*base, "--out", str(plain)]).exit_code == 0
    assert runner.invoke(tallyhouse, [*base, "--contests", "1", "--out", str(one)]).exit_code == 0
    names = sorted(p.name for p in plain.iterdir())
    assert names == sorted(p.name for p in one.iterdir())
    assert "tallies_001.csv" in names
    for name in names:
        assert (plain / name).read_bytes() == (one / name).read_bytes(), name
