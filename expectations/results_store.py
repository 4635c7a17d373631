"""Great Expectations validation results kept in a file-backed GX context under the data
directory (`<data dir>/gx`, the project `gx.get_context(mode="file", project_root_dir=<data
dir>)` opens), and Data Docs rendered from them when asked.

Every gate run stores its one suite validation result cheaply: straight into the context's
validation results store (`uncommitted/validations/<suite>/<run>/<time>/<batch>.json`), without
opening the whole context, with each expectation's list of failing tally ids cut to KEEP_ROWS
(the counts stay whole; every failing tally is in quality.issues). Only the last KEEP_RUNS
results are kept. Data Docs are rendered from the kept results by `render_docs`
(`tallyhouse quality --docs`), never during a run: rendering costs seconds.
"""

import copy
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

GX_DIR = "gx"  # the folder a file-backed GX project keeps under its root
KEEP_RUNS = 20  # gate runs whose results are kept
KEEP_ROWS = 20  # failing tally ids kept per expectation and run
VALIDATIONS = "uncommitted/validations/"
SITE = "local_site"  # GX's default Data Docs site
DOCS_SITE = f"uncommitted/data_docs/{SITE}"
CAPPED_LISTS = ("unexpected_index_list", "partial_unexpected_index_list", "unexpected_list")
# GX's pandas query naming every failing row: whole, it is as long as the failures
DROPPED = ("unexpected_index_query",)


class NoResults(LookupError):
    """No gate has stored a validation result in this context yet."""


@dataclass(frozen=True)
class GateRun:
    """What a stored result says about the run that produced it (in the result's meta)."""

    run_id: str
    mode: str  # full or incremental
    tallies: int  # tallies judged


def gx_dir(data_dir: Path) -> Path:
    return data_dir / GX_DIR


def _results_store(data_dir: Path):
    """The file-backed context's validation results store, without opening the context."""
    from great_expectations.data_context.store import ValidationResultsStore

    return ValidationResultsStore(
        store_backend={"class_name": "TupleFilesystemStoreBackend", "base_directory": VALIDATIONS},
        runtime_environment={"root_directory": str(gx_dir(data_dir))},
    )


def capped(validation, keep_rows: int = KEEP_ROWS):
    """A copy of the suite validation result whose row lists hold at most `keep_rows` ids
    (counts, percentages and verdicts untouched). The original is not changed."""
    out = copy.copy(validation)
    out.results = []
    for item in validation.results:
        kept = copy.copy(item)
        if item.result:
            result = {k: v for k, v in item.result.items() if k not in DROPPED}
            for key in CAPPED_LISTS:
                if isinstance(result.get(key), list):
                    result[key] = result[key][:keep_rows]
            kept.result = result
        out.results.append(kept)
    return out


def keep(
    data_dir: Path,
    validation,
    run: GateRun,
    at: datetime,
    keep_runs: int | None = None,
    keep_rows: int | None = None,
) -> Path:
    """Store one gate run's validation result (capped), drop the oldest beyond `keep_runs`
    (default KEEP_RUNS), and return the stored file."""
    keep_runs = KEEP_RUNS if keep_runs is None else keep_runs
    keep_rows = KEEP_ROWS if keep_rows is None else keep_rows
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    run_id = RunIdentifier(run_name=run.run_id, run_time=at)
    stored = capped(validation, keep_rows)
    stored.meta = {
        **(validation.meta or {}),
        "run_id": run_id,
        "validation_time": at.isoformat(),
        "tallyhouse": {
            "run_id": run.run_id,
            "gate_mode": run.mode,
            "tallies_judged": run.tallies,
            "failing_ids_kept_per_expectation": keep_rows,
        },
    }
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=validation.suite_name),
        run_id=run_id,
        batch_identifier=run.mode,
    )
    store = _results_store(data_dir)
    store.set(key, stored)
    root = gx_dir(data_dir) / VALIDATIONS
    _prune(root, store, keep_runs)
    return root / Path(*key.to_tuple()).with_suffix(".json")


def _newest_first(store) -> list:
    return sorted(store.list_keys(), key=lambda k: k.run_id.run_time, reverse=True)


def _prune(root: Path, store, keep_runs: int) -> None:
    """Remove the results beyond the newest `keep_runs`, and the folders they leave empty."""
    for key in _newest_first(store)[keep_runs:]:
        store.remove_key(key)
        folder = (root / Path(*key.to_tuple())).parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def stored_runs(data_dir: Path) -> int:
    """How many gate runs' results are kept (0 when none: no GX import)."""
    root = gx_dir(data_dir) / VALIDATIONS
    return sum(1 for _ in root.rglob("*.json")) if root.is_dir() else 0


def render_docs(data_dir: Path) -> Path:
    """Render GX Data Docs from the kept results (the newest first in the index), and return
    the index.html. Raises NoResults when no gate has stored any."""
    if not stored_runs(data_dir):
        raise NoResults(f"no Great Expectations validation results under {gx_dir(data_dir)}")
    context = _file_context(data_dir)
    _save_suite(context, _newest_first(context.validation_results_store)[0])
    site = gx_dir(data_dir) / DOCS_SITE
    shutil.rmtree(site / "validations", ignore_errors=True)  # pages of pruned runs go too
    context.build_data_docs(site_names=[SITE])
    return site / "index.html"


def _save_suite(context, key) -> None:
    """The suite the newest result was validated with, saved in the context's expectations
    store (the suites are built in code at each run: the docs show the one in force)."""
    import great_expectations as gx

    latest = context.validation_results_store.get(key)
    expectations = [item.expectation_config.to_domain_obj() for item in latest.results]
    for expectation in expectations:
        expectation.id = None  # it belonged to the run's in-memory suite
    context.suites.add_or_update(gx.ExpectationSuite(latest.suite_name, expectations))


def _file_context(data_dir: Path):
    """The file-backed context at <data dir>/gx (made on first use, with GX's default layout),
    opened without analytics or progress bars."""
    from expectations.suites import quiet_gx

    gx, _ = quiet_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        FilesystemStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(gx_dir(data_dir))),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    config.data_docs_sites[SITE]["show_how_to_buttons"] = False
    return gx.get_context(mode="file", project_config=config, project_root_dir=str(data_dir))
