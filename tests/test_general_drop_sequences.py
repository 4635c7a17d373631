"""Random sequences of drops of a general election into one data directory, the job run after
each, every published figure checked after every run.

A seeded generator (transforms.synthetic.general, 3 contests: president, vote-for-2 senators and
governors per state) is landed drop by drop, with other deliveries shuffled in between:

- a correction: a later file re-delivering some tables of one contest with votes moved between
  two lines (every rule still holds; amendments, W3);
- a withdrawal of the last correction or bad file (`tallyhouse withdraw`): its tables fall
  back to their previous version;
- a file with bad rows: some tables of one contest lacking a line (E8: quarantined, and being
  the tables' latest version, they stop counting);
- a duplicate: an earlier file's bytes under another name (no new delivery);
- a second source at the polling units (its own results, reconciled with the first);
- a state-level canvass above the polling units (reconciled, never counted).

After every run: `results` at every level equals the sums of the current accepted tallies,
computed here from the landed rows (the latest non-withdrawn delivery of each source × table ×
contest, unless this test broke it); `coverage` counts them; every mart equals a forced full
rebuild of a copy of the data directory (EXCEPT ALL both ways: sorted frames compared equal);
and a district decided in the previous run keeps its leaders unless the step corrected counted
tallies (a correction, a withdrawal, a bad re-delivery: docs/contest-status.md "What the bound
assumes"), in which case `newly_decided` lists it if it is still decided.

The two seeds between them take every kind of step, each after the first drop: 25 (with a
ballots registry) lands a bad file, withdraws it, duplicates a file, lands the second drop over
all that, then a canvass; 42 (without) lands a second source, a correction, the second drop, the
correction's withdrawal (its tables fall back across that drop), then a bad file. Two drops
suffice: what is proven is step by step, and every kind of step lands between the drops or
after them (with three drops, 24 and 37 took the same kinds in 14 job runs each, these in 12).
With three drops, seeds 1–8 both ways and ten more with withdrawals passed as well."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import pytest

from landing.synthetic_general import write_synthetic_general
from orchestration.settings import Settings, prepare_data_dir
from tests.conftest import assert_same_marts, mart_snapshot, published, run
from tests.test_higher_sources import STATE_CONTRACT
from tests.test_incremental import run_forced_full
from transforms.contest_status import newly_decided
from transforms.feed import OTHER_ID
from transforms.synthetic.general import generate_general
from warehouse.configs import shipped_elections
from warehouse.db import connect
from warehouse.withdrawals import withdraw

pytestmark = pytest.mark.e2e  # every test here runs the job

LEVELS = ["state", "municipality", "parish", "centre", "table"]
TALLY = ["source_id", "table_code", "office", "district"]
SPECIAL = {"OVER VOTES": None, "UNDER VOTES": None, "WRITE-IN": OTHER_ID}
CONTEST_IDS = {"PRESIDENT": "president", "SENATOR (VOTE FOR 2)": "senator-vote-for-2"}
CONTEST_IDS["GOVERNOR"] = "governor"
CORRECTING = {"correct", "withdraw", "bad"}  # steps that may change counted tallies


@dataclass
class Night:
    """What has been landed, in delivery order, and what this test broke on purpose."""

    settings: Settings
    rng: random.Random
    incoming: list[Path]
    delivered: list[tuple[str, str, pl.DataFrame]] = field(default_factory=list)
    withdrawn: set[str] = field(default_factory=set)
    broken: set[tuple[str, tuple]] = field(default_factory=set)  # (file, tally key)
    corrections: list[str] = field(default_factory=list)  # files a withdrawal may take back
    count: int = 0

    def land(self, frame: pl.DataFrame, prefix: str, source: str = "general") -> str:
        self.count += 1
        name = f"{prefix}_{900 + self.count:03d}.csv"
        frame.write_csv(self.settings.landing / name)
        self.delivered.append((name, source, _read(self.settings.landing / name, source)))
        return name


def _read(path: Path, source: str) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False).with_columns(pl.col("votes").cast(pl.Int64))
    return frame.with_columns(pl.lit(source).alias("source_id"), pl.lit(path.name).alias("file"))


def _elections(root: Path) -> Path:
    """The general election's configuration plus a second source at the polling units and a
    state-level canvass, both reading the feed's contest rules."""
    elections = root / "elections"
    shutil.copytree(shipped_elections() / "general", elections / "general")
    contracts = elections / "general" / "contracts"
    general = (contracts / "general.toml").read_text(encoding="utf-8")
    second = general.replace('id = "general"', 'id = "second"', 1).replace(
        'source = { id = "general", kind = "synthetic"',
        'source = { id = "second", kind = "observer"',
    )
    (contracts / "second.toml").write_text(second.replace("general_*.csv", "second_*.csv"))
    rules = general.split("[[contests.rule]]")
    (contracts / "state.toml").write_text("[[contests.rule]]".join([STATE_CONTRACT, *rules[1:]]))
    return elections


def _current(night: Night) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The latest non-withdrawn delivery of each source × table × contest (all of them, and the
    accepted ones: those this test did not break)."""
    rows = pl.concat(
        [
            frame.with_columns(pl.lit(seq).alias("seq"))
            for seq, (name, _, frame) in enumerate(night.delivered)
            if name not in night.withdrawn
        ],
        how="diagonal_relaxed",
    ).with_columns(pl.col("district").fill_null(""))
    latest = rows.group_by(TALLY).agg(pl.col("seq").max(), pl.col("file").last())
    current = rows.join(latest.drop("file"), on=[*TALLY, "seq"])
    broken = pl.DataFrame(
        [(f, *key) for f, key in night.broken],
        schema={c: pl.String for c in ["file", *TALLY]},
        orient="row",
    ).with_columns(pl.col("district").fill_null(""))
    accepted = current.join(broken, on=["file", *TALLY], how="anti")
    return current, accepted


def _expected_results(accepted: pl.DataFrame) -> pl.DataFrame:
    lines = accepted.with_columns(
        pl.col("office").replace_strict(CONTEST_IDS).alias("contest_id"),
        pl.col("candidate").replace(SPECIAL).alias("candidate_id"),
        pl.lit("national").alias("national_code"),
    ).filter(~pl.col("candidate").is_in(["OVER VOTES", "UNDER VOTES"]))
    frames = []
    for level in ["national", *LEVELS]:
        frames.append(
            lines.group_by("source_id", "contest_id", f"{level}_code", "candidate_id")
            .agg(pl.col("votes").sum())
            .select(
                "source_id",
                "contest_id",
                pl.lit(level).alias("level"),
                pl.col(f"{level}_code").alias("unit_code"),
                "candidate_id",
                "votes",
            )
        )
    frame = pl.concat(frames)
    return frame.sort(frame.columns)


def _expected_counts(current: pl.DataFrame, accepted: pl.DataFrame) -> pl.DataFrame:
    def count(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        tallies = frame.unique([*TALLY]).with_columns(
            pl.col("office").replace_strict(CONTEST_IDS).alias("contest_id"),
            pl.lit("national").alias("national_code"),
        )
        return pl.concat(
            tallies.group_by("source_id", "contest_id", f"{level}_code")
            .agg(pl.len().cast(pl.Int64).alias(name))
            .select(
                "source_id",
                "contest_id",
                pl.lit(level).alias("level"),
                pl.col(f"{level}_code").alias("unit_code"),
                name,
            )
            for level in ["national", *LEVELS]
        )

    keys = ["source_id", "contest_id", "level", "unit_code"]
    frame = count(current, "received").join(count(accepted, "counted"), on=keys, how="left")
    frame = frame.with_columns(pl.col("counted").fill_null(0))
    return frame.sort(frame.columns)


def _tables(night: Night, count: int) -> pl.DataFrame:
    """The rows of `count` random tables landed by the first source, in their current version,
    of one random contest."""
    current, _ = _current(night)
    first = current.filter(pl.col("source_id") == "general")
    office = night.rng.choice(sorted(first["office"].unique()))
    tables = sorted(first.filter(pl.col("office") == office)["table_code"].unique())
    chosen = night.rng.sample(tables, min(count, len(tables)))
    rows = first.filter(pl.col("office") == office, pl.col("table_code").is_in(chosen))
    return rows.sort("table_code", "candidate").drop("source_id", "file", "seq")


def _correct(night: Night) -> str:
    """Move votes between two lines of each of some tables: every rule still holds."""
    rows = _tables(night, 3)
    moved = []
    for (_,), table in rows.group_by("table_code", maintain_order=True):
        votes = table["votes"].to_list()
        giver = max(range(len(votes)), key=lambda i: votes[i])
        taker = night.rng.choice([i for i in range(len(votes)) if i != giver])
        amount = night.rng.randint(1, max(1, votes[giver] // 2))
        votes[giver] -= amount
        votes[taker] += amount
        moved.append(table.with_columns(pl.Series("votes", votes)))
    name = night.land(pl.concat(moved), "general")
    night.corrections.append(name)
    return name


def _bad(night: Night) -> str:
    """Some tables of one contest again, each lacking a declared candidate's line (E8):
    quarantined. (A tally lacking its write-in line is not: that line is optional.)"""
    rows = _tables(night, 2)
    declared = ~pl.col("candidate").is_in(list(SPECIAL))
    first = declared & (pl.int_range(pl.len()).over("table_code", declared) == 0)
    name = night.land(rows.filter(~first), "general")
    for key in rows.select(TALLY[1:]).unique().iter_rows():
        night.broken.add((name, ("general", *key)))
    night.corrections.append(name)
    return name


def _duplicate(night: Night) -> str:
    """An earlier file's bytes under another name: not a new delivery."""
    name = night.rng.choice([n for n, s, _ in night.delivered if s == "general"])
    night.count += 1
    copy = f"general_{900 + night.count:03d}.csv"
    shutil.copy(night.settings.landing / name, night.settings.landing / copy)
    return copy


def _withdraw(night: Night) -> str:
    name = night.corrections.pop()
    with connect(night.settings.warehouse) as con:
        withdraw(con, name, "typo", "test")
    night.withdrawn.add(name)
    return name


def _second(night: Night) -> str:
    """A second source at the polling units: some of the first's current tables, one of them a
    vote off (it reconciles as a difference)."""
    _, accepted = _current(night)
    first = accepted.filter(pl.col("source_id") == "general")
    tables = sorted(first["table_code"].unique())
    chosen = night.rng.sample(tables, min(5, len(tables)))
    rows = first.filter(pl.col("table_code").is_in(chosen)).sort(
        "table_code", "office", "candidate"
    )
    rows = rows.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("votes") + 1)
        .otherwise(pl.col("votes"))
        .alias("votes")
    )
    columns = [c for c in rows.columns if c not in {"source_id", "file", "seq"}]
    return night.land(rows.select(columns), "second", source="second")


def _canvass(night: Night) -> str:
    """A state canvass of the first source's accepted tables (never counted)."""
    _, accepted = _current(night)
    canvass = (
        accepted.filter(pl.col("source_id") == "general")
        .group_by("state_code", "office", "district", "candidate")
        .agg(pl.col("votes").sum())
        .sort("state_code", "office", "district", "candidate")
    )
    night.count += 1
    name = f"state_{night.count:03d}.csv"
    canvass.write_csv(night.settings.landing / name)
    return name


def _drop(night: Night) -> str:
    path = night.incoming.pop(0)
    shutil.copy(path, night.settings.landing / path.name)
    night.delivered.append((path.name, "general", _read(path, "general")))
    return path.name


STEPS = {
    "correct": _correct,
    "bad": _bad,
    "duplicate": _duplicate,
    "withdraw": _withdraw,
    "second": _second,
    "canvass": _canvass,
}


def _sequence(rng: random.Random, drops: int, extras: int) -> list[str]:
    """The first drop, then the other drops and `extras` other steps in a random order (a
    withdrawal only after a correction)."""
    kinds = rng.sample(sorted(STEPS), extras)
    if "withdraw" in kinds and "correct" not in kinds and "bad" not in kinds:
        kinds[kinds.index("withdraw")] = "correct"
    rest = ["drop"] * (drops - 1) + kinds
    while True:
        rng.shuffle(rest)
        taken = [rest.index(k) for k in ("correct", "bad") if k in rest]
        if "withdraw" not in rest or min(taken) < rest.index("withdraw"):
            return ["drop", *rest]


def _published_results(settings) -> pl.DataFrame:
    frame = published(
        settings,
        "select source_id, contest_id, level, unit_code, candidate_id, votes from results",
    )
    return frame.sort(frame.columns)


def _published_counts(settings) -> pl.DataFrame:
    frame = published(
        settings,
        "select source_id, contest_id, level, unit_code, received, counted from coverage "
        "where received > 0",
    )
    return frame.sort(frame.columns)


def _full_rebuild_of_a_copy(settings, root: Path, step: int) -> dict[str, pl.DataFrame]:
    copied = replace(settings, data_dir=root / f"full_{step}")
    shutil.copytree(settings.data_dir, copied.data_dir)
    run_forced_full(copied)
    marts = mart_snapshot(copied)
    shutil.rmtree(copied.data_dir)
    return marts


def _check_decisions(kind: str, before: pl.DataFrame, after: pl.DataFrame) -> None:
    keys = ["source_id", "contest_id", "level", "unit_code"]
    decided = before.filter(pl.col("decided")).select(*keys, pl.col("leaders").alias("was"))
    now = after.select(*keys, "leaders", "decided")
    changed = decided.join(now, on=keys, how="left").filter(
        pl.col("leaders").is_null() | (pl.col("leaders").list.sort() != pl.col("was").list.sort())
    )
    if kind not in CORRECTING:
        assert changed.is_empty(), f"{kind} changed a decided district's leaders:\n{changed}"
        return
    listed = newly_decided(before, after).select(keys)
    still = changed.filter(pl.col("decided").fill_null(False)).select(keys)
    assert still.join(listed, on=keys, how="anti").is_empty(), "a reversal is never silent"


@pytest.mark.parametrize(("seed", "ballots"), [(25, True), (42, False)])
def test_a_random_sequence_of_drops_publishes_the_truth_after_every_run(tmp_path, seed, ballots):
    rng = random.Random(seed)
    settings = replace(
        Settings(tmp_path / "data"),
        election="general",
        elections_dir=_elections(tmp_path),
        quarantine_threshold=1.0,
    )
    prepare_data_dir(settings)
    general = generate_general(80, contests=3, seed=seed, drops=2, list_ballots=ballots)
    incoming = tmp_path / "incoming"
    write_synthetic_general(general, incoming)
    shutil.copy(incoming / "registry.csv", settings.landing)
    night = Night(settings, rng, sorted(incoming.glob("general_*.csv")))
    previous = None
    kinds = _sequence(rng, drops=2, extras=4)
    for step, kind in enumerate(kinds):
        name = (_drop if kind == "drop" else STEPS[kind])(night)
        assert run(settings).success, (step, kind, name)
        current, accepted = _current(night)
        where = f"step {step}: {kind} {name}"
        expected = _expected_results(accepted)
        got = _published_results(settings)
        assert got.equals(expected), (where, _difference(got, expected))
        counts = _expected_counts(current, accepted)
        got_counts = _published_counts(settings)
        assert got_counts.equals(counts), (where, _difference(got_counts, counts))
        marts = mart_snapshot(settings)
        assert_same_marts(marts, _full_rebuild_of_a_copy(settings, tmp_path, step))
        status = marts["contest_status"]
        if previous is not None:
            _check_decisions(kind, previous, status)
        previous = status
        if not night.incoming and not CORRECTING & set(kinds[: step + 1]):
            _assert_the_generators_truth(general.truth, expected)
    assert not night.incoming, "every generated drop landed"


def _assert_the_generators_truth(truth: dict, expected: pl.DataFrame) -> None:
    """Every drop landed, nothing corrected: the first source's national and state figures
    are the generator's own."""
    lines = []
    for contest_id, contest in truth["contests"].items():
        units = [("national", "national", contest["national"])]
        units += [("state", code, state) for code, state in contest["states"].items()]
        for level, code, unit in units:
            for label, votes in unit["candidates"].items():
                if label not in ("OVER VOTES", "UNDER VOTES"):
                    candidate = SPECIAL.get(label, label)
                    lines.append(("general", contest_id, level, code, candidate, votes))
    generated = pl.DataFrame(lines, schema=expected.columns, orient="row", infer_schema_length=None)
    ours = expected.filter(
        pl.col("source_id") == "general", pl.col("level").is_in(["national", "state"])
    )
    assert ours.sort(ours.columns).equals(generated.sort(generated.columns))


def _difference(got: pl.DataFrame, expected: pl.DataFrame) -> str:
    return f"published only:\n{got.join(expected, on=got.columns, how='anti')}\n" + (
        f"expected only:\n{expected.join(got, on=got.columns, how='anti')}"
    )
