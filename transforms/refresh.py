"""The refresh protocol: when a step may work incrementally, decided once for every step.

Every staging run moves the warehouse to a new generation; a full staging also starts a new
lineage. Each layer records a `Stamp`: the lineage:generation its tables reflect, and how (mode)
and why (reason) it got there. A step works incrementally only when

- the layer below it changed incrementally in this run's generation, and
- its own stamp is the previous generation of the same lineage, and
- none of the step's own reasons to rebuild holds;

it rebuilds fully otherwise. `plan` is that rule, pure (no I/O): the warehouse reads the stamps
(warehouse/refresh_state.py), each step hands them in with its own reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import polars as pl

FULL, INCREMENTAL = "full", "incremental"


@dataclass(frozen=True)
class Stamp:
    """A layer's state: the lineage and generation its tables reflect, and how it got there.

    The lineage is new at every full staging: generations of another lineage never match."""

    lineage: str
    generation: int
    mode: str = FULL
    reason: str = ""

    @property
    def stamp(self) -> str:
        """`lineage:generation`: what layers are compared by, and what the published marts
        record (warehouse.mart_updates.published_stamp)."""
        return f"{self.lineage}:{self.generation}"

    @property
    def previous(self) -> str:
        """The `lineage:generation` a layer must reflect to take this one's change in."""
        return f"{self.lineage}:{self.generation - 1}"

    @classmethod
    def parse(cls, text: str | None) -> Stamp | None:
        """A recorded `lineage:generation` (mode and reason unknown); None stays None."""
        if not text:
            return None
        lineage, _, generation = text.rpartition(":")
        return cls(lineage, int(generation)) if generation.isdigit() else None


@dataclass(frozen=True)
class Plan:
    """How a step runs (`stamp.mode`, `stamp.reason`) and the stamp it records once its tables
    are written. Staging's plan also carries the deliveries it takes in."""

    layer: str
    stamp: Stamp
    new_deliveries: pl.DataFrame | None = None  # staging only: raw.deliveries rows not staged yet

    @property
    def mode(self) -> str:
        return self.stamp.mode

    @property
    def reason(self) -> str:
        return self.stamp.reason

    @property
    def generation(self) -> int:
        return self.stamp.generation

    @property
    def incremental(self) -> bool:
        return self.stamp.mode == INCREMENTAL

    def also(self, said: str) -> Plan:
        """The same plan, its reason followed by `said` (what the step found on its way)."""
        return replace(self, stamp=replace(self.stamp, reason=f"{self.reason}; {said}"))

    def full_instead(self, reason: str) -> Plan:
        """The same step rebuilt fully: it found, while working, that the change cannot be
        applied as a difference."""
        return replace(self, stamp=replace(self.stamp, mode=FULL, reason=reason))


def plan(
    layer: str,
    own: Stamp | None,
    below: Stamp | None,
    *,
    current: Stamp | None = None,
    full_because: Iterable[str | None] = (),
    incremental_because: str = "applying the last change",
    new_lineage: str | None = None,
    new_deliveries: pl.DataFrame | None = None,
) -> Plan:
    """Full or incremental for `layer`, and why (the first reason found, in this order):

    1. nothing below it yet (`below` is None)                           → full
    2. `below` does not reflect this run's staging (`current`)            → full
    3. `below` changed fully                                              → full
    4. `own` is not the previous generation of `below`'s lineage          → full
    5. one of the step's own reasons (`full_because`, falsy ones skipped) → full
    6. otherwise                                                          → incremental

    The plan's stamp is `current`'s (else `below`'s) lineage and generation.

    Staging is the root: it has no layer below. It passes `below=None` and `new_lineage`, the
    lineage a full staging starts; its generation is the one after `own`, and its layer below is
    the raw layer, which only ever grows (incremental) unless `full_because` says otherwise.
    """
    if new_lineage is not None:
        below = None if own is None else Stamp(own.lineage, own.generation + 1, INCREMENTAL)
        base = below or Stamp(new_lineage, 1)
    else:
        base = current or below or Stamp("", 0)
    why = _why_full(layer, own, below, current, full_because)
    if why is None:
        return Plan(
            layer, replace(base, mode=INCREMENTAL, reason=incremental_because), new_deliveries
        )
    lineage = new_lineage if new_lineage is not None else base.lineage
    return Plan(layer, Stamp(lineage, base.generation, FULL, why), new_deliveries)


_BELOW_FULL = "the layer below was full ("


def _root_cause(reason: str) -> str:
    """The first cause of a cascade of full rebuilds: each layer above a full one is full for
    the same reason, said once rather than nested once per layer."""
    while reason.startswith(_BELOW_FULL) and reason.endswith(")"):
        reason = reason[len(_BELOW_FULL) : -1]
    return reason


def _why_full(
    layer: str,
    own: Stamp | None,
    below: Stamp | None,
    current: Stamp | None,
    full_because: Iterable[str | None],
) -> str | None:
    if below is None:
        return f"nothing {layer} yet" if own is None else f"nothing below {layer} yet"
    if current is not None and below.stamp != current.stamp:
        return f"the layer below {layer} has not taken in generation {current.generation}"
    if below.mode != INCREMENTAL:
        return f"{_BELOW_FULL}{_root_cause(below.reason)})"
    if own is None or own.stamp != below.previous:
        return f"{layer} missed a generation"
    return next((reason for reason in full_because if reason), None)
