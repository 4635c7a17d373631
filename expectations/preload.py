"""Great Expectations imported ahead of the gate, in a background thread.

Importing GX costs about 4 s of pure import work, which the gate would otherwise spend before
judging a single tally. A run that loads new deliveries will judge them, so it starts the
import as soon as it knows (`start`, from the ingest step) and the import overlaps the raw load
and staging, whose DuckDB and polars work releases the GIL. The gate then only waits for it
(`wait`). Nothing starts at import of this module; a process that never calls `start` (every
command but `run`, a run with nothing new) never imports GX here.

An import that failed in the thread is raised by `wait` (expectations.suites.quiet_gx waits
before using GX) as a PreloadError naming it: the gate reports it as an engine error, never as a
verdict on the data.
"""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None
_failure: BaseException | None = None


class PreloadError(RuntimeError):
    """The import begun ahead of the gate failed."""


# While the import runs, the interpreter switches threads every half millisecond instead of
# every 5 ms: each time the run's thread gives up the GIL for a moment (a SQLite commit, a short
# DuckDB query, reading a file) it would otherwise wait up to 5 ms to get it back from the
# importing thread, which turns the overlap into a queue.
SWITCH_INTERVAL = 0.0005


def _import() -> None:
    global _failure
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL))
    try:
        from expectations.suites import import_gx

        import_gx()
    except BaseException as error:  # noqa: BLE001  (kept for wait(), which raises it)
        _failure = error
    finally:
        sys.setswitchinterval(before)


def start() -> bool:
    """Start importing GX in a daemon thread, once per process; whether this call started it
    (not when GX is imported already or an import was started before)."""
    global _thread
    with _lock:
        if _thread is not None or "great_expectations.expectations" in sys.modules:
            return False
        _thread = threading.Thread(target=_import, name="gx-preload", daemon=True)
        _thread.start()
        return True


def wait() -> None:
    """Wait for an import `start` began (nothing to wait for when none was started); raise a
    PreloadError if it failed. Either way it is then forgotten: a later use of GX in this
    process imports it itself (and a later `start` may try again)."""
    global _thread, _failure
    with _lock:
        thread, _thread = _thread, None
    if thread is None:
        return
    thread.join()
    failure, _failure = _failure, None
    if failure is not None:
        kind = type(failure).__name__
        raise PreloadError(
            f"importing Great Expectations (started ahead of the gate) failed: {kind}: {failure}"
        ) from failure
