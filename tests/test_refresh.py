"""The refresh protocol's decision table (transforms.refresh.plan), without a warehouse."""

import polars as pl
import pytest

from transforms.refresh import FULL, INCREMENTAL, Plan, Stamp, plan

STAGED = Stamp("L", 5, INCREMENTAL, "1 new deliveries")
GATE = Stamp("L", 5, INCREMENTAL, "staging was incremental")
OWN = Stamp("L", 4, INCREMENTAL, "applying the last change")


def test_a_stamp_is_compared_by_lineage_and_generation():
    assert STAGED.stamp == "L:5"
    assert STAGED.previous == "L:4"
    assert Stamp.parse("abc:12") == Stamp("abc", 12)
    assert Stamp.parse(None) is None
    assert Stamp.parse("") is None
    assert Stamp.parse("no-generation") is None


def test_incremental_when_below_changed_incrementally_and_own_is_the_previous_generation():
    decided = plan("quality", OWN, STAGED, incremental_because="staging was incremental")
    assert decided.incremental
    assert decided.stamp == Stamp("L", 5, INCREMENTAL, "staging was incremental")
    assert decided.new_deliveries is None


@pytest.mark.parametrize(
    ("own", "below", "current", "why"),
    [
        (OWN, None, None, "nothing below quality yet"),
        (None, None, None, "nothing quality yet"),
        (OWN, Stamp("L", 5, FULL, "a new registry"), None, "was full (a new registry)"),
        (None, STAGED, None, "quality missed a generation"),
        (Stamp("L", 3), STAGED, None, "quality missed a generation"),  # a failed run between
        (Stamp("L", 5), STAGED, None, "quality missed a generation"),  # already has it
        (Stamp("other", 4), STAGED, None, "quality missed a generation"),  # another lineage
        (OWN, Stamp("L", 4, INCREMENTAL), STAGED, "has not taken in generation 5"),
    ],
)
def test_full_otherwise_with_the_first_reason(own, below, current, why):
    decided = plan("quality", own, below, current=current)
    assert decided.mode == FULL
    assert why in decided.reason
    # a full step still records the generation of this run's staging
    assert decided.stamp.generation == (current or below or Stamp("", 0)).generation


def test_layering_reasons_come_before_the_steps_own():
    stale = plan("marts", Stamp("L", 2), GATE, current=STAGED, full_because=["several sources"])
    assert stale.reason == "marts missed a generation"
    own_reason = plan("marts", OWN, GATE, current=STAGED, full_because=[None, "several sources"])
    assert (own_reason.mode, own_reason.reason) == (FULL, "several sources")


def test_a_follower_takes_the_generation_of_this_runs_staging():
    decided = plan("projection_stats", OWN, GATE, current=STAGED)
    assert decided.incremental
    assert decided.stamp.stamp == STAGED.stamp


def test_a_follower_without_a_gate_stamp_is_full_at_this_generation():
    decided = plan("projection_stats", OWN, None, current=STAGED)
    assert decided.mode == FULL
    assert decided.stamp.stamp == "L:5"


def test_staging_moves_to_the_next_generation_of_its_lineage():
    new = pl.DataFrame({"delivery_seq": [7]})
    decided = plan(
        "staged",
        Stamp("L", 5, FULL, "x"),
        None,
        incremental_because="1 new deliveries",
        new_lineage="M",
        new_deliveries=new,
    )
    assert decided.stamp == Stamp("L", 6, INCREMENTAL, "1 new deliveries")
    assert decided.new_deliveries is new


def test_a_full_staging_starts_a_new_lineage():
    first = plan("staged", None, None, new_lineage="M")
    assert first.stamp == Stamp("M", 1, FULL, "nothing staged yet")
    forced = plan("staged", STAGED, None, new_lineage="M", full_because=["asked for"])
    assert forced.stamp == Stamp("M", 6, FULL, "asked for")


def test_full_instead_keeps_the_generation():
    decided = plan("forensic_units", OWN, GATE, current=STAGED)
    instead = decided.full_instead("a main candidate changed")
    assert isinstance(instead, Plan)
    assert instead.stamp == Stamp("L", 5, FULL, "a main candidate changed")
    assert decided.incremental  # unchanged


def test_a_cascade_of_full_rebuilds_names_its_first_cause_once():
    gate = plan("quality", OWN, Stamp("L", 5, FULL, "nothing staged yet"))
    marts = plan("the published marts", OWN, gate.stamp)
    assert gate.reason == "the layer below was full (nothing staged yet)"
    assert marts.reason == "the layer below was full (nothing staged yet)"


def test_also_adds_to_the_reason_and_keeps_the_rest():
    decided = plan("forensic_units", OWN, GATE, current=STAGED)
    told = decided.also("contest c1 examined again")
    assert told.reason == f"{decided.reason}; contest c1 examined again"
    assert (told.mode, told.generation) == (decided.mode, decided.generation)
