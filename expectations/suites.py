"""Great Expectations suites built in code from the rule catalogue, and running them.

GX validates a pandas frame made from the polars evidence frame, once per gate: every rule is a
row-by-row expectation, so what a subset of the tallies breaks is read off that one pass
(RuleFailures.among). An expectation whose result carries a raised exception is an engine error:
it is raised as EngineError, never counted as bad data and never lets data through. Nothing here
imports GX until there is a tally to judge.
"""

import logging
from dataclasses import dataclass, field

import polars as pl

from expectations.rules import Rule

KEY = "tally_id"
SUITE_PREFIX = "tallyhouse"


class EngineError(RuntimeError):
    """Validation itself failed (a GX exception, a missing column): not a verdict on the data."""


@dataclass(frozen=True)
class RuleFailures:
    """For each rule checked: the tally_ids that break it."""

    checked: tuple[str, ...]
    failing: dict[str, pl.Series]
    # GX's ExpectationSuiteValidationResult, to keep (expectations/results_store.py); None when
    # nothing was validated
    validation: object | None = field(default=None, compare=False, repr=False)

    def ids(self, rule_id: str) -> pl.Series:
        return self.failing.get(rule_id, pl.Series(KEY, [], pl.Int64))

    def count(self, rule_id: str) -> int:
        return self.ids(rule_id).len()

    def among(self, tally_ids: pl.Series, rule_ids: tuple[str, ...]) -> "RuleFailures":
        """What the tallies `tally_ids` break of the rules `rule_ids`, read off this pass: the
        rules are row-by-row (each tally's verdict depends on its own evidence row only), so
        validating the subset again would find exactly these."""
        ids = tally_ids.implode()
        failing = {}
        for rule_id in rule_ids:
            if rule_id not in self.checked:
                raise EngineError(f"rule {rule_id} was not validated")
            broken = self.ids(rule_id)
            if broken.is_empty():  # nothing to look up among every tally
                continue
            kept = broken.filter(broken.is_in(ids))
            if not kept.is_empty():
                failing[rule_id] = kept
        return RuleFailures(tuple(rule_ids), failing)


def quiet_gx():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import great_expectations as gx
        import great_expectations.expectations as gxe
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return gx, gxe


def build_suite(context, name: str, rules: tuple[Rule, ...]):
    """One GX suite, added to `context`; each expectation's meta names the rule it tests, and
    its notes (shown in Data Docs) say the rule in words."""
    gx, gxe = quiet_gx()
    suite = context.suites.add(gx.ExpectationSuite(name=f"{SUITE_PREFIX}_{name}"))
    for rule in rules:
        for class_name, kwargs in rule.expectations:
            suite.add_expectation(
                getattr(gxe, class_name)(
                    **kwargs,
                    meta={"rule_id": rule.id},
                    notes=f"Rule {rule.id} ({rule.severity}): {rule.description}",
                )
            )
    return suite


def quiet_context():
    """An in-memory GX context: no temporary docs site, no progress bars, no analytics."""
    gx, _ = quiet_gx()
    return gx.get_context(mode="ephemeral", project_config=_quiet_config())


def _quiet_config():
    """An in-memory GX context: no temporary docs site, no progress bars, no analytics."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )


def _raised(exception_info) -> str | None:
    """The exception message if GX raised while evaluating, else None."""
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        return (
            exception_info.get("exception_message") if exception_info["raised_exception"] else None
        )
    for info in exception_info.values():
        if isinstance(info, dict) and info.get("raised_exception"):
            return info.get("exception_message") or "unknown exception"
    return None


def columns_needed(rules: tuple[Rule, ...]) -> list[str]:
    """The evidence columns the rules' expectations read, and the key."""
    needed = {KEY}
    for rule in rules:
        for _name, kwargs in rule.expectations:
            for key in ("column", "column_A", "column_B"):
                if key in kwargs:
                    needed.add(kwargs[key])
            needed.update(kwargs.get("column_list", []))
    return sorted(needed)


def _bounded_columns(rules: tuple[Rule, ...]) -> set[str]:
    """The columns an ExpectColumnValuesToBeBetween bounds."""
    return {
        kwargs["column"]
        for rule in rules
        for name, kwargs in rule.expectations
        if name == "ExpectColumnValuesToBeBetween"
    }


def _pandas_indexed_by_tally(evidence: pl.DataFrame, numpy_columns: set[str] = frozenset()):
    """A pandas frame whose (unnamed) index is the tally_id.

    GX then reports the failing rows' index values, i.e. tally_ids, in `unexpected_index_list`.
    Asking for `unexpected_index_column_names` instead makes GX look each failing row up one
    cell at a time (about 1 s per 10,000 failures); the index gives the same keys at once.

    Columns are Arrow-backed, except `numpy_columns` (as float64, nulls as NaN): GX compares a
    bounded column with one vectorised expression only when its dtype is numpy's int or float,
    and calls a Python function per value otherwise (half the validation's time). GX leaves
    nulls out of the comparison either way, and the counts bounded here (whole numbers below
    2**53, shares) are exact in float64: the verdicts are the same. A column holding a NaN
    (which GX would then take for a null) stays Arrow-backed.
    """
    import pandas as pd

    frame = evidence.to_pandas(use_pyarrow_extension_array=True)
    for column in sorted(numpy_columns):
        values = evidence[column]
        if values.dtype.is_integer() or (values.dtype.is_float() and not values.is_nan().any()):
            frame[column] = evidence[column].cast(pl.Float64).to_numpy()
    frame.index = pd.Index(evidence[KEY].to_numpy(), name=None)
    return frame


def validate(evidence: pl.DataFrame, rules: tuple[Rule, ...], name: str) -> RuleFailures:
    """Run the rules' suite over the evidence frame; return the failing tally_ids per rule."""
    if not rules:
        return RuleFailures((), {})
    missing = [c for c in columns_needed(rules) if c not in evidence.columns]
    if missing:
        raise EngineError(f"evidence frame lacks column(s) {', '.join(missing)}")
    if evidence.is_empty():  # nothing to judge: no verdicts, and no GX import
        return RuleFailures(tuple(r.id for r in rules), {})
    frame = _pandas_indexed_by_tally(
        evidence.select(columns_needed(rules)), _bounded_columns(rules)
    )
    try:
        context = quiet_context()
        batch_definition = (
            context.data_sources.add_pandas("tallies")
            .add_dataframe_asset("evidence")
            .add_batch_definition_whole_dataframe("all")
        )
        suite = build_suite(context, name, rules)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "partial_unexpected_count": 0,
                "exclude_unexpected_values": True,
            },
        )
    except Exception as error:  # GX itself crashed: an engine error, whatever the data
        raise EngineError(f"Great Expectations failed while validating: {error}") from error
    failing: dict[str, list[int]] = {}
    for item in result.results:
        rule_id = item.expectation_config.meta["rule_id"]
        raised = _raised(item.exception_info)
        if raised:
            kind = item.expectation_config.type
            raise EngineError(f"rule {rule_id} ({kind}) raised inside Great Expectations: {raised}")
        rows = (item.result or {}).get("unexpected_index_list") or []
        if not item.success and not rows:
            raise EngineError(f"rule {rule_id} failed without naming any tally: {item.result}")
        failing.setdefault(rule_id, []).extend(int(tally_id) for tally_id in rows)
    return RuleFailures(
        tuple(r.id for r in rules),
        {rid: pl.Series(KEY, ids, pl.Int64).unique().sort() for rid, ids in failing.items()},
        result,
    )
