"""A Great Expectations worker: a process of its own that imports GX while the run loads and
stages, then validates what the gate sends it.

Importing GX takes seconds of pure Python (pydantic models, altair, scipy.stats); in a process
of its own it overlaps the run's first steps on another core, and it shares no module with the
run (a thread importing it raced Dagster's own SQLAlchemy import). `tallyhouse run` starts one
when the gate will judge every tally (a first or --full run with landing files), with
`running()`; the gate asks `validate_here_or_in_worker`, which validates in the worker with the
very function it would run here (expectations.suites.validate) and returns the same
RuleFailures. An engine error in the worker is an engine error here; a worker that failed (GX
did not import, the process died) makes the gate validate in its own process instead. The
worker keeps the last validation result for `keep_result` (its GX object never crosses over),
and never outlives the block: it is killed on the way out, and on Linux when its parent dies.

Requests and answers are pickled over the worker's stdin and a private copy of its stdout (the
real stdout goes to stderr, so nothing GX prints can break a message). Nothing here imports GX,
and loading this module imports only the standard library: the run starts the worker before it
imports polars (about 0.3 s sooner), and what validating needs is imported where it is used.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `tallyhouse run` starts the worker before polars loads
    import polars as pl

    from expectations.results_store import GateRun
    from expectations.rules import Rule
    from expectations.suites import RuleFailures

READY, FAILED, OK, ENGINE_ERROR = "ready", "failed", "ok", "engine_error"
_current: GxWorker | None = None  # the worker of the run in this process, set by running()


class WorkerLost(RuntimeError):
    """The worker could not answer (GX did not import, the process died): validate here."""


@dataclass(frozen=True)
class HeldByWorker:
    """RuleFailures.validation of a validation the worker ran: GX's result stays there."""

    worker: GxWorker


class GxWorker:
    """The parent's end: a worker process and its two pipes."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.ready: bool | None = None  # unknown until the first answer is read

    @classmethod
    def start(cls, label: str = "") -> GxWorker:
        """Start one; `label` (e.g. the data directory) only names it in its command line."""
        command = [sys.executable, "-m", "expectations.gx_worker", *([label] if label else [])]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return cls(process)

    def ask(self, request: tuple) -> Any:
        """Send one request and return the answer; WorkerLost if the worker cannot answer."""
        if self.ready is None:
            self.ready = self._answer()[0] == READY
        if not self.ready:
            raise WorkerLost("Great Expectations did not import in the worker")
        try:
            pickle.dump(request, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except OSError as error:  # a broken pipe: the worker is gone
            self.ready = False
            raise WorkerLost(f"the worker is gone: {error}") from None
        return self._answer()

    def _answer(self) -> tuple:
        try:
            return pickle.load(self.process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            self.ready = False
            raise WorkerLost(f"the worker is gone: {error!r}") from None

    def stop(self) -> None:
        """Kill it and reap it: every answer the run needed has been read by then."""
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:  # a pipe broken by a dead worker
                pass
        self.process.kill()
        self.process.wait()


@contextmanager
def running(start: bool = True, label: str = "") -> Iterator[GxWorker | None]:
    """For the block, a worker the gate validates in (none when `start` is false); it is
    killed when the block ends, however it ends."""
    global _current
    worker = GxWorker.start(label) if start else None
    outer, _current = _current, worker
    try:
        yield worker
    finally:
        _current = outer
        if worker is not None:
            worker.stop()


def saves_an_import() -> bool:
    """Whether a worker would save this process anything: not once it has imported GX (a test
    session, a long-lived caller), where validating here costs no import and a worker would
    import GX again on the other core for nothing."""
    return "great_expectations" not in sys.modules


def validate_here_or_in_worker(
    evidence: pl.DataFrame, rules: tuple[Rule, ...], name: str
) -> RuleFailures:
    """expectations.suites.validate, run in the worker when there is one and it has something
    to judge (nothing to judge never needs GX); here if the worker failed."""
    from expectations.suites import EngineError, RuleFailures, columns_needed, validate

    worker = _current
    if worker is None or not rules or evidence.is_empty():
        return validate(evidence, rules, name)
    # only the columns the rules read cross over (a missing one is the worker's EngineError):
    # the evidence whole, pickled, was a second copy of it in this process (0.65 GB at 1M)
    sent = evidence.select([c for c in columns_needed(rules) if c in evidence.columns])
    try:
        kind, answer = worker.ask(("validate", sent, rules, name))
    except WorkerLost:
        return validate(evidence, rules, name)
    if kind == ENGINE_ERROR:
        raise EngineError(answer)
    if kind != OK:
        return validate(evidence, rules, name)
    checked, failing = answer
    return RuleFailures(checked, failing, HeldByWorker(worker))


def keep_result(data_dir: Path, validation: object, run: GateRun, at: datetime) -> None:
    """Keep a gate's validation result (expectations.results_store.keep), where it is: here,
    or in the worker that ran it. Raises if it could not be kept."""
    from expectations import results_store

    if not isinstance(validation, HeldByWorker):
        results_store.keep(data_dir, validation, run, at)
        return
    kind, answer = validation.worker.ask(("keep", data_dir, run, at))
    if kind != OK:
        raise RuntimeError(answer)


# The worker's side ----------------------------------------------------------------------


def _die_with_parent() -> None:
    """On Linux, the kernel kills this process when its parent dies (e.g. a killed run)."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the call above
        sys.exit(0)


def _answer_channel() -> IO[bytes]:
    """A private copy of stdout for the answers; stdout itself then writes to stderr."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return channel


def _import_gx() -> tuple:
    """Import GX and make one in-memory context, as the gate's validation will."""
    from expectations.suites import quiet_context

    try:
        quiet_context()
        import great_expectations.data_context.store  # noqa: F401  (what keep needs)
    except Exception as error:  # noqa: BLE001  (any failure: the gate validates itself)
        return FAILED, f"{type(error).__name__}: {error}"
    return READY, None


def _handle(request: tuple, held: dict) -> tuple:
    """One request: validate (keeping GX's result) or keep the last result."""
    from expectations import results_store
    from expectations.suites import EngineError, validate

    kind, *args = request
    try:
        if kind == "validate":
            failures = validate(*args)
            held["validation"] = failures.validation
            return OK, (failures.checked, failures.failing)
        if kind == "keep":
            data_dir, run, at = args
            results_store.keep(data_dir, held["validation"], run, at)
            return OK, None
        return FAILED, f"unknown request {kind!r}"
    except EngineError as error:
        return ENGINE_ERROR, str(error)
    except Exception as error:  # noqa: BLE001  (not a verdict: the gate validates itself)
        return FAILED, f"{type(error).__name__}: {error}"


def _send(channel: IO[bytes], answer: tuple) -> None:
    pickle.dump(answer, channel, protocol=pickle.HIGHEST_PROTOCOL)
    channel.flush()


def serve() -> None:
    """The worker: import GX, say whether it could, then answer requests until stdin ends.

    The collector is off while GX imports: the import makes some 470,000 objects that ~700
    collections walked again and again (0.5 s of the worker's 2.8 s of CPU, on the run's critical
    path when the gate waits for the worker). They are frozen afterwards (gc.freeze: left out of
    later collections; the cycles the import left, about 2 MB, stay with the process), and
    validating runs with the collector on."""
    gc.disable()
    _die_with_parent()
    channel = _answer_channel()
    requests = sys.stdin.buffer
    imported = _import_gx()
    gc.freeze()
    gc.enable()
    _send(channel, imported)
    held: dict = {}
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        _send(channel, _handle(request, held))


if __name__ == "__main__":
    serve()
